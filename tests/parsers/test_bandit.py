"""bandit JSON: severities as named, fingerprints from the flagged line, empty vs wrong kind of file,
and a real bandit run whose own `metrics._totals` our counts must equal, for its JSON and SARIF."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Evidence, Finding, Severity
from gatekeeper.parsers import read_report
from gatekeeper.parsers.bandit import parse


def issue(
    test_id: str = "B307",
    severity: str = "MEDIUM",
    line: int = 41,
    code: str | None = None,
    filename: str = "app/views.py",
) -> dict[str, Any]:
    if code is None:
        code = f"{line - 1} def handler(x):\n{line}     return eval(x)\n{line + 1} \n"
    return {
        "code": code,
        "filename": filename,
        "issue_confidence": "HIGH",
        "issue_severity": severity,
        "issue_text": "Use of possibly insecure function - consider using safer ast.literal_eval.",
        "line_number": line,
        "line_range": [line],
        "more_info": "https://bandit.readthedocs.io/",
        "test_id": test_id,
        "test_name": "blacklist",
    }


def report(*issues: dict[str, Any]) -> dict[str, Any]:
    return {
        "errors": [],
        "generated_at": "2024-01-01T00:00:00Z",
        "metrics": {"_totals": {"loc": 10}},
        "results": list(issues),
    }


def write(tmp_path: Path, document: object, name: str = "bandit.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def findings(tmp_path: Path, *issues: dict[str, Any]) -> tuple[Finding, ...]:
    evidence = parse(write(tmp_path, report(*issues)))
    assert evidence.findings is not None
    return evidence.findings


def test_severities_as_named(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        issue(severity="HIGH"),
        issue(severity="MEDIUM"),
        issue(severity="LOW"),
        issue(severity="UNDEFINED"),
    )
    assert [f.severity for f in found] == [Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]
    assert [f.tool_severity for f in found] == ["HIGH", "MEDIUM", "LOW", "UNDEFINED"]


def test_a_finding_has_tool_rule_path_line_and_message(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, issue(filename="./app\\views.py"))
    assert (finding.tool, finding.rule, finding.path, finding.line) == ("bandit", "B307", "app/views.py", 41)
    assert finding.message.startswith("Use of possibly insecure function")


def test_fingerprint_survives_moved_code_but_not_changed_code(tmp_path: Path) -> None:
    (a,) = findings(tmp_path, issue(line=41))
    (b,) = findings(tmp_path, issue(line=90))  # same code, further down the file
    (c,) = findings(tmp_path, issue(line=41, code="40 def handler(x):\n41     return eval(y)\n42 \n"))
    (d,) = findings(tmp_path, issue(line=41, code="40 def other(x):\n41     return eval(x)\n42 \n"))
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.fingerprint == d.fingerprint, "only the flagged line is material, not its context lines"


def test_values_that_recur_are_kept_once_across_findings(tmp_path: Path) -> None:
    """Each decoded result brings its own copy of the path, rule, severity and message: a report's
    findings keep one string object of each (the memory of a 100,000-result report, bench/README.md)."""
    first, second = findings(tmp_path, issue(line=41), issue(line=90))
    assert first.fingerprint != second.fingerprint
    for name in ("path", "rule", "tool_severity", "message"):
        assert getattr(first, name) is getattr(second, name), name


def test_fingerprint_without_code_falls_back_to_the_message(tmp_path: Path) -> None:
    without = issue()
    del without["code"]
    (a,) = findings(tmp_path, without)
    assert a.fingerprint


def test_empty_results_are_zero_not_absent(tmp_path: Path) -> None:
    evidence = parse(write(tmp_path, report()))
    assert evidence.findings == ()
    assert metrics.compute(evidence)["findings.total"] == 0


def test_unknown_severity_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"results\[0\] has unknown issue_severity 'SEVERE'"):
        parse(write(tmp_path, report(issue(severity="SEVERE"))))


def test_truncated_report_is_an_error_not_the_results_read_so_far(tmp_path: Path) -> None:
    text = json.dumps(report(issue(), issue()), indent=1)
    path = write(tmp_path, text[: text.rindex("}")])  # the celery way: only the final "}" is missing
    with pytest.raises(InputError) as raised:
        read_report(path, "bandit")
    assert str(raised.value) == f"{path}: malformed JSON: parse error: premature EOF"


SEMGREP = {
    "errors": [],
    "results": [
        {
            "check_id": "r",
            "path": "a.py",
            "start": {"line": 1},
            "extra": {"severity": "ERROR", "message": "m", "lines": "x"},
        }
    ],
}


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"version": "2.1.0", "runs": []}, 'no top-level "results"'),
        (SEMGREP, "results[0] has no test_id (a semgrep result?)"),
        ({"errors": [], "results": [], "version": "1.0"}, 'no "generated_at" or "metrics" beside "results"'),
        ({"generated_at": "x", "results": {"a": 1}}, 'top-level "results" is an object, not an array'),
        ([{"RuleID": "aws"}], "the file is a JSON array"),
        ('<?xml version="1.0"?><testsuite/>', "the file is an XML document"),
        ("TN:\nSF:a.c\nend_of_record\n", "the file is not JSON"),
    ],
)
def test_forced_on_the_wrong_kind_of_file_is_a_one_line_input_error(tmp_path: Path, document: object, why: str) -> None:
    path = write(tmp_path, document)
    with pytest.raises(InputError) as raised:
        parse(path)
    assert str(raised.value) == f"{path}: not a bandit report: {why}"


# --- a real bandit run -------------------------------------------------------------------------------------

PLANTED = """\
import hashlib
import subprocess

PASSWORD = "hunter2"


def run(command):
    return subprocess.call(command, shell=True)


def evaluate(text):
    return eval(text)


def digest(data):
    return hashlib.md5(data).hexdigest()


def check(value):
    assert value > 0
    return value
"""
_SEVERITIES = {
    "HIGH": "findings.high",
    "MEDIUM": "findings.medium",
    "LOW": "findings.low",
    "UNDEFINED": "findings.info",
}


def _bandit(tmp_path: Path, output_format: str) -> Path:
    if importlib.util.find_spec("bandit") is None:
        pytest.skip("bandit is not installed (pip install 'bandit[sarif]', part of the test extras)")
    if output_format == "sarif" and importlib.util.find_spec("sarif_om") is None:
        pytest.skip("bandit's SARIF formatter is not installed (pip install 'bandit[sarif]')")
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "planted.py").write_text(PLANTED, encoding="utf-8")
    output = tmp_path / f"bandit.{output_format}"
    completed = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", str(source), "-f", output_format, "-o", str(output), "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stderr  # 1 means "found issues"
    return output


def _expected(totals: dict[str, Any]) -> dict[str, int]:
    """bandit's own SEVERITY.* totals, as metric names; total is their sum."""
    expected = {name: int(totals.get(f"SEVERITY.{word}", 0)) for word, name in _SEVERITIES.items()}
    expected["findings.total"] = sum(expected.values())
    return expected


def _counts(evidence: Evidence) -> dict[str, int]:
    computed = metrics.compute(evidence)
    return {name: int(computed[name]) for name in (*_SEVERITIES.values(), "findings.total")}


def test_real_bandit_json_counts_equal_bandits_own_totals(tmp_path: Path) -> None:
    output = _bandit(tmp_path, "json")
    totals = json.loads(output.read_text(encoding="utf-8"))["metrics"]["_totals"]
    report_read = read_report(output)
    assert report_read.format == "bandit"
    expected = _expected(totals)
    assert _counts(report_read.evidence) == expected
    # the planted file holds one issue of each bandit severity, so the comparison means something
    assert expected["findings.high"] and expected["findings.medium"] and expected["findings.low"]


def test_real_bandit_sarif_counts_equal_bandits_own_totals(tmp_path: Path) -> None:
    output = _bandit(tmp_path, "sarif")
    totals = json.loads(output.read_text(encoding="utf-8"))["runs"][0]["properties"]["metrics"]["_totals"]
    report_read = read_report(output)
    assert report_read.format == "sarif"
    assert _counts(report_read.evidence) == _expected(totals)


def test_real_bandit_json_and_sarif_give_the_same_findings(tmp_path: Path) -> None:
    from_json = read_report(_bandit(tmp_path, "json")).evidence.findings or ()
    from_sarif = read_report(_bandit(tmp_path, "sarif")).evidence.findings or ()

    def key(finding: Finding) -> tuple[str, str, int | None, Severity, str]:
        return finding.rule, finding.path, finding.line, finding.severity, finding.fingerprint

    assert sorted(map(key, from_json)) == sorted(map(key, from_sarif))
