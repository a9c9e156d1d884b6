"""Pipeline parts (gatekeeper.parts): real reports written and read as `check` reads them, recorded as parts,
stored in the real embedded store, decoded and merged; every expected number is worked out by hand in a
comment beside it."""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import subprocess
import sys
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.context import Context
from gatekeeper.errors import InputError
from gatekeeper.metrics import compute
from gatekeeper.model import Outcome, ReportInput
from gatekeeper.parsers import junit, merge, read_report
from gatekeeper.parsers.detect import detect
from gatekeeper.parts import (
    MAX_PART_BYTES,
    PART_SCHEMA,
    Part,
    case_digest,
    decode_part,
    encode_part,
    merge_parts,
    part_from_inputs,
)
from gatekeeper.store.parts import StoredPart
from gatekeeper.store.sqlite import SqliteStore
from tests.conftest import REPO

CORPUS = REPO / "tests" / "data" / "corpus"
CONTEXT = Context(project="acme", pipeline="41", branch="main", commit="c0ffee", job="test")


# -- reports, written as the tools write them ----------------------------------------------------------


def write_junit(path: Path, cases: Sequence[tuple[str, str]], suite: str = "pytest") -> Path:
    """A pytest-style JUnit file; each case is (name, "passed" | "failed" | "error" | "skipped")."""
    body = []
    for name, outcome in cases:
        inner = {
            "passed": "",
            "failed": f'<failure message="assert {name}">trace</failure>',
            "error": f'<error message="boom in {name}"/>',
            "skipped": '<skipped message="later"/>',
        }[outcome]
        body.append(f'<testcase classname="tests.test_app" name="{name}" time="0.5">{inner}</testcase>')
    failures = sum(outcome == "failed" for _, outcome in cases)
    errors = sum(outcome == "error" for _, outcome in cases)
    skipped = sum(outcome == "skipped" for _, outcome in cases)
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites>'
        f'<testsuite name="{suite}" errors="{errors}" failures="{failures}" skipped="{skipped}" '
        f'tests="{len(cases)}" time="1.0">{"".join(body)}</testsuite></testsuites>',
        encoding="utf-8",
    )
    return path


def write_cobertura(path: Path, files: dict[str, tuple[range, set[int]]]) -> Path:
    """A Cobertura file as coverage.py writes it: per file, its statements and which of them ran."""
    classes = []
    for filename, (statements, covered) in files.items():
        lines = "".join(f'<line number="{n}" hits="{int(n in covered)}"/>' for n in statements)
        classes.append(
            f'<class name="{filename}" filename="{filename}" line-rate="0" branch-rate="0" complexity="0">'
            f"<methods/><lines>{lines}</lines></class>"
        )
    path.write_text(
        '<?xml version="1.0" ?><coverage version="7.6.1" timestamp="1" lines-valid="0" lines-covered="0" '
        'line-rate="0" branches-valid="0" branches-covered="0" branch-rate="0" complexity="0">'
        "<sources><source>/builds/acme</source></sources><packages>"
        f'<package name="app" line-rate="0" branch-rate="0" complexity="0"><classes>{"".join(classes)}'
        "</classes></package></packages></coverage>",
        encoding="utf-8",
    )
    return path


def part_of(name: str, *reports: Path) -> Part:
    inputs = [read_report(report) for report in reports]
    return part_from_inputs(inputs, project="acme", pipeline="41", name=name, context=CONTEXT)


class Clock:
    """The embedded store's clock, stepped a second per part, so each attempt's received_at is known."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def stored(tmp_path: Path, *parts: Part) -> list[StoredPart]:
    """The parts put into a real embedded store, in this order, and listed back as a pipeline-final would."""
    with SqliteStore(tmp_path / "store.db", clock=Clock()) as store:
        for part in parts:
            store.put_part(part.project, part.pipeline, part.name, encode_part(part))
        return store.list_parts("acme", "41")


def metrics_of(inputs: Sequence[ReportInput]) -> dict[str, Any]:
    return compute(merge(inputs))


# -- the pipeline's coverage is merged by line, never an average of percentages -------------------------


def test_four_parts_merge_coverage_by_line_not_by_averaging_percentages(tmp_path: Path) -> None:
    # a.py has 10 statements (lines 1-10), b.py 90 (lines 1-90): 100 in all.
    a, b = range(1, 11), range(1, 91)
    reports = [
        # part 1 runs a.py's tests only: a.py 10/10 covered -> 100%
        write_cobertura(tmp_path / "1.xml", {"a.py": (a, set(a))}),
        # part 2: a.py lines 1-5 and b.py lines 1-30 -> 35/100 = 35%
        write_cobertura(tmp_path / "2.xml", {"a.py": (a, set(range(1, 6))), "b.py": (b, set(range(1, 31)))}),
        # part 3: b.py lines 1-30 again (the same lines as part 2) -> 30/90 = 33.3%
        write_cobertura(tmp_path / "3.xml", {"b.py": (b, set(range(1, 31)))}),
        # part 4: b.py lines 61-90 -> 30/90 = 33.3%
        write_cobertura(tmp_path / "4.xml", {"b.py": (b, set(range(61, 91)))}),
    ]
    parts = [part_of(f"test {n}/4", report) for n, report in enumerate(reports, 1)]
    percents = [compute(read_report(report).evidence)["coverage.lines.percent"] for report in reports]
    assert [round(p, 2) for p in percents] == [100.0, 35.0, 33.33, 33.33]
    average = sum(percents) / 4  # what GitLab shows for the pipeline: (100 + 35 + 33.3 + 33.3) / 4 = 50.4%

    merged = merge_parts(stored(tmp_path, *parts))

    # by line: a.py lines 1-10 all covered (part 1) = 10; b.py lines 1-30 and 61-90 = 60; 70 of 100 lines
    metrics = metrics_of(merged.inputs)
    assert (metrics["coverage.lines.covered"], metrics["coverage.lines.total"]) == (70, 100)
    assert metrics["coverage.lines.percent"] == 70.0
    assert round(average, 2) == 50.42 and abs(metrics["coverage.lines.percent"] - average) > 19
    assert merged.names == ["test 1/4", "test 2/4", "test 3/4", "test 4/4"]
    assert [summary.to_json()["counts"]["files"] for summary in merged.parts] == [1, 2, 1, 1]
    assert not any(summary.replaced for summary in merged.parts)


def test_coverage_given_only_as_totals_is_kept_and_said_to_be_unmergeable(tmp_path: Path) -> None:
    def totals_only(path: Path, covered: int, total: int) -> Path:  # a Cobertura root with no <class> in it
        path.write_text(
            f'<?xml version="1.0" ?><coverage lines-valid="{total}" lines-covered="{covered}" line-rate="0" '
            'branches-valid="0" branches-covered="0" branch-rate="0" version="1" timestamp="1"><packages/></coverage>',
            encoding="utf-8",
        )
        return path

    one = part_of("test 1/2", totals_only(tmp_path / "1.xml", 3, 4))
    two = part_of("test 2/2", totals_only(tmp_path / "2.xml", 2, 4))
    merged = merge_parts(stored(tmp_path, one, two))
    metrics = metrics_of(merged.inputs)
    # 3 of 4 and 2 of 4, added as given: 5 of 8 (the same lines may be counted twice: the note says so)
    assert (metrics["coverage.lines.covered"], metrics["coverage.lines.total"]) == (5, 8)
    for report in merged.inputs:
        assert any("only as totals" in note and "not merged by line" in note for note in report.evidence.notes)


# -- tests: retried parts, flaky tests, duplicate ids ----------------------------------------------------


def test_a_retried_part_replaces_its_earlier_attempt_and_a_test_that_failed_then_passed_is_flaky(
    tmp_path: Path,
) -> None:
    first = part_of("test 2/2", write_junit(tmp_path / "a1.xml", [("test_b", "failed"), ("test_c", "passed")]))
    other = part_of("test 1/2", write_junit(tmp_path / "o.xml", [("test_a", "passed")]))
    retry = part_of("test 2/2", write_junit(tmp_path / "a2.xml", [("test_b", "passed"), ("test_c", "passed")]))
    records = stored(tmp_path, first, other, retry)
    assert [(r.name, r.received_at) for r in records] == [
        ("test 2/2", "2026-12-07T12:00:01.000000Z"),
        ("test 1/2", "2026-12-07T12:00:02.000000Z"),
        ("test 2/2", "2026-12-07T12:00:03.000000Z"),
    ]

    merged = merge_parts(list(reversed(records)))  # the store's received_at orders attempts, not list order

    metrics = metrics_of(merged.inputs)
    # the retry's 2 tests and part 1's 1: test_b failed in the first attempt, passed in the retry -> flaky
    assert (metrics["tests.total"], metrics["tests.passed"], metrics["tests.failed"]) == (3, 3, 0)
    assert metrics["tests.flaky"] == 1
    (flaky,) = [case for report in merged.inputs for case in report.evidence.tests.notable]  # type: ignore[union-attr]
    assert (flaky.name, flaky.outcome, flaky.flaky, flaky.attempts) == ("test_b", Outcome.PASSED, True, 2)
    assert "earlier attempt of part 'test 2/2'" in flaky.message and "assert test_b" in flaky.message
    assert [(s.name, s.replaced) for s in merged.parts] == [
        ("test 1/2", False),
        ("test 2/2", True),
        ("test 2/2", False),
    ]
    assert any("'test 2/2' was retried" in note for note in merged.notes)


def test_a_retried_part_that_fails_again_fails(tmp_path: Path) -> None:
    first = part_of("unit", write_junit(tmp_path / "1.xml", [("test_b", "failed")]))
    second = part_of("unit", write_junit(tmp_path / "2.xml", [("test_b", "error")]))
    merged = merge_parts(stored(tmp_path, first, second))
    metrics = metrics_of(merged.inputs)
    assert (metrics["tests.total"], metrics["tests.errors"], metrics["tests.failed"], metrics["tests.flaky"]) == (
        1,
        1,
        0,
        0,
    )
    (case,) = merged.inputs[0].evidence.tests.notable  # type: ignore[union-attr]
    assert (case.outcome, case.message, case.attempts) == (Outcome.ERROR, "boom in test_b", 2)


def test_a_test_in_several_parts_is_counted_once_and_fails_if_it_failed_anywhere(tmp_path: Path) -> None:
    # a matrix: test_shared runs in both parts; it passed in one and failed in the other
    one = part_of("py3.11", write_junit(tmp_path / "1.xml", [("test_shared", "passed"), ("test_x", "passed")]))
    two = part_of("py3.12", write_junit(tmp_path / "2.xml", [("test_shared", "failed"), ("test_y", "skipped")]))
    merged = merge_parts(stored(tmp_path, one, two))
    metrics = metrics_of(merged.inputs)
    # test_shared, test_x, test_y: 3 tests, not 4; test_shared failed (in py3.12)
    assert (metrics["tests.total"], metrics["tests.passed"], metrics["tests.failed"], metrics["tests.skipped"]) == (
        3,
        1,
        1,
        1,
    )
    failed = [case for report in merged.inputs for case in report.evidence.tests.notable]  # type: ignore[union-attr]
    assert [(case.name, case.message) for case in failed] == [("test_shared", "assert test_shared")]
    assert any("1 test case ran in more than one part" in note for note in merged.notes)


def test_test_ids_tell_apart_cases_named_alike_within_a_report(tmp_path: Path) -> None:
    # two cases of one name in one suite (not re-runs: tests="2" counts both) are two tests in both parts
    cases = [("test_dup", "passed"), ("test_dup", "failed")]
    merged = merge_parts(
        stored(
            tmp_path,
            part_of("a", write_junit(tmp_path / "1.xml", cases)),
            part_of("b", write_junit(tmp_path / "2.xml", cases)),
        )
    )
    metrics = metrics_of(merged.inputs)
    assert (metrics["tests.total"], metrics["tests.passed"], metrics["tests.failed"]) == (2, 1, 1)
    assert case_digest("pytest", "tests.test_app", "test_dup", 0) != case_digest(
        "pytest", "tests.test_app", "test_dup", 1
    )


def test_re_runs_inside_a_report_keep_their_flaky_tests_through_a_part(tmp_path: Path) -> None:
    # pytest-rerunfailures' file and Surefire's flaky elements: the part merges to the plain read's counts
    reports = [
        REPO / "tests/data/flaky/pytest-rerunfailures.xml",
        CORPUS / "tests/surefire/TEST-io.olamy.FlakyTest.xml",
    ]
    inputs = [read_report(report) for report in reports]
    merged = merge_parts(
        stored(tmp_path, part_from_inputs(inputs, project="acme", pipeline="41", name="p", context=CONTEXT))
    )
    assert metrics_of(merged.inputs) == metrics_of(inputs)
    assert metrics_of(inputs)["tests.flaky"] >= 2

    def notable(reports: Sequence[ReportInput]) -> list[tuple[str, bool, int, str]]:
        return [
            (c.name, c.flaky, c.attempts, c.message)
            for r in reports
            if r.evidence.tests
            for c in r.evidence.tests.notable
        ]

    assert notable(merged.inputs) == notable(inputs)


def test_every_junit_file_of_the_corpus_reads_the_same_cases_for_a_part() -> None:
    # parse_cases counts what parse counts, case by case; only a leaf suite's attribute counts have no case
    checked = 0
    for name in sorted(glob.glob(str(REPO / "tests" / "data" / "**" / "*.xml"), recursive=True)):
        path = Path(name)
        try:
            if detect(path, path.read_bytes()[: 1 << 20]) != "junit":
                continue
            plain = junit.parse(path)
        except InputError:
            continue
        evidence, cases = junit.parse_cases(path)
        assert evidence == plain, name
        assert cases is not None, name
        counted = [0, 0, 0, 0]
        for case in cases:
            counted[case[3]] += 1
        tests = plain.tests
        assert tests is not None
        by_attributes = any("counted from its attributes" in note for note in plain.notes)
        if not by_attributes:
            assert counted == [tests.passed, tests.skipped, tests.failed, tests.errors], name
        checked += 1
    assert checked >= 30


# -- findings ---------------------------------------------------------------------------------------------


def test_findings_reported_by_several_parts_are_counted_once_by_fingerprint(tmp_path: Path) -> None:
    bandit = CORPUS / "security/bandit/spotifyscraper-bandit-1.8.3.json"
    semgrep = CORPUS / "security/semgrep/semgrep-1.30.0.json"
    alone = {path: metrics_of([read_report(path)])["findings.total"] for path in (bandit, semgrep)}
    # part 1 scanned with bandit and semgrep, part 2 with bandit again (the same findings, same fingerprints)
    merged = merge_parts(stored(tmp_path, part_of("scan 1", bandit, semgrep), part_of("scan 2", bandit)))
    metrics = metrics_of(merged.inputs)
    assert metrics["findings.total"] == alone[bandit] + alone[semgrep]
    assert [len(r.evidence.findings or ()) for r in merged.inputs] == [alone[bandit], alone[semgrep], 0]
    assert any(f"{alone[bandit]} findings reported by more than one part" in note for note in merged.notes)
    kept = merged.inputs[0].evidence.findings
    assert kept == read_report(bandit).evidence.findings  # fingerprint, content, severity, message, suppression


# -- encoding ---------------------------------------------------------------------------------------------


def corpus_inputs() -> list[ReportInput]:
    inputs = []
    for name in sorted(glob.glob(str(CORPUS / "**" / "*.*"), recursive=True)):
        try:
            inputs.append(read_report(Path(name)))
        except InputError:
            continue
    return inputs


def test_a_part_of_the_whole_corpus_round_trips_and_merges_alone_to_what_check_reads(tmp_path: Path) -> None:
    inputs = corpus_inputs()
    assert {report.format for report in inputs} >= {"junit", "cobertura", "lcov", "jacoco", "sarif", "bandit"}
    part = part_from_inputs(inputs, project="acme", pipeline="41", name="all", context=CONTEXT)
    body = encode_part(part)
    assert decode_part(body, "round trip") == part
    assert len(body) < sum(Path(report.path).stat().st_size for report in inputs) / 10
    (record,) = stored(tmp_path, part)
    merged = merge_parts([record])
    assert metrics_of(merged.inputs) == metrics_of(inputs)
    assert [r.evidence.tests.notable for r in merged.inputs if r.evidence.tests] == [
        r.evidence.tests.notable for r in inputs if r.evidence.tests
    ]
    (summary,) = merged.parts
    assert summary.to_json() == {
        "name": "all",
        "sha256": hashlib.sha256(body).hexdigest(),
        "bytes": len(body),
        "received_at": "2026-12-07T12:00:01.000000Z",
        "replaced": False,
        "counts": part.counts,
    }


def test_text_a_report_can_hold_round_trips(tmp_path: Path) -> None:
    # a lone surrogate (what a JSON report's "\ud800" reads as), control characters, non-ASCII names
    report = read_report(write_junit(tmp_path / "j.xml", [("test_é", "failed")]))
    tests = report.evidence.tests
    assert tests is not None
    odd = replace(tests.notable[0], message="bad \ud800 byte\x1b[31m ünïcode")
    report = replace(report, evidence=replace(report.evidence, tests=replace(tests, notable=(odd,))))
    part = part_from_inputs([report], project="acme", pipeline="41", name="p", context=CONTEXT)
    assert decode_part(encode_part(part), "odd") == part


def test_a_stored_part_that_says_it_belongs_elsewhere_is_refused(tmp_path: Path) -> None:
    body = encode_part(part_of("test 1/2", write_junit(tmp_path / "1.xml", [("t", "passed")])))
    record = StoredPart(
        "acme", "41", "test 2/2", hashlib.sha256(body).hexdigest(), len(body), "2026-12-07T12:00:00Z", body
    )
    with pytest.raises(InputError, match=r"part 'test 2/2' .*stored under name 'test 2/2' but says 'test 1/2'"):
        merge_parts([record])


# -- hostile bodies ---------------------------------------------------------------------------------------


def good_document(tmp_path: Path) -> dict[str, Any]:
    part = part_of(
        "p",
        write_junit(tmp_path / "j.xml", [("t1", "passed"), ("t2", "failed")]),
        write_cobertura(tmp_path / "c.xml", {"a.py": (range(1, 5), {1, 2})}),
        CORPUS / "security/bandit/spotifyscraper-bandit-1.8.3.json",
    )
    document: dict[str, Any] = json.loads(zlib.decompress(encode_part(part)))
    return document


def packed(document: Any) -> bytes:
    return zlib.compress(json.dumps(document).encode())


def refused(body: bytes, **options: int) -> str:
    with pytest.raises(InputError) as caught:
        decode_part(body, "part 'p' (upload)", **options)
    message = str(caught.value)
    assert message.startswith("part 'p' (upload): ") and "\n" not in message
    return message


def test_truncated_garbage_and_trailing_bytes_are_refused(tmp_path: Path) -> None:
    body = packed(good_document(tmp_path))
    assert "truncated" in refused(body[: len(body) // 2])
    assert "not zlib-compressed" in refused(b"PK\x03\x04 a zip, not a part")
    assert "bytes after the compressed data" in refused(body + b"more")
    assert "not JSON" in refused(zlib.compress(b'{"schema": '))
    assert "not UTF-8" in refused(zlib.compress(b'{"schema": "\xff"}'))
    assert f"over the limit of {MAX_PART_BYTES}" in refused(b"\0" * (MAX_PART_BYTES + 1))


def test_a_zip_bomb_is_refused_without_inflating_it() -> None:
    # 64 MB of zeros compress to ~64 KB; with a 1 MB allowance, 1 MB + 1 byte is all that is ever inflated
    squeezer = zlib.compressobj(9)
    bomb = b"".join(squeezer.compress(b"\0" * (1 << 20)) for _ in range(64)) + squeezer.flush()
    assert len(bomb) < 100_000
    assert "decompresses to more than 1048576 bytes" in refused(bomb, max_decoded=1 << 20)


def test_a_wrong_schema_or_shape_is_refused_naming_the_field(tmp_path: Path) -> None:
    def broken(change: Any) -> str:
        document = good_document(tmp_path)
        change(document)
        return refused(packed(document))

    assert "schema is 'gatekeeper.part/v2', not 'gatekeeper.part/v1'" in broken(
        lambda d: d.update(schema="gatekeeper.part/v2")
    )
    assert "its schema is 'NoneType'" in broken(lambda d: d.pop("schema"))
    assert "name has a control or non-printable character" in broken(lambda d: d.update(name="p\x1b[31m"))
    assert "reports[1].format is not one of the report formats" in broken(
        lambda d: d["reports"][1].update(format="<b>")
    )
    assert "reports is not a list" in broken(lambda d: d.update(reports={"a": 1}))
    assert "reports[0].sha256 is not a lower-case hex SHA-256" in broken(
        lambda d: d["reports"][0].update(sha256="../../etc")
    )
    assert "reports[0].tests.ids: 15 bytes for 2 cases" in broken(
        lambda d: d["reports"][0]["tests"].update(ids=base64.b64encode(b"x" * 15).decode())
    )
    assert "reports[0].tests.outcomes: an outcome other than 0-3" in broken(
        lambda d: d["reports"][0]["tests"].update(outcomes=base64.b64encode(b"\0\x07").decode())
    )
    assert "reports[1].coverage.files[0]: covered lines that are not statements" in broken(
        lambda d: d["reports"][1]["coverage"]["files"][0].__setitem__(2, base64.b64encode(b"\xff\xff").decode())
    )
    assert "reports[2].findings[0][2] (severity) is not one of" in broken(
        lambda d: d["reports"][2]["findings"][0].__setitem__(2, "catastrophic")
    )
    assert "reports[0].tests.notable[0][6] (message) is longer than 1000 characters" in broken(
        lambda d: d["reports"][0]["tests"]["notable"][0].__setitem__(6, "x" * 5000)
    )
    assert "nested deeper than" in refused(zlib.compress(b"[" * 100_000 + b"]" * 100_000))


def test_huge_and_impossible_numbers_are_refused(tmp_path: Path) -> None:
    def broken(change: Any) -> str:
        document = good_document(tmp_path)
        change(document)
        return refused(packed(document))

    assert "reports[0].tests.unnamed[0] is too large" in broken(
        lambda d: d["reports"][0]["tests"].update(unnamed=[10**20, 0, 0, 0, 0])
    )
    assert "reports[0].tests.unnamed[2] is too small (-1)" in broken(
        lambda d: d["reports"][0]["tests"].update(unnamed=[0, 0, -1, 0, 0])
    )
    assert "reports[0].tests.unnamed[1] is not an integer" in broken(
        lambda d: d["reports"][0]["tests"].update(unnamed=[0, 1.5, 0, 0, 0])
    )
    assert "reports[1].coverage.files[0][3][0] (line) is too large" in broken(
        lambda d: d["reports"][1]["coverage"]["files"][0].__setitem__(3, [10**30, 1, 2])
    )
    assert "reports[1].coverage.files[0][3][1] (covered) is too large (3)" in broken(
        lambda d: d["reports"][1]["coverage"]["files"][0].__setitem__(3, [4, 3, 2])
    )
    assert "reports[0].tests.duration is out of range" in broken(
        lambda d: d["reports"][0]["tests"].update(duration=1e300)
    )
    digits = zlib.compress(json.dumps({"schema": PART_SCHEMA}).encode()[:-1] + b', "n": ' + b"9" * 5000 + b"}")
    assert "not JSON" in refused(digits)
    assert "not JSON (NaN is not a number)" in refused(zlib.compress(b'{"schema": NaN}'))


# -- the bench -------------------------------------------------------------------------------------------


def test_the_parts_bench_runs_and_its_two_sides_agree(tmp_path: Path) -> None:
    # bench/parts.py at a tiny size: it fails (exit 1) when the merged parts and the reports disagree; no
    # timing is checked here (exit 3, a missed target, is the machine's business, not this test's)
    out = tmp_path / "parts.json"
    arguments = ["--parts", "3", "--files", "4", "--repeat", "1", "--out", str(out), "--work", str(tmp_path / "work")]
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "parts.py"), *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode in (0, 3), completed.stderr
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["parts"] == 3 and summary["files_per_report"] == 4
    assert 0 < summary["part_to_report_max"] < 1
    assert len(list((tmp_path / "work").glob("coverage-*.xml"))) == 3
