"""Records the v1 verdicts of tests/data/verdicts/v1 with the release that wrote gatekeeper.verdict/v1.

Run from a checkout of that release (commit 875015a), with its code first on the path:

    git worktree add /tmp/gk-v1 875015a
    cd /tmp/gk-v1 && PYTHONPATH=/tmp/gk-v1 /work/main/.venv/bin/python /work/main/tests/data/verdicts/make_v1.py

Each table case of tests/commands/test_explain.py (one gate of every kind) becomes `<case>/verdict.json`
beside the policy that decided it (`<case>/policy.yaml`); the bundled examples are checked with the
level-3 pack by the command line, as CI runs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.commands.test_explain import CASES, LEVEL_3, _verdict  # the old release's own table

TARGET = Path(__file__).resolve().parent / "v1"
HERE = Path("tests/data/verdicts/v1")  # relative: the path a verdict records for its policy


def main() -> None:
    for case in CASES:
        workspace = HERE / case.name
        workspace.mkdir(parents=True, exist_ok=True)
        verdict, _ = _verdict(case, workspace)
        (workspace / "verdict.json").write_text(json.dumps(verdict, indent=2, ensure_ascii=False) + "\n")
    for example, branch in (("failing", "main"), ("passing", "feature/login")):
        workspace = HERE / f"example-{example}"
        workspace.mkdir(parents=True, exist_ok=True)
        reports = Path("examples") / example / "reports"
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from gatekeeper.cli import main; sys.exit(main())",
                "check",
                "-p",
                str(LEVEL_3.relative_to(LEVEL_3.parents[2])),
                *(str(reports / name) for name in ("junit.xml", "coverage.xml", "bandit.json")),
                "--branch",
                branch,
                "--no-store",
                "-o",
                f"json={workspace / 'verdict.json'}",
            ],
            check=False,
        )
    if TARGET.resolve() != HERE.resolve():
        shutil.copytree(HERE, TARGET, dirs_exist_ok=True)


if __name__ == "__main__":
    main()
