"""New code (issue 17): the change's metrics counted by hand on a constructed change and evidence, new
findings and failures against a real baseline verdict (written, read back), and min_new_lines.

Every expected figure below is counted in the comments beside it, line by line.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from gatekeeper import baseline as baselines
from gatekeeper.change import Change, ChangedFile, FileStatus
from gatekeeper.context import Context
from gatekeeper.engine import Baseline, GateStatus, decide, evaluate_gate
from gatekeeper.known import KEY_BUDGET, KeySet
from gatekeeper.model import (
    Coverage,
    Evidence,
    FileCoverage,
    Finding,
    Outcome,
    ReportInput,
    Severity,
    TestCase,
    TestResults,
    line_mask,
)
from gatekeeper.newcode import line_ranges, ranges_of, ranges_text
from gatekeeper.parsers import read_report
from gatekeeper.policy import Comparison, Gate, IfAbsent, Policy, Waiver
from gatekeeper.verdict import LIST_LIMIT, RANGE_LIMIT, build, parse
from tests.outputs.cases import validate

TODAY = date(2026, 3, 15)
NEW_LINES = Gate(
    id="new-lines-covered",
    condition=Comparison(metric="coverage.new_lines.percent", min=80),
    if_absent=IfAbsent.SKIP,
    min_new_lines=20,
)
NO_NEW_HIGH = Gate(
    id="no-new-high",
    condition=Comparison(metric="findings.new.high", max=0),
    if_absent=IfAbsent.SKIP,
)
NO_NEW_FAILURES = Gate(
    id="no-new-failures",
    condition=Comparison(metric="tests.new_failures", max=0),
    if_absent=IfAbsent.SKIP,
)
POLICY = Policy(name="new-code", path="new-code.yaml", gates=(NEW_LINES, NO_NEW_HIGH, NO_NEW_FAILURES))


def changed(path: str, lines: list[int], *, removed: int = 0, status: FileStatus = FileStatus.MODIFIED) -> ChangedFile:
    return ChangedFile(path=path, status=status, added=line_mask(lines), lines_added=len(lines), lines_removed=removed)


def change_of(*files: ChangedFile) -> Change:
    return Change(source="--diff-base origin/main", base="b" * 40, head="h" * 40, files={f.path: f for f in files})


# -- the change's coverage, counted by hand -------------------------------------------------------------

# src/app.py: statements 1-20, covered 1-5 and 10; branches on line 4 (1 of 2) and 12 (2 of 2).
APP = FileCoverage.from_lines("src/app.py", range(1, 21), [1, 2, 3, 4, 5, 10], {4: (1, 2), 12: (2, 2)})
# src/util.py: statements 1-4, all covered; no branch data.  Not changed.
UTIL = FileCoverage.from_lines("src/util.py", range(1, 5), range(1, 5), None)
CHANGE = change_of(
    # lines 3-7 are statements (3, 4, 5 covered; 6, 7 not); 30 is past the file's statements: not coverable
    changed("src/app.py", [3, 4, 5, 6, 7, 30], removed=2),
    changed("docs/guide.md", [1, 2, 3], status=FileStatus.ADDED),  # the report does not list it: adds nothing
    ChangedFile(path="old.py", status=FileStatus.DELETED, lines_removed=9),  # no lines in the new tree
)


def test_changed_lines_coverage_counts_only_lines_the_report_measures() -> None:
    outcome = decide(Evidence(coverage=Coverage.of([APP, UTIL])), POLICY, Context(), TODAY, change=CHANGE)
    metrics = outcome.metrics
    assert metrics["change.files"] == 3
    assert metrics["change.lines_added"] == 6 + 3  # app.py's six, the guide's three
    assert metrics["change.lines_removed"] == 2 + 9
    assert metrics["coverage.new_lines.total"] == 5  # 3, 4, 5, 6, 7
    assert metrics["coverage.new_lines.covered"] == 3  # 3, 4, 5
    assert metrics["coverage.new_lines.percent"] == 60.0
    assert metrics["coverage.new_branches.total"] == 2  # line 4's two; line 12 is not changed
    assert metrics["coverage.new_branches.covered"] == 1
    assert metrics["coverage.new_branches.percent"] == 50.0
    assert "findings.new.total" not in metrics and "tests.new_failures" not in metrics  # no scan, no tests


def test_the_percent_is_not_rounded() -> None:
    # 2 of 3 changed lines covered: 66.666…%, kept whole (diff-cover truncates unless asked not to)
    app = FileCoverage.from_lines("a.py", [1, 2, 3], [1, 2], None)
    outcome = decide(
        Evidence(coverage=Coverage.of([app])), POLICY, Context(), TODAY, change=change_of(changed("a.py", [1, 2, 3]))
    )
    assert outcome.metrics["coverage.new_lines.percent"] == 200 / 3


def test_a_change_the_report_does_not_measure_has_no_percent_and_says_why() -> None:
    outcome = decide(
        Evidence(coverage=Coverage.of([UTIL])),
        Policy(
            name="p",
            path="p.yaml",
            gates=(Gate(id="g", condition=Comparison(metric="coverage.new_lines.percent", min=80)),),
        ),
        Context(),
        TODAY,
        change=change_of(changed("docs/guide.md", [1, 2])),
    )
    assert outcome.metrics["coverage.new_lines.total"] == 0 and "coverage.new_lines.percent" not in outcome.metrics
    assert outcome.gates[0].message == (
        "changed-line coverage: the coverage report measures no changed line (coverage.new_lines.percent)"
        " (if_absent: fail)"
    )


def test_without_a_change_the_new_code_metrics_are_absent_and_the_new_code_gates_skip() -> None:
    evidence = Evidence(coverage=Coverage.of([APP]), tests=TestResults(passed=3), findings=())
    outcome = decide(evidence, POLICY, Context(), TODAY)
    assert not [name for name in outcome.metrics if name.startswith("change.") or ".new" in name]
    assert [g.status for g in outcome.gates] == [GateStatus.SKIP] * 3
    assert outcome.gates[0].message == (
        "changed-line coverage: no change to judge (--diff-base, --diff-file) gives coverage.new_lines.percent"
        " (if_absent: skip)"
    )
    assert outcome.status.value == "pass"


# -- min_new_lines ---------------------------------------------------------------------------------------


def test_below_min_new_lines_the_gate_does_not_judge_and_says_why() -> None:
    metrics = {"coverage.new_lines.covered": 3.0, "coverage.new_lines.total": 5.0, "coverage.new_lines.percent": 60.0}
    result = evaluate_gate(NEW_LINES, metrics, "feature/x")
    assert result.status is GateStatus.SKIP
    assert result.message == "not judged: 5 changed coverable lines, fewer than min_new_lines 20"
    assert result.min_new_lines == 20


def test_one_changed_line_reads_in_the_singular() -> None:
    metrics = {"coverage.new_lines.covered": 0.0, "coverage.new_lines.total": 1.0, "coverage.new_lines.percent": 0.0}
    assert evaluate_gate(NEW_LINES, metrics, None).message == (
        "not judged: 1 changed coverable line, fewer than min_new_lines 20"
    )


def test_at_min_new_lines_the_gate_judges() -> None:
    metrics = {"coverage.new_lines.covered": 15.0, "coverage.new_lines.total": 20.0, "coverage.new_lines.percent": 75.0}
    result = evaluate_gate(NEW_LINES, metrics, None)
    assert result.status is GateStatus.FAIL
    assert result.message.startswith("changed-line coverage 75% < 80%")


def test_min_new_lines_with_no_lines_counted_leaves_the_gate_to_if_absent() -> None:
    result = evaluate_gate(NEW_LINES, {}, None)
    assert result.status is GateStatus.SKIP and result.message.endswith("(if_absent: skip)")


def test_min_new_lines_is_recorded_in_the_verdict_and_read_back() -> None:
    outcome = decide(Evidence(coverage=Coverage.of([APP])), POLICY, Context(), TODAY, change=CHANGE)
    document = build(outcome=outcome, policy=POLICY, context=Context(), inputs=[], duration_ms=1).to_json()
    validate(document)
    assert document["gates"][0]["min_new_lines"] == 20 and "min_new_lines" not in document["gates"][1]
    assert parse(json.loads(json.dumps(document)), "verdict.json").gates[0].min_new_lines == 20


# -- new findings and failures, against a real baseline verdict ----------------------------------------


def sarif(path: Path, *results: tuple[str, str, int, str], states: tuple[str | None, ...] = ()) -> ReportInput:
    """A SARIF file of (rule, file, line, snippet) results, each with its baselineState if given, read
    by the real parser."""
    document = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "Scanner"}},
                "results": [
                    {
                        "ruleId": rule,
                        "level": "error",
                        "message": {"text": f"{rule} here"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": uri},
                                    "region": {"startLine": line, "snippet": {"text": snippet}},
                                }
                            }
                        ],
                    }
                    | ({"baselineState": state} if state else {})
                    for (rule, uri, line, snippet), state in zip(results, states or (None,) * len(results), strict=True)
                ],
            }
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return read_report(path)


def case(name: str, outcome: Outcome = Outcome.FAILED) -> TestCase:
    return TestCase(suite="suite", classname="tests.test_app", name=name, outcome=outcome, message="boom")


def junit(*failing: TestCase, passed: int = 5) -> ReportInput:
    tests = TestResults(
        passed=passed,
        failed=sum(c.outcome is Outcome.FAILED for c in failing),
        errors=sum(c.outcome is Outcome.ERROR for c in failing),
        notable=failing,
    )
    return ReportInput(path="junit.xml", format="junit", sha256="0" * 64, evidence=Evidence(tests=tests))


def baseline_from(tmp_path: Path, *inputs: ReportInput) -> Baseline:
    """The verdict of a run on main, written to a file as CI archives it, and read as --baseline reads it."""
    evidence = inputs[0].evidence
    for report in inputs[1:]:
        evidence = evidence + report.evidence
    outcome = decide(evidence, POLICY, Context(branch="main"), TODAY)
    document = build(outcome=outcome, policy=POLICY, context=Context(branch="main"), inputs=inputs, duration_ms=1)
    validate(document.to_json())
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(document.to_json()), encoding="utf-8")
    return baselines.from_file(path)


def judged(change: Change, known: Baseline | None, *inputs: ReportInput) -> dict[str, float]:
    evidence = inputs[0].evidence
    for report in inputs[1:]:
        evidence = evidence + report.evidence
    return decide(evidence, POLICY, Context(branch="feature"), TODAY, baseline=known, change=change).metrics


def test_a_finding_moved_by_inserted_lines_is_not_new(tmp_path: Path) -> None:
    before = sarif(tmp_path / "before.sarif", ("S1", "src/app.py", 10, "eval(user_input)"))
    known = baseline_from(tmp_path, before)
    # two lines inserted at 3-4 move the finding from line 10 to 12; its own line is not changed
    after = sarif(tmp_path / "after.sarif", ("S1", "src/app.py", 12, "eval(user_input)"))
    assert after.evidence.findings and before.evidence.findings
    assert after.evidence.findings[0].fingerprint == before.evidence.findings[0].fingerprint
    metrics = judged(change_of(changed("src/app.py", [3, 4])), known, after)
    assert metrics["findings.new.total"] == 0 and metrics["findings.new.high"] == 0


def test_a_finding_on_a_changed_line_is_new_even_when_the_baseline_knows_it(tmp_path: Path) -> None:
    report = sarif(tmp_path / "scan.sarif", ("S1", "src/app.py", 10, "eval(user_input)"))
    known = baseline_from(tmp_path, report)
    metrics = judged(change_of(changed("src/app.py", [10])), known, report)
    assert metrics["findings.new.total"] == 1 and metrics["findings.new.high"] == 1


def test_a_new_rule_in_an_unchanged_file_is_new_by_fingerprint(tmp_path: Path) -> None:
    before = sarif(tmp_path / "before.sarif", ("S1", "src/app.py", 10, "eval(user_input)"))
    known = baseline_from(tmp_path, before)
    after = sarif(
        tmp_path / "after.sarif",
        ("S1", "src/app.py", 10, "eval(user_input)"),
        ("S2-new-rule", "src/legacy.py", 40, "pickle.loads(blob)"),  # legacy.py is not in the change
    )
    metrics = judged(change_of(changed("src/app.py", [1])), known, after)
    assert metrics["findings.new.total"] == 1 and metrics["findings.new.high"] == 1


def test_without_a_baseline_only_findings_on_changed_lines_are_new(tmp_path: Path) -> None:
    report = sarif(
        tmp_path / "scan.sarif",
        ("S1", "src/app.py", 10, "eval(user_input)"),  # on a changed line: new
        ("S2", "src/legacy.py", 40, "pickle.loads(blob)"),  # elsewhere: nothing to compare with
    )
    metrics = judged(change_of(changed("src/app.py", [10, 11])), None, report)
    assert metrics["findings.new.total"] == 1


def moved(path: str, old_path: str, lines: list[int], status: FileStatus = FileStatus.RENAMED) -> ChangedFile:
    return ChangedFile(path=path, status=status, old_path=old_path, added=line_mask(lines), lines_added=len(lines))


@pytest.mark.parametrize("status", [FileStatus.RENAMED, FileStatus.COPIED])
def test_a_finding_in_a_renamed_or_copied_file_is_known_at_the_old_path(tmp_path: Path, status: FileStatus) -> None:
    before = sarif(tmp_path / "before.sarif", ("S1", "src/app.py", 10, "eval(user_input)"))
    known = baseline_from(tmp_path, before)
    after = sarif(tmp_path / "after.sarif", ("S1", "src/core/app.py", 12, "eval(user_input)"))
    assert after.evidence.findings and before.evidence.findings
    assert after.evidence.findings[0].content == before.evidence.findings[0].content  # what, not where
    assert after.evidence.findings[0].fingerprint != before.evidence.findings[0].fingerprint  # public: with path
    rename = change_of(moved("src/core/app.py", "src/app.py", [3, 4], status))
    assert judged(rename, known, after)["findings.new.total"] == 0
    assert (
        judged(change_of(moved("src/core/app.py", "src/app.py", [12], status)), known, after)["findings.new.high"] == 1
    )
    # the same file without rename detection: added, every line changed
    added = change_of(changed("src/core/app.py", list(range(1, 31)), status=FileStatus.ADDED))
    assert judged(added, known, after)["findings.new.total"] == 1


def test_the_same_finding_in_another_file_the_change_did_not_rename_is_new(tmp_path: Path) -> None:
    before = sarif(tmp_path / "before.sarif", ("S1", "src/app.py", 10, "eval(user_input)"))
    known = baseline_from(tmp_path, before)
    after = sarif(
        tmp_path / "after.sarif",
        ("S1", "src/app.py", 10, "eval(user_input)"),
        ("S1", "src/other.py", 10, "eval(user_input)"),  # pasted into a file the change did not touch
    )
    assert judged(change_of(changed("src/app.py", [1])), known, after)["findings.new.total"] == 1


def test_a_second_identical_finding_in_a_renamed_file_is_new(tmp_path: Path) -> None:
    before = sarif(tmp_path / "before.sarif", ("S1", "src/app.py", 10, "eval(user_input)"))
    known = baseline_from(tmp_path, before)
    after = sarif(
        tmp_path / "after.sarif",
        ("S1", "src/core/app.py", 10, "eval(user_input)"),
        ("S1", "src/core/app.py", 20, "eval(user_input)"),  # the n-th duplicate in the file counts in
    )
    assert after.evidence.findings and len({f.content for f in after.evidence.findings}) == 2
    rename = change_of(moved("src/core/app.py", "src/app.py", [1]))
    assert judged(rename, known, after)["findings.new.total"] == 1


def test_the_scanners_baseline_state_wins(tmp_path: Path) -> None:
    before = sarif(tmp_path / "before.sarif", ("S1", "src/app.py", 10, "eval(user_input)"))
    known = baseline_from(tmp_path, before)
    after = sarif(
        tmp_path / "after.sarif",
        ("S1", "src/app.py", 10, "eval(user_input)"),  # known and on no changed line, but the scanner says new
        ("S2", "src/app.py", 3, "exec(code)"),  # on a changed line and unknown, but the scanner says unchanged
        ("S3", "src/other.py", 7, "pickle.loads(b)"),  # unknown to the baseline, but updated: seen before
        ("S4", "src/other.py", 9, "yaml.load(x)"),  # no state: unknown to the baseline, so new
        states=("new", "unchanged", "updated", None),
    )
    metrics = judged(change_of(changed("src/app.py", [3])), known, after)
    assert metrics["findings.new.total"] == 2  # S1 (the scanner's word) and S4 (by fingerprint)


def test_waived_findings_are_not_new() -> None:
    finding = Finding(
        tool="bandit",
        rule="B1",
        severity=Severity.HIGH,
        tool_severity="HIGH",
        path="a.py",
        line=2,
        message="m",
        fingerprint="f",
    )
    policy = Policy(name="p", path="p.yaml", gates=POLICY.gates, waivers=(Waiver(reason="accepted", rule="B1"),))
    outcome = decide(Evidence(findings=(finding,)), policy, Context(), TODAY, change=change_of(changed("a.py", [2])))
    assert outcome.metrics["findings.new.total"] == 0


def test_new_failures_are_those_the_baseline_did_not_fail(tmp_path: Path) -> None:
    known = baseline_from(tmp_path, junit(case("test_old_failure"), case("test_old_error", Outcome.ERROR)))
    now = junit(
        case("test_old_failure"), case("test_old_error"), case("test_new_one"), case("test_new_error", Outcome.ERROR)
    )
    metrics = judged(change_of(changed("src/app.py", [1])), known, now)
    assert metrics["tests.new_failures"] == 2  # test_new_one and test_new_error; a failure that was an error is known


def test_without_a_baseline_new_failures_are_absent_and_the_gate_says_why() -> None:
    evidence = Evidence(tests=TestResults(passed=1, failed=1, notable=(case("t"),)))
    outcome = decide(evidence, POLICY, Context(), TODAY, change=change_of(changed("a.py", [1])))
    assert "tests.new_failures" not in outcome.metrics
    assert outcome.gates[2].message == (
        "new test failures: no baseline verdict that records its failures gives tests.new_failures (if_absent: skip)"
    )


def test_a_baseline_verdict_from_before_the_keys_is_read_from_its_details(tmp_path: Path) -> None:
    known = baseline_from(tmp_path, junit(case("test_old")))
    document = json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))
    del document["baseline_keys"]
    (tmp_path / "old.json").write_text(json.dumps(document), encoding="utf-8")
    older = baselines.from_file(tmp_path / "old.json")
    assert older.failed_tests is not None and known.failed_tests is not None
    assert older.failed_tests.knows("tests.test_app\x1ftest_old") and known.failed_tests.knows(
        "tests.test_app\x1ftest_old"
    )
    metrics = judged(change_of(changed("a.py", [1])), older, junit(case("test_old"), case("test_new")))
    assert metrics["tests.new_failures"] == 1


# -- the key sets --------------------------------------------------------------------------------------


def test_a_key_set_reads_back_what_it_wrote() -> None:
    keys = KeySet.of(f"key {n}" for n in range(1000))
    again = KeySet.decoded(keys.count, keys.width, keys.encoded())
    assert again == keys and again.knows("key 7") and not again.knows("key 1000")
    assert keys.width == 8  # 1,000 keys fit the budget at full width


def test_many_keys_are_narrower_and_too_many_are_not_recorded() -> None:
    narrow = KeySet.of(str(n) for n in range(KEY_BUDGET // 5))
    assert narrow.width == 5 and narrow.complete and len(narrow.encoded() or "") <= KEY_BUDGET * 4 // 3 + 4
    too_many = KeySet.of(str(n) for n in range(KEY_BUDGET // 4 + 1))
    assert not too_many.complete and too_many.encoded() is None and not too_many.knows("1")


def test_a_damaged_key_set_is_read_as_not_recorded() -> None:
    assert not KeySet.decoded(3, 8, "not base64!").complete
    assert not KeySet.decoded(3, 8, "AAAA").complete  # 3 bytes: not a whole digest


# -- the change in the verdict ---------------------------------------------------------------------------


def test_line_ranges_read_as_people_write_them() -> None:
    assert line_ranges(line_mask([3, 4, 5, 9, 11, 12])) == [(3, 5), (9, 9), (11, 12)]
    assert ranges_text([(3, 5), (9, 9), (11, 12)]) == "3-5,9,11-12"
    assert ranges_of("3-5,9,11-12") == ((3, 5), (9, 9), (11, 12)) and ranges_of("") == ()


def test_the_verdict_lists_files_with_uncovered_changed_lines_first() -> None:
    outcome = decide(Evidence(coverage=Coverage.of([APP, UTIL])), POLICY, Context(), TODAY, change=CHANGE)
    document = build(outcome=outcome, policy=POLICY, context=Context(), inputs=[], duration_ms=1).to_json()
    validate(document)
    change = document["change"]
    assert [f["path"] for f in change["files"]] == ["src/app.py", "docs/guide.md", "old.py"]
    app = change["files"][0]
    assert app["new_lines"] == {"covered": 3, "total": 5} and app["uncovered"] == "6-7"
    assert app["new_branches"] == {"covered": 1, "total": 2} and app["lines_removed"] == 2
    assert change["files"][1]["new_lines"] is None and change["files"][2]["status"] == "deleted"
    assert (change["source"], change["base"], change["lines_added"], change["files_omitted"]) == (
        "--diff-base origin/main",
        "b" * 40,
        9,
        0,
    )
    assert parse(json.loads(json.dumps(document)), "v.json").to_json() == document


def test_a_large_change_keeps_its_first_files_and_ranges_and_counts_the_rest() -> None:
    lines = list(range(1, 400, 2))  # 200 statements, none covered: 200 one-line ranges
    files = [FileCoverage.from_lines(f"src/m{n:04d}.py", lines, [], None) for n in range(LIST_LIMIT + 30)]
    change = change_of(*(changed(f.path, lines) for f in files))
    outcome = decide(Evidence(coverage=Coverage.of(files)), POLICY, Context(), TODAY, change=change)
    document = build(outcome=outcome, policy=POLICY, context=Context(), inputs=[], duration_ms=1).to_json()
    validate(document)
    listed = document["change"]["files"]
    assert len(listed) == LIST_LIMIT and document["change"]["files_omitted"] == 30
    first = listed[0]
    assert len(ranges_of(first["uncovered"])) == RANGE_LIMIT
    assert first["uncovered_omitted"] == 200 - RANGE_LIMIT  # one line per range past the first 50


@pytest.mark.parametrize("hostile", ["src/<script>.py", "src/a`b|c.py", "src/\u202eevil.py"])
def test_hostile_paths_travel_as_data(hostile: str) -> None:
    cover = FileCoverage.from_lines(hostile, [1, 2], [1], None)
    outcome = decide(
        Evidence(coverage=Coverage.of([cover])), POLICY, Context(), TODAY, change=change_of(changed(hostile, [1, 2]))
    )
    document = build(outcome=outcome, policy=POLICY, context=Context(), inputs=[], duration_ms=1).to_json()
    validate(document)
    assert document["change"]["files"][0]["path"] == hostile and document["change"]["files"][0]["uncovered"] == "2"
