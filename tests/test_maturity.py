"""The maturity table: evidence bundles from real tool runs, each with the CAICT CD level it must reach.

Each folder under tests/data/maturity/ is one bundle: `reports/` (real pytest, coverage.py and bandit
output, made by make_bundles.py there), optionally `baseline.json` (the verdict a team archived from
main), and `expected.yaml`, written by hand: the branch and pipeline start to run with, the level the
bundle must achieve and the gates that hold the next level back.  Adding a case needs no code.

The enforced policy is level 1 on purpose: the maturity is assessed over all five packs, whatever level
the team enforces.  Feedback time depends on "now", so the pipeline start is computed here, minutes
before the run; only its bracket (≤ 10 or ≤ 30 minutes) matters to the levels.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.diff.repo import Repo

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
DATA = Path(__file__).parent / "data" / "maturity"
BUNDLES = sorted(path.parent for path in DATA.glob("*/expected.yaml"))
POLICY = REPO / "rules" / "caict-cd" / "level-1.yaml"
LEVELS = [1, 2, 3, 4, 5]
EXPECTED_KEYS = {"level", "branch", "baseline", "pipeline_started_minutes_ago", "holds_back"}


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, with no CI variables of the machine running the tests."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS", "GATEKEEPER_"))
    }
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def expectations(bundle: Path) -> dict[str, Any]:
    expected: dict[str, Any] = yaml.safe_load((bundle / "expected.yaml").read_text(encoding="utf-8"))
    return expected


def started(minutes_ago: float) -> str:
    """An ISO-8601 pipeline start, `minutes_ago` before now (as GitLab's CI_PIPELINE_CREATED_AT reads)."""
    return (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")


def traced_clone(root: Path) -> Path:
    """A git clone whose HEAD names its requirement key: level 3's commits-traced holds there (issue 19)."""
    Repo.init(root).commit("LEDGER-7: the release under assessment")
    return root


def check(bundle: Path, *extra: str, cwd: Path) -> dict[str, Any]:
    """`gatekeeper check` on the bundle as its expected.yaml says; the verdict."""
    expected = expectations(bundle)
    args = ["check", "-p", str(POLICY), str(bundle / "reports"), "--format", "json",
            "--project", "ledger", "--branch", expected["branch"], *extra]  # fmt: skip
    if "baseline" in expected:
        args += ["--baseline", str(bundle / expected["baseline"])]
    if "pipeline_started_minutes_ago" in expected:
        args += ["--pipeline-started-at", started(expected["pipeline_started_minutes_ago"])]
    result = gatekeeper(*args, cwd=cwd)
    # Level 1 blocks only when no test report is there; either way the gate decided.
    assert result.returncode in (0, 1), result.stderr
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


# --- the table ------------------------------------------------------------------------------------


def test_the_table_covers_every_level_from_0_to_5() -> None:
    assert sorted({expectations(bundle)["level"] for bundle in BUNDLES}) == [0, *LEVELS]


def test_the_bundles_are_the_ones_the_generator_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    """make_bundles.py and the folders agree, so a regenerated table is the table tested."""
    spec = importlib.util.spec_from_file_location("make_bundles", DATA / "make_bundles.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, generator)  # its dataclasses look their module up
    spec.loader.exec_module(generator)
    assert sorted(bundle.name for bundle in generator.BUNDLES) == [bundle.name for bundle in BUNDLES]
    for made in generator.BUNDLES:
        bundle = DATA / made.name
        assert sorted(p.name for p in (bundle / "reports").iterdir()) == sorted(
            generator.REPORTS[kind] for kind in made.reports
        )
        assert (bundle / "baseline.json").is_file() == (made.baseline_from is not None)
        assert ("baseline" in expectations(bundle)) == (made.baseline_from is not None)


@pytest.mark.parametrize("bundle", BUNDLES, ids=[bundle.name for bundle in BUNDLES])
def test_expected_yaml_says_what_it_needs(bundle: Path) -> None:
    expected = expectations(bundle)
    assert set(expected) <= EXPECTED_KEYS, f"unknown keys: {set(expected) - EXPECTED_KEYS}"
    assert expected["level"] in (0, *LEVELS)
    # Below level 5 the bundle says what holds the next level back; at 5 nothing does.
    assert ("holds_back" in expected) == (expected["level"] < 5)
    if "baseline" in expected:
        assert (bundle / expected["baseline"]).is_file()


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path], dict[str, Any]]]:
    """Each bundle's verdict, run once.

    Every gatekeeper process spends about 2 s importing jsonschema (its format extras build grammars),
    so when this module runs alone every bundle starts at once; under xdist, where the workers already
    share the cores, each starts when its test asks.
    """
    cwd = traced_clone(tmp_path_factory.mktemp("maturity"))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs: dict[Path, Future[dict[str, Any]]] = {}

        def verdict(bundle: Path) -> dict[str, Any]:
            if bundle not in runs:
                runs[bundle] = pool.submit(check, bundle, "--no-store", cwd=cwd)
            return runs[bundle].result()

        if "PYTEST_XDIST_WORKER" not in os.environ:
            for bundle in BUNDLES:
                runs[bundle] = pool.submit(check, bundle, "--no-store", cwd=cwd)
        yield verdict


@pytest.mark.parametrize("bundle", BUNDLES, ids=[bundle.name for bundle in BUNDLES])
def test_bundle_reaches_its_level(bundle: Path, verdicts: Callable[[Path], dict[str, Any]]) -> None:
    expected = expectations(bundle)
    verdict = verdicts(bundle)
    maturity = verdict["maturity"]
    assert (maturity["model"], maturity["level"]) == ("caict-devops-cd", 1)
    assert [entry["level"] for entry in maturity["levels"]] == LEVELS
    reached = expected["level"]
    assert maturity["level_achieved"] == reached, json.dumps(maturity["levels"], indent=1)
    for entry in maturity["levels"][:reached]:
        assert (entry["status"], entry["blocking_gates"]) == ("pass", [])
    if reached < 5:
        assert maturity["levels"][reached]["blocking_gates"] == expected["holds_back"]
        assert maturity["levels"][reached]["status"] != "pass"
    if "baseline" in expected:
        archived = json.loads((bundle / expected["baseline"]).read_text(encoding="utf-8"))
        assert verdict["baseline"]["id"] == archived["id"]
    else:
        assert verdict["baseline"] is None


def test_the_store_baseline_counts_for_maturity_whatever_level_is_enforced(tmp_path: Path) -> None:
    """Main's last verdict in the store is the baseline for the level-4/5 ratchets, as --baseline is."""
    from gatekeeper.store.sqlite import SqliteStore

    bundle = DATA / "level-3-coverage-fell"
    store = tmp_path / "verdicts.db"
    with SqliteStore(store) as recorded:
        recorded.add(json.loads((bundle / "baseline.json").read_text(encoding="utf-8")))
    result = gatekeeper(
        "check", "-p", str(POLICY), str(bundle / "reports"), "--format", "json", "--store", str(store),
        "--project", "ledger", "--branch", "main", "--pipeline-started-at", started(5),
        cwd=traced_clone(tmp_path / "clone"),
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["maturity"]["level_achieved"] == 3
