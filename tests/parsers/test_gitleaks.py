"""gitleaks JSON: v8 and v7 keys, `null` and `[]` as zero findings, every leak high, and the secret
never in a message or fingerprint material (only its hash)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Evidence, Finding, Severity
from gatekeeper.parsers import read_report
from gatekeeper.parsers._security import fingerprint
from gatekeeper.parsers.gitleaks import parse

SECRET = "dfjksdjfs3294dfjlsdaf213"


def v8(line: int = 21, secret: str = SECRET, **fields: Any) -> dict[str, Any]:
    return {
        "Description": "Generic API Key",
        "StartLine": line,
        "EndLine": line,
        "StartColumn": 10,
        "EndColumn": 46,
        "Match": f'apikey = "{secret}"',
        "Secret": secret,
        "File": "tests/api.py",
        "Commit": "69235ea9ea4d59e18e2cc3c295526de46aa1365c",
        "Entropy": 4.13,
        "Author": "John Doe",
        "Email": "john@example.com",
        "Date": "2016-09-16T18:17:59Z",
        "Message": "m",
        "Tags": [],
        "RuleID": "generic-api-key",
        "Fingerprint": f"69235ea:tests/api.py:generic-api-key:{line}",
        **fields,
    }


def v7(line: int = 7) -> dict[str, Any]:
    return {
        "line": f'aws_key = "{SECRET}"',
        "lineNumber": line,
        "offender": SECRET,
        "offenderEntropy": -1,
        "commit": "6d127980966808f7413935678e079dcd7fedf9c2",
        "repo": ".",
        "repoURL": "",
        "leakURL": "",
        "rule": "AWS Access Key",
        "commitMessage": "add key",
        "author": "a",
        "email": "a@example.com",
        "file": "config\\settings.py",
        "date": "2021-07-15T22:00:32+07:00",
        "tags": "key, AWS",
    }


def read(tmp_path: Path, document: object) -> Evidence:
    path = tmp_path / "gitleaks.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return parse(path)


def findings(tmp_path: Path, *leaks: dict[str, Any]) -> tuple[Finding, ...]:
    evidence = read(tmp_path, list(leaks))
    assert evidence.findings is not None
    return evidence.findings


def test_v8_leak(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, v8())
    assert (
        finding.tool,
        finding.rule,
        finding.severity,
        finding.tool_severity,
        finding.path,
        finding.line,
    ) == ("gitleaks", "generic-api-key", Severity.HIGH, "", "tests/api.py", 21)
    assert finding.message == "Generic API Key secret in commit 69235ea9ea4d"


def test_a_v7_report_is_read_without_naming_its_format(tmp_path: Path) -> None:
    """gitleaks 7's leaks start with `line` (issue 15): detection reads every key of the first leak."""
    path = tmp_path / "report.json"
    reordered = dict(reversed(list(v7(line=3).items())))
    path.write_text(json.dumps([v7(), reordered]), encoding="utf-8")
    report = read_report(path)
    assert report.format == "gitleaks"
    assert report.evidence.findings is not None
    assert [(f.rule, f.path, f.line) for f in report.evidence.findings] == [
        ("AWS Access Key", "config/settings.py", 7),
        ("AWS Access Key", "config/settings.py", 3),
    ]


def test_v7_leak(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, v7())
    assert (finding.rule, finding.severity, finding.path, finding.line) == (
        "AWS Access Key",
        Severity.HIGH,
        "config/settings.py",
        7,
    )


@pytest.mark.parametrize("leak", [v8(), v7()], ids=["v8", "v7"])
def test_the_secret_is_in_no_field_and_no_fingerprint_material(tmp_path: Path, leak: dict[str, Any]) -> None:
    (finding,) = findings(tmp_path, leak)
    assert SECRET not in repr(finding)
    assert finding.fingerprint != fingerprint("gitleaks", finding.rule, finding.path, SECRET)


def test_fingerprint_ignores_the_line_but_not_the_secret(tmp_path: Path) -> None:
    (a,) = findings(tmp_path, v8(line=21))
    (b,) = findings(tmp_path, v8(line=99))
    (c,) = findings(tmp_path, v8(line=21, secret="another0secret0value"))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_the_same_secret_at_two_commits_is_two_findings(tmp_path: Path) -> None:
    first, second = findings(tmp_path, v8(), v8(Commit="9619c91b3fd2998be5d9ce198833d7ac9489d9bc"))
    assert first.fingerprint != second.fingerprint


def test_redacted_secrets_fall_back_to_the_description(tmp_path: Path) -> None:
    (finding,) = findings(tmp_path, v8(secret="REDACTED"))
    assert finding.fingerprint


@pytest.mark.parametrize("text", ["null\n", "[]", "  [ ]  "])
def test_null_and_empty_array_are_zero_findings(tmp_path: Path, text: str) -> None:
    evidence = read(tmp_path, text)
    assert evidence.findings == ()
    assert metrics.compute(evidence)["findings.total"] == 0


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"version": "2.1.0", "runs": []}, "the file is a JSON object"),
        ([{"check_id": "x"}], "entry [0] has no RuleID (v8) or rule (v7)"),
        ([1, 2], "entry [0] has no RuleID (v8) or rule (v7)"),
        ("<testsuites/>", "the file is an XML document"),
    ],
)
def test_forced_on_the_wrong_kind_of_file_is_a_one_line_input_error(tmp_path: Path, document: object, why: str) -> None:
    with pytest.raises(InputError) as raised:
        read(tmp_path, document)
    assert str(raised.value).endswith(f": not a gitleaks report: {why}")


def test_null_followed_by_garbage_is_malformed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="malformed JSON"):
        read(tmp_path, "null x")
