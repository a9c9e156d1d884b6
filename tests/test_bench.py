"""The benchmark's reports stay readable and its references stay honest: `bench/generate.py` at a small
scale, then gatekeeper and each reference that the test extras install count exactly what the
generator wrote (the ✓ of bench/README.md's tables).  No timing is taken or checked here."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
#: The references that need nothing beyond the test extras (diff-cover is the bench's own extra), by
#: report format, and the count they must agree on, as bench/run.py checks them.
REFERENCES = {
    "junit": ("junitparser", "tests.total"),
    "coverage-json": ("json.load-coverage", "coverage.lines.total"),
    "sarif": ("json.load-sarif", "findings.total"),
    "bandit": ("json.load-bandit", "findings.total"),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench-data")
    subprocess.run(
        [sys.executable, str(BENCH / "generate.py"), "--scale", "0.002", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def counts_of(contender: str, path: Path, argument: str) -> dict[str, Any]:
    """One contender, run the way bench/run.py runs it: in its own process."""
    completed = subprocess.run(
        [sys.executable, str(BENCH / "contenders.py"), contender, str(path), argument],
        check=True,
        capture_output=True,
        text=True,
    )
    counts: dict[str, Any] = json.loads(completed.stdout)["counts"]
    return counts


def test_every_report_is_generated(generated: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = generated
    assert set(manifest["reports"]) == {
        "junit",
        "junit-100k",
        "surefire",
        "cobertura",
        "lcov",
        "coverage-json",
        "sarif",
        "bandit",
        "semgrep",
        "gitlab",
    }


@pytest.mark.parametrize(
    "report", ["junit", "surefire", "cobertura", "lcov", "coverage-json", "sarif", "bandit", "semgrep", "gitlab"]
)
def test_gatekeeper_and_the_references_count_what_was_written(
    generated: tuple[Path, dict[str, Any]], report: str
) -> None:
    out, manifest = generated
    entry = manifest["reports"][report]
    path, expected = out / entry["path"], entry["expected"]
    assert expected and all(value > 0 for value in expected.values())
    found = counts_of("gatekeeper", path, entry["format"])
    counted = {key: value for key, value in expected.items() if key != "files"}  # files: the generator's own
    assert {key: found.get(key) for key in counted} == counted
    if entry["format"] in REFERENCES:
        reference, key = REFERENCES[entry["format"]]
        assert counts_of(reference, path, "")[key] == expected[key], reference


def test_the_start_up_floor_says_which_cli_targets_no_check_can_reach(
    generated: tuple[Path, dict[str, Any]],
) -> None:
    """bench/floor.py's arithmetic, on figures given here (no timing): the best possible `check` is the
    library's parse + the floor + the report's SHA-256, held against each bench/cli.py bound."""
    sys.path.insert(0, str(BENCH))
    try:
        floor = importlib.import_module("floor")
    finally:
        sys.path.remove(str(BENCH))
    data, manifest = generated
    sizes = floor.report_bytes(data)
    assert set(sizes) == set(manifest["reports"]) and all(size > 0 for size in sizes.values())
    cli_result = {
        "cases": [
            {"name": "cobertura", "contenders": {"library": {"inside_cpu": 1.0}, "check --no-store": {"cpu": 1.1}}},
            {
                "name": "surefire",
                "contenders": {
                    "library": {"inside_cpu": 0.2},
                    "check --no-store": {"cpu": 0.3},
                    "junitparser": {"inside_cpu": 0.6},
                },
            },
        ]
    }
    one_mb = {"cobertura": 1_000_000, "surefire": 1_000_000}
    rows = floor.reach(0.05, 1e-9, one_mb, cli_result)
    assert [(row["case"], row["reachable"]) for row in rows] == [
        ("cobertura", True),  # 1.0 + 0.05 + 0.001 = 1.051 s <= 1.25 x 1.0 s
        ("surefire", False),  # 0.251 s > 1.25 x 0.2 = 0.25 s
        ("surefire", True),  # 0.251 s <= 0.6 / 2 = 0.3 s
    ]
    assert rows[1]["best possible check"] == pytest.approx(0.251)
    assert rows[2]["best ratio"] == pytest.approx(0.6 / 0.251)
