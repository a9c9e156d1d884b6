"""Conformance: every report of the corpus reads to the metrics a person counted by hand.

The corpus is tests/data/corpus/ (PROVENANCE.md there says where each report comes from), or the one
`$GATEKEEPER_CORPUS` names.  Each corpus file `X` has `expected/X.yaml` beside this test, written by
reading the report itself (not by copying our output), with comments explaining every non-obvious number.
Keys:

- `format`: the format detection must find;
- `metrics`: the exact metric dict (every metric present must be listed; floats to 1e-6);
- `error`: instead of metrics, a fragment of the one-line error the file must produce (exit 2);
- `notes`: fragments that must appear in the input's notes;
- `findings`: optional, per finding in report order, a subset of its fields to check
  (rule, severity, path, line, tool);
- `notable`: optional, per failed/errored/flaky test case in report order, a subset of its fields.

In-repo cases live at `cases/<family>/<file>` beside this test, with `expected/cases/<family>/<file>.yaml`:
a case whose name starts with `cases/` is read from here instead of the corpus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.parsers import read_report
from gatekeeper.parsers.detect import detect
from tests.conftest import CORPUS, corpus_reports

HERE = Path(__file__).parent
EXPECTED = HERE / "expected"
IN_REPO = "cases/"
CASES = sorted(p.relative_to(EXPECTED).as_posix()[: -len(".yaml")] for p in EXPECTED.rglob("*.yaml"))


def case_path(name: str) -> Path:
    """Where case `name` is read from: this directory for an in-repo case, else the corpus."""
    return HERE / name if name.startswith(IN_REPO) else CORPUS / name


def in_repo_files() -> list[str]:
    return sorted(p.relative_to(HERE).as_posix() for p in (HERE / IN_REPO).rglob("*") if p.is_file())


def corpus_files() -> list[str]:
    return [p.relative_to(CORPUS).as_posix() for p in corpus_reports()]


def test_every_corpus_file_has_an_expectation() -> None:
    missing = [name for name in in_repo_files() if name not in CASES]
    assert not missing, f"in-repo case files without expected/…yaml: {missing}"
    orphans = [name for name in CASES if name.startswith(IN_REPO) and not (HERE / name).is_file()]
    assert not orphans, f"expected/…yaml without an in-repo case file: {orphans}"
    missing = [name for name in corpus_files() if name not in CASES]
    assert not missing, f"corpus files without expected/…yaml: {missing}"
    absent = [name for name in CASES if not name.startswith(IN_REPO) and not (CORPUS / name).is_file()]
    assert not absent, f"expected/…yaml without a report in the corpus at {CORPUS}: {absent}"


def _subset(actual: object, wanted: dict[str, Any]) -> dict[str, Any]:
    return {
        key: getattr(actual, key).value if hasattr(getattr(actual, key), "value") else getattr(actual, key)
        for key in wanted
    }


@pytest.mark.parametrize("name", CASES)
def test_corpus_file(name: str) -> None:
    path = case_path(name)
    assert path.is_file(), f"{name}: no such report in {path.parent}"
    expected = yaml.safe_load((EXPECTED / f"{name}.yaml").read_text(encoding="utf-8"))
    if "format" in expected:
        assert detect(path) == expected["format"]
    if "error" in expected:
        with pytest.raises(InputError) as raised:
            read_report(path)
        message = str(raised.value)
        assert expected["error"] in message
        assert str(path) in message and "\n" not in message
        return
    report = read_report(path)
    actual = metrics.compute(report.evidence)
    wanted = expected["metrics"]
    assert set(actual) == set(wanted), f"metric names differ: got {sorted(actual)}"
    for key, value in wanted.items():
        assert actual[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
    for fragment in expected.get("notes", []):
        assert any(fragment in note for note in report.evidence.notes), (fragment, report.evidence.notes)
    if "findings" in expected:
        findings = report.evidence.findings or ()
        assert len(findings) == len(expected["findings"])
        for finding, fields in zip(findings, expected["findings"], strict=True):
            assert _subset(finding, fields) == fields
    if "notable" in expected:
        notable = report.evidence.tests.notable if report.evidence.tests else ()
        assert len(notable) == len(expected["notable"])
        for case, fields in zip(notable, expected["notable"], strict=True):
            assert _subset(case, fields) == fields
