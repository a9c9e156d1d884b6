"""SARIF: the severity rules of DESIGN.md and the SARIF spec, rule lookup (driver, extensions, ids),
multi-run files, paths, fingerprints, and the one-line errors for files that are not SARIF."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper import metrics
from gatekeeper.errors import InputError
from gatekeeper.model import Evidence, Finding, Severity, Suppression
from gatekeeper.parsers import read_report, sarif
from gatekeeper.parsers._security import uri_to_path
from gatekeeper.parsers.sarif import parse
from tests.conftest import CORPUS

REPO = Path(__file__).resolve().parents[2]


def run(
    results: list[dict[str, Any]],
    rules: list[dict[str, Any]] | None = None,
    name: str = "Scanner",
    extensions: list[dict[str, Any]] | None = None,
    tool_last: bool = False,
) -> dict[str, Any]:
    tool: dict[str, Any] = {"driver": {"name": name, "rules": rules or []}}
    if extensions is not None:
        tool["extensions"] = extensions
    return {"results": results, "tool": tool} if tool_last else {"tool": tool, "results": results}


def result(
    rule_id: str | None = "R1",
    line: int = 3,
    snippet: str | None = None,
    uri: str = "src/a.py",
    **fields: Any,
) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": line}
    if snippet is not None:
        region["snippet"] = {"text": snippet}
    data: dict[str, Any] = {
        "message": {"text": "something is wrong"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        **fields,
    }
    if rule_id is not None:
        data["ruleId"] = rule_id
    return data


def read(tmp_path: Path, *runs: dict[str, Any], name: str = "scan.sarif") -> Evidence:
    path = tmp_path / name
    path.write_text(json.dumps({"version": "2.1.0", "runs": list(runs)}), encoding="utf-8")
    return parse(path)


def findings(tmp_path: Path, *runs: dict[str, Any]) -> tuple[Finding, ...]:
    evidence = read(tmp_path, *runs)
    assert evidence.findings is not None
    return evidence.findings


def one(tmp_path: Path, the_result: dict[str, Any], rules: list[dict[str, Any]] | None = None) -> Finding:
    (finding,) = findings(tmp_path, run([the_result], rules))
    return finding


# --- level precedence ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "severity"),
    [("error", Severity.HIGH), ("warning", Severity.MEDIUM), ("note", Severity.LOW), ("none", Severity.INFO)],
)
def test_levels_map_as_designed(tmp_path: Path, level: str, severity: Severity) -> None:
    finding = one(tmp_path, result(level=level))
    assert (finding.severity, finding.tool_severity) == (severity, level)


def test_the_results_own_level_beats_its_rules_default(tmp_path: Path) -> None:
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    assert one(tmp_path, result(level="note"), rules).severity is Severity.LOW


def test_without_a_level_the_rules_default_level_decides(tmp_path: Path) -> None:
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    finding = one(tmp_path, result(), rules)
    assert (finding.severity, finding.tool_severity) == (Severity.HIGH, "error")


def test_without_any_level_the_spec_default_warning_is_medium(tmp_path: Path) -> None:
    finding = one(tmp_path, result(), [{"id": "R1"}])
    assert (finding.severity, finding.tool_severity) == (Severity.MEDIUM, "warning")


@pytest.mark.parametrize("kind", ["review", "open"])
def test_a_kind_other_than_fail_defaults_to_none_even_over_the_rule_default(tmp_path: Path, kind: str) -> None:
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    finding = one(tmp_path, result(kind=kind), rules)
    assert (finding.severity, finding.tool_severity) == (Severity.INFO, "none")


def test_kind_fail_keeps_the_rule_default(tmp_path: Path) -> None:
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    assert one(tmp_path, result(kind="fail"), rules).severity is Severity.HIGH


def test_an_explicit_level_wins_over_kind(tmp_path: Path) -> None:
    assert one(tmp_path, result(kind="review", level="note")).severity is Severity.LOW


# --- security-severity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("9.8", Severity.CRITICAL),
        (9.0, Severity.CRITICAL),
        ("8.8", Severity.HIGH),
        (7, Severity.HIGH),
        ("5.3", Severity.MEDIUM),
        ("4.0", Severity.MEDIUM),
        ("2.1", Severity.LOW),
        (0.1, Severity.LOW),
        ("HIGH", Severity.HIGH),  # semgrep's SARIF writes words, not numbers
        ("CRITICAL", Severity.CRITICAL),
        ("Medium", Severity.MEDIUM),
    ],
)
def test_security_severity_as_number_numeric_string_or_word(tmp_path: Path, value: object, severity: Severity) -> None:
    rules = [{"id": "R1", "defaultConfiguration": {"level": "note"}, "properties": {"security-severity": value}}]
    finding = one(tmp_path, result(level="note"), rules)
    assert (finding.severity, finding.tool_severity) == (severity, str(value))


@pytest.mark.parametrize("value", ["0", 0, "0.0", "n/a", "", None, True, [7]])
def test_zero_or_unreadable_security_severity_leaves_it_to_the_level(tmp_path: Path, value: object) -> None:
    rules = [{"id": "R1", "properties": {"security-severity": value}}]
    finding = one(tmp_path, result(level="error"), rules)
    assert (finding.severity, finding.tool_severity) == (Severity.HIGH, "error")


def test_the_results_security_severity_beats_its_rules(tmp_path: Path) -> None:
    rules = [{"id": "R1", "properties": {"security-severity": "9.5"}}]
    finding = one(tmp_path, result(properties={"security-severity": "3.0"}), rules)
    assert (finding.severity, finding.tool_severity) == (Severity.LOW, "3.0")


def test_bandit_issue_severity_is_not_read_the_level_rules_apply(tmp_path: Path) -> None:
    """bandit's SARIF: HIGH is written as level error, MEDIUM with no level, LOW as note."""
    results = [
        result("B602", level="error", properties={"issue_severity": "HIGH"}),
        result("B307", properties={"issue_severity": "MEDIUM"}),
        result("B101", level="note", properties={"issue_severity": "LOW"}),
    ]
    found = findings(tmp_path, run(results, [{"id": "B602"}, {"id": "B307"}, {"id": "B101"}], name="Bandit"))
    assert [f.severity for f in found] == [Severity.HIGH, Severity.MEDIUM, Severity.LOW]


# --- finding the rule -------------------------------------------------------------------------------------


def test_rule_index_points_into_the_driver_rules(tmp_path: Path) -> None:
    rules = [
        {"id": "A", "defaultConfiguration": {"level": "note"}},
        {"id": "B", "defaultConfiguration": {"level": "error"}},
    ]
    finding = one(tmp_path, result(None, ruleIndex=1), rules)
    assert (finding.rule, finding.severity) == ("B", Severity.HIGH)


def test_rules_in_extensions_are_found_by_tool_component_index(tmp_path: Path) -> None:
    """CodeQL: driver.rules is empty; the rule is extensions[toolComponent.index].rules[rule.index]."""
    extensions = [
        {"name": "other-pack", "rules": [{"id": "x/y", "defaultConfiguration": {"level": "note"}}]},
        {
            "name": "codeql/python-queries",
            "rules": [
                {"id": "py/other", "defaultConfiguration": {"level": "note"}},
                {
                    "id": "py/sql-injection",
                    "defaultConfiguration": {"level": "error"},
                    "properties": {"security-severity": "8.8"},
                },
            ],
        },
    ]
    the_result = result("py/sql-injection", rule={"id": "py/sql-injection", "index": 1, "toolComponent": {"index": 1}})
    (finding,) = findings(tmp_path, run([the_result], [], name="CodeQL", extensions=extensions))
    assert (finding.tool, finding.rule, finding.severity, finding.tool_severity) == (
        "CodeQL",
        "py/sql-injection",
        Severity.HIGH,
        "8.8",
    )


def test_tool_component_by_name_and_rule_by_id(tmp_path: Path) -> None:
    extensions = [{"name": "pack", "rules": [{"id": "P1", "defaultConfiguration": {"level": "note"}}]}]
    the_result = result(None, rule={"id": "P1", "toolComponent": {"name": "pack"}})
    (finding,) = findings(tmp_path, run([the_result], [], extensions=extensions))
    assert (finding.rule, finding.severity) == ("P1", Severity.LOW)


def test_a_rule_id_alone_is_looked_up_in_driver_and_extensions(tmp_path: Path) -> None:
    extensions = [{"name": "pack", "rules": [{"id": "P1", "defaultConfiguration": {"level": "error"}}]}]
    (finding,) = findings(tmp_path, run([result("P1")], [{"id": "D1"}], extensions=extensions))
    assert finding.severity is Severity.HIGH


def test_an_unknown_rule_id_still_gives_a_finding_with_the_default_level(tmp_path: Path) -> None:
    finding = one(tmp_path, result("nowhere"), [{"id": "R1", "defaultConfiguration": {"level": "error"}}])
    assert (finding.rule, finding.severity) == ("nowhere", Severity.MEDIUM)


def test_without_rule_id_the_rule_is_the_rule_that_starts_the_message(tmp_path: Path) -> None:
    """gitleaks 7.4 writes no ruleId, only "<rule> secret detected"; the longest matching rule id wins."""
    rules = [{"id": "AWS", "name": "AWS"}, {"id": "AWS Access Key", "name": "AWS Access Key"}]
    results = [
        result(None, message={"text": "AWS Access Key secret detected"}),
        result(None, message={"text": "Something else entirely"}),
    ]
    found = findings(tmp_path, run(results, rules, name="Gitleaks"))
    assert [f.rule for f in found] == ["AWS Access Key", "Something else entirely"]
    assert [f.severity for f in found] == [Severity.MEDIUM, Severity.MEDIUM]


def test_a_message_from_the_rules_message_strings(tmp_path: Path) -> None:
    rules = [{"id": "R1", "messageStrings": {"default": {"text": "Variable {0} is unused in {1}."}}}]
    the_result = result(message={"id": "default", "arguments": ["x", "f"]})
    assert one(tmp_path, the_result, rules).message == "Variable x is unused in f."


# --- what is not a finding --------------------------------------------------------------------------------


def test_pass_not_applicable_and_informational_results_are_not_findings(tmp_path: Path) -> None:
    kinds = ("pass", "notApplicable", "informational", "review")
    evidence = read(tmp_path, run([result(kind=kind) for kind in kinds]))
    assert evidence.findings is not None and len(evidence.findings) == 1
    assert any("3 results of kind pass/notApplicable/informational are not findings" in note for note in evidence.notes)
    assert metrics.compute(evidence)["findings.total"] == 1


def test_suppressed_results_are_waived_findings_with_their_kind_and_justification(tmp_path: Path) -> None:
    """SARIF §3.27.23: non-empty `suppressions`, none underReview or rejected (no status: accepted)."""
    results = [
        result(line=1, suppressions=[{"kind": "inSource", "justification": "constant input"}]),
        result(line=2, suppressions=[{"kind": "external", "status": "accepted", "justification": "triaged"}]),
        result(line=3, suppressions=[{"kind": "external", "status": "underReview"}]),  # still active
        result(line=4, suppressions=[{"kind": "external", "status": "rejected"}]),  # still active
        result(line=5, suppressions=[{"kind": "inSource"}, {"kind": "external", "status": "rejected"}]),  # active
        result(line=6, suppressions=[]),  # empty: not suppressed
        result(line=7, baselineState="absent"),
        result(line=8, baselineState="new"),
    ]
    evidence = read(tmp_path, run(results))
    assert evidence.findings is not None
    suppressed = {f.line: f.suppression for f in evidence.findings if f.suppression is not None}
    assert suppressed == {
        1: Suppression(kind="inSource", justification="constant input"),
        2: Suppression(kind="external", justification="triaged"),
    }
    counted = metrics.compute(evidence)
    assert (counted["findings.total"], counted["findings.waived"]) == (5, 2)
    assert any("2 results suppressed (SARIF suppressions): counted as waived" in n for n in evidence.notes)
    assert any("1 result with baselineState 'absent' (fixed) not counted" in note for note in evidence.notes)


# --- runs -------------------------------------------------------------------------------------------------


def test_tool_written_after_results_is_read_first(tmp_path: Path) -> None:
    rules = [{"id": "R1", "defaultConfiguration": {"level": "error"}}]
    (finding,) = findings(tmp_path, run([result()], rules, name="Late", tool_last=True))
    assert (finding.tool, finding.severity) == ("Late", Severity.HIGH)


def test_two_runs_each_result_meets_its_own_runs_rules(tmp_path: Path) -> None:
    """The same rule id with different defaults in two runs (one writes tool last): no mixing up."""
    first = run(
        [result("R1"), result("R1", line=9)],
        [{"id": "R1", "defaultConfiguration": {"level": "error"}}],
        name="First",
    )
    second = run(
        [result("R1")],
        [{"id": "R1", "defaultConfiguration": {"level": "note"}}],
        name="Second",
        tool_last=True,
    )
    found = findings(tmp_path, first, second)
    assert [(f.tool, f.severity) for f in found] == [
        ("First", Severity.HIGH),
        ("First", Severity.HIGH),
        ("Second", Severity.LOW),
    ]


def test_two_runs_with_extensions_and_artifact_indexes(tmp_path: Path) -> None:
    extensions = [{"name": "pack", "rules": [{"id": "P", "properties": {"security-severity": "9.1"}}]}]
    first = run([result("P", rule={"index": 0, "toolComponent": {"index": 0}})], [], name="A", extensions=extensions)
    located = {
        "ruleId": "Q",
        "message": {"text": "m"},
        "locations": [{"physicalLocation": {"artifactLocation": {"index": 1}, "region": {"startLine": 2}}}],
    }
    second = run([located], [{"id": "Q"}], name="B")
    second["artifacts"] = [{"location": {"uri": "zero.py"}}, {"location": {"uri": "one.py"}}]
    found = findings(tmp_path, first, second)
    assert [(f.tool, f.rule, f.severity, f.path) for f in found] == [
        ("A", "P", Severity.CRITICAL, "src/a.py"),
        ("B", "Q", Severity.MEDIUM, "one.py"),
    ]


def test_a_single_run_resolves_artifact_indexes_too(tmp_path: Path) -> None:
    located = {
        "ruleId": "Q",
        "message": {"text": "m"},
        "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}}}],
    }
    the_run = run([located])
    the_run["artifacts"] = [{"location": {"uri": "file:///work/x.py"}}]
    (finding,) = findings(tmp_path, the_run)
    assert (finding.path, finding.line) == ("/work/x.py", None)


def test_no_runs_is_zero_findings_with_a_note(tmp_path: Path) -> None:
    evidence = read(tmp_path)
    assert evidence.findings == ()
    assert metrics.compute(evidence)["findings.total"] == 0
    assert any("no runs" in note for note in evidence.notes)


def test_a_run_with_no_results_is_zero_findings(tmp_path: Path) -> None:
    assert findings(tmp_path, run([])) == ()
    assert findings(tmp_path, {"tool": {"driver": {"name": "t"}}, "results": None}) == ()


# --- paths and fingerprints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("src/app.py", "src/app.py"),
        ("./src/app.py", "src/app.py"),
        ("file:///home/me/src/app.py", "/home/me/src/app.py"),
        ("file:///C:/work/src/app.py", "C:/work/src/app.py"),
        ("file://server/share/app.py", "//server/share/app.py"),
        ("C:\\work\\src\\app.py", "C:/work/src/app.py"),
        ("src\\win\\app.py", "src/win/app.py"),
        ("src/my%20file.py", "src/my file.py"),
        ("https://example.com/x.js", "https://example.com/x.js"),
    ],
)
def test_uris_become_paths(uri: str, path: str) -> None:
    assert uri_to_path(uri) == path


def test_a_srcroot_relative_uri_stays_relative(tmp_path: Path) -> None:
    the_result = result(uri="server/routes.py")
    the_result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] = "%SRCROOT%"
    assert one(tmp_path, the_result).path == "server/routes.py"


def test_fingerprint_ignores_the_line_but_not_the_snippet(tmp_path: Path) -> None:
    (a,) = findings(tmp_path, run([result(line=3, snippet="eval(x)\n")]))
    (b,) = findings(tmp_path, run([result(line=30, snippet="  eval(x)")]))
    (c,) = findings(tmp_path, run([result(line=3, snippet="eval(y)\n")]))
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert (a.line, b.line) == (3, 30)


def test_without_a_snippet_codeqls_line_hash_then_the_message_is_the_material(tmp_path: Path) -> None:
    def with_hash(line: int, digest: str) -> dict[str, Any]:
        return result(line=line, partialFingerprints={"primaryLocationLineHash": digest})

    (a,) = findings(tmp_path, run([with_hash(3, "a452eeb604f1a3e6:1")]))
    (b,) = findings(tmp_path, run([with_hash(9, "a452eeb604f1a3e6:1")]))
    (c,) = findings(tmp_path, run([with_hash(3, "cc94dfaf0d882215:1")]))
    assert a.fingerprint == b.fingerprint != c.fingerprint


@pytest.mark.parametrize("placeholder", ["requires login", "  requires login\n", "requires login\t"])
def test_semgreps_requires_login_snippet_is_no_material_the_message_is(tmp_path: Path, placeholder: str) -> None:
    """semgrep's SARIF without login puts this where the matched code belongs; two such results differ."""
    (hidden,) = findings(tmp_path, run([result(snippet=placeholder, message={"text": "first"})]))
    (none,) = findings(tmp_path, run([result(message={"text": "first"})]))
    (other,) = findings(tmp_path, run([result(snippet=placeholder, message={"text": "second"})]))
    (code,) = findings(tmp_path, run([result(snippet="requires login()", message={"text": "first"})]))
    assert hidden.fingerprint == none.fingerprint != other.fingerprint
    assert code.fingerprint != hidden.fingerprint


def test_identical_findings_in_one_file_get_distinct_stable_fingerprints(tmp_path: Path) -> None:
    found = findings(tmp_path, run([result(line=1), result(line=2), result(line=3)]))
    assert len({f.fingerprint for f in found}) == 3
    again = findings(tmp_path, run([result(line=10), result(line=20), result(line=30)]))
    assert [f.fingerprint for f in found] == [f.fingerprint for f in again]


def test_long_messages_are_cut(tmp_path: Path) -> None:
    finding = one(tmp_path, result(message={"text": "x" * 5000}))
    assert len(finding.message) == 500 and finding.message.endswith("…")


# --- not SARIF --------------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('<?xml version="1.0"?><testsuite name="s"><testcase name="t"/></testsuite>', "an XML document"),
        (
            '{"errors": [], "generated_at": "2024-01-01T00:00:00Z", "metrics": {}, "results": []}',
            'no top-level "runs"',
        ),
        ('[{"RuleID": "aws"}]', "a JSON array"),
        ("null", "JSON literal null"),
        ("", "an empty file"),
        ('{"runs": {"tool": {}}}', '"runs" is an object, not an array'),
        ('{"runs": [{"results": []}]}', "1 run without a tool"),
        ('{"runs": [{"tool": {"name": "sarif-1.0-style"}, "results": []}]}', "runs[0].tool has no driver"),
        (
            '{"runs": [{"tool": {"driver": {"name": "t"}}, "results": [{"ruleId": "R", "level": "fatal"}]}]}',
            "runs[0].results[0] has level 'fatal'",
        ),
        (
            '{"runs": [{"tool": {"driver": {"name": "t"}}, "results": [{"ruleId": "R", "level": ["error"]}]}]}',
            "runs[0].results[0] has level ['error']",
        ),
        (
            '{"runs": [{"tool": {"driver": {"name": "t"}}, "results": [7]}]}',
            "runs[0].results[0] is not an object",
        ),
    ],
)
def test_forced_on_the_wrong_kind_of_file_is_a_one_line_input_error(tmp_path: Path, text: str, why: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as raised:
        parse(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: not a SARIF report: ") and why in message and "\n" not in message


def test_read_report_forced_to_sarif_on_junit_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, '<testsuites><testsuite name="s"/></testsuites>', "results.xml")
    with pytest.raises(InputError, match=r"not a SARIF report: the file is an XML document$"):
        read_report(path, "sarif")


def test_truncated_sarif_is_malformed_not_half_counted(tmp_path: Path) -> None:
    document = json.dumps({"runs": [run([result(), result()])]})
    path = write(tmp_path, document[:-30])
    with pytest.raises(InputError) as raised:
        read_report(path, "sarif")
    assert "malformed JSON" in str(raised.value) and "\n" not in str(raised.value)


# --- one pass (json's decoder, a result at a time) against two passes (ijson) -------------------------


def _sarif_files() -> list[Path]:
    roots = [REPO / "examples", REPO / "tests" / "data", CORPUS]  # the corpus is in tests/data unless moved
    return sorted({path for root in roots for path in root.rglob("*.sarif")})


def _one_pass_or_none(path: Path) -> Evidence | None:
    try:
        return sarif._OnePass(path).read()
    except InputError:
        return None


@pytest.mark.parametrize("path", _sarif_files(), ids=lambda p: p.name)
def test_one_pass_reads_every_sarif_file_as_the_two_passes_do(path: Path) -> None:
    two = sarif._two_passes(path)
    one = _one_pass_or_none(path)
    runs = json.loads(path.read_bytes().decode("utf-8-sig")).get("runs") or []
    if runs and all("tool" in run and list(run).index("tool") < list(run).index("results") for run in runs):
        assert one is not None, f"{path}: every run with its tool first, yet read in two passes"
    assert one is None or one == two


LAYOUTS = {
    "tool first": '{"runs": [{"tool": TOOL, "results": RESULTS, "artifacts": []}], "version": "2.1.0"}',
    "results first": '{"runs": [{"results": RESULTS, "tool": TOOL}]}',
    "two runs": '{"runs": [{"tool": TOOL, "results": RESULTS}, {"tool": TOOL, "results": RESULTS}]}',
    "tool twice": '{"runs": [{"tool": TOOL, "results": RESULTS, "tool": TOOL}]}',
    "results twice": '{"runs": [{"tool": TOOL, "results": RESULTS, "results": RESULTS}]}',
    "runs twice": '{"runs": [{"tool": TOOL, "results": RESULTS}], "runs": [{"tool": TOOL, "results": []}]}',
    "results not a list": '{"runs": [{"tool": TOOL, "results": {"a": 1}}]}',
    "no results": '{"runs": [{"tool": TOOL}]}',
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_reads_the_same_in_one_pass_or_falls_back(tmp_path: Path, layout: str) -> None:
    tool = json.dumps({"driver": {"name": "t", "rules": [{"id": "R1", "defaultConfiguration": {"level": "error"}}]}})
    location = {"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 3}}}
    results = json.dumps([{"ruleId": "R1", "message": {"text": f"m{i}"}, "locations": [location]} for i in range(30)])
    path = tmp_path / "report.sarif"
    path.write_text(LAYOUTS[layout].replace("TOOL", tool).replace("RESULTS", results), encoding="utf-8")
    one = _one_pass_or_none(path)
    assert one is None or one == sarif._two_passes(path)
    assert (one is not None) == (layout in ("tool first", "two runs", "results not a list", "no results"))
    assert sarif.parse(path) == sarif._two_passes(path)


@pytest.mark.parametrize("artifacts_first", [True, False], ids=["artifacts first", "artifacts last"])
@pytest.mark.parametrize("runs", [1, 3], ids=["one run", "merged runs"])
def test_artifact_indexes_resolve_in_their_own_run_in_one_pass_or_two(
    tmp_path: Path, runs: int, artifacts_first: bool
) -> None:
    """A result naming its file by index alone reads its own run's artifacts: in one pass when they came
    first (or there is one run, whose artifacts are streamed), else the two passes read the file."""

    def a_run(number: int) -> dict[str, Any]:
        tool = {"driver": {"name": f"T{number}", "rules": [{"id": "Q"}]}}
        artifacts = [{"location": {"uri": f"run{number}/zero.py"}}, {"location": {"uri": f"run{number}/one.py"}}]
        located = {
            "ruleId": "Q",
            "message": {"text": f"m{number}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"index": 1}}}],
        }
        if artifacts_first:
            return {"tool": tool, "artifacts": artifacts, "results": [located]}
        return {"tool": tool, "results": [located], "artifacts": artifacts}

    path = tmp_path / "merged.sarif"
    path.write_text(json.dumps({"version": "2.1.0", "runs": [a_run(n) for n in range(runs)]}), encoding="utf-8")
    one = _one_pass_or_none(path)
    assert (one is not None) == (artifacts_first or runs == 1)
    evidence = sarif.parse(path)
    assert evidence == sarif._two_passes(path)
    assert evidence.findings is not None
    assert [(f.tool, f.path) for f in evidence.findings] == [(f"T{n}", f"run{n}/one.py") for n in range(runs)]


#: A result's first location: by index into its run's artifacts (most often: what one pass must get
#: right across runs), by URI, or with no artifact at all.
_location = st.sampled_from(
    [
        {"artifactLocation": {"index": 0}},
        {"artifactLocation": {"index": 1}},
        {"artifactLocation": {"index": 1, "uri": "both.py"}},
        {"artifactLocation": {"uri": "file:///abs/c.py"}},
        {"region": {"startLine": 5}},
    ]
)
_result = st.fixed_dictionaries(
    {
        "message": st.builds(lambda text: {"text": text}, st.sampled_from(["m", "n", " "])),
        "locations": st.builds(lambda location: [{"physicalLocation": location}], _location),
    },
    optional={
        "ruleId": st.sampled_from(["R0", "R1", "X"]),
        "ruleIndex": st.integers(0, 2),
        "level": st.sampled_from(["error", "note"]),
        "kind": st.sampled_from(["pass", "fail", "review"]),
    },
)


@st.composite
def _runs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Runs whose members come in any order: tool, results, artifacts, and another one."""
    runs = []
    for number in range(draw(st.integers(1, 3))):
        members: dict[str, Any] = {
            "tool": {"driver": {"name": f"T{number}", "rules": [{"id": "R0"}, {"id": "R1"}]}},
            "results": draw(st.lists(_result, max_size=4)),
            "artifacts": [{"location": {"uri": f"run{number}/{i}.py"}} for i in range(2)],
            "columnKind": "utf16CodeUnits",
        }
        order = draw(st.permutations(list(members)))
        runs.append({name: members[name] for name in order if name != "artifacts" or draw(st.booleans())})
    return runs


@settings(max_examples=500, deadline=None)
@given(runs=_runs())
def test_any_runs_in_any_order_read_the_same_in_one_pass_or_two(runs: list[dict[str, Any]]) -> None:
    """One pass reads what the two passes read, or leaves the file to them; `parse` always agrees."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "merged.sarif"
        path.write_text(json.dumps({"version": "2.1.0", "runs": runs}), encoding="utf-8")
        two = sarif._two_passes(path)
        one = _one_pass_or_none(path)
        assert one is None or one == two
        if all(list(run).index("tool") < list(run).index("results") for run in runs) and not any(
            "index" in result["locations"][0]["physicalLocation"].get("artifactLocation", {})
            for run in runs
            for result in run["results"]
        ):
            assert one is not None, "every run with its tool first and no artifact by index, yet two passes"
        assert sarif.parse(path) == two
