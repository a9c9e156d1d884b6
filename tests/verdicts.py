"""One way for tests to get a real verdict: `gatekeeper check --format json` on a bundled example's
reports, run as a CI job would run it, so what tests send and store is what users' CI makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
LEVEL_3 = REPO / "rules" / "caict-cd" / "level-3.yaml"
REPORTS = ("junit.xml", "coverage.xml", "bandit.json")
#: Variables that would make `check` read its context from the CI running the tests, or a store or
#: server of the user running them, rather than from what the test gives.
_OUTSIDE = ("GATEKEEPER_", "CI_", "GITLAB", "GITHUB_", "JENKINS")
_CLONING = threading.Lock()
#: The CI variables naming the job's commit: the clone a test runs `check` in holds it (`_check_out_as`).
_COMMIT_VARIABLES = ("CI_COMMIT_SHA", "GITHUB_SHA", "GIT_COMMIT")


def traced_clone(cwd: Path) -> None:
    """Make `cwd` a git clone whose HEAD names a requirement key, as a team's CI job runs in one: level 3's
    commits-traced (issue 19) then holds on a deploy branch, and the example is judged on its reports."""
    from tests.diff.repo import environment

    with _CLONING:
        if (cwd / ".git").exists() or cwd.resolve().is_relative_to(REPO):
            return
        for arguments in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "EXAMPLE-1: reports"]):
            subprocess.run(["git", *arguments], cwd=cwd, env=environment(), capture_output=True, check=True, timeout=60)


def _check_out_as(cwd: Path, commit: str) -> None:
    """Let the clone at `cwd` hold `commit` (a full id), as the job's checkout at that commit would: its HEAD
    stands in for it (a replace ref), so check traces it rather than leave the trace out."""
    from tests.diff.repo import environment

    if len(commit) != 40 or cwd.resolve().is_relative_to(REPO) or not (cwd / ".git").exists():
        return
    with _CLONING:
        subprocess.run(["git", "update-ref", f"refs/replace/{commit}", "HEAD"], cwd=cwd, env=environment(),
                       capture_output=True, check=False, timeout=60)  # fmt: skip


def check_example(
    cwd: Path,
    kind: str = "passing",
    *args: str,
    policy: str | Path = LEVEL_3,
    reports: Sequence[str] = REPORTS,
    store: Path | None = None,
    env: Mapping[str, str] | None = None,
    codes: Collection[int] = (0, 1),
) -> dict[str, Any]:
    """The verdict `check` decides under `policy` on `examples/<kind>/reports/<reports>`.

    `args`: more `check` options (`--project`, `--commit` …); `store`: record it there too (else
    `--no-store`); `env`: variables on top of a CI-free environment; `codes`: the exit codes expected."""
    directory = REPO / "examples" / kind / "reports"
    traced_clone(cwd)
    given = args[args.index("--commit") + 1] if "--commit" in args else None
    for commit in (given, *(value for name, value in (env or {}).items() if name in _COMMIT_VARIABLES)):
        if commit is not None:
            _check_out_as(cwd, commit)
    environment = {key: value for key, value in os.environ.items() if not key.startswith(_OUTSIDE)}
    result = subprocess.run(
        [
            GATEKEEPER,
            "check",
            *(("--store", str(store)) if store is not None else ("--no-store",)),
            "--format",
            "json",
            "-p",
            str(policy),
            *args,
            *(str(directory / name) for name in reports),
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**environment, **(env or {})},
        check=False,
        timeout=120,
    )
    assert result.returncode in codes, result.stderr
    return dict(json.loads(result.stdout))
