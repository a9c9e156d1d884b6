"""The change in every output (issue 17, item 4): markdown lists each file's changed lines no test ran
as ranges, GitLab's code-quality report and GitHub's annotations point at those lines, and a hostile
path stays data in each (rendered by markdown-it as a merge request would show it)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gatekeeper.change import Change, ChangedFile, FileStatus
from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.model import Coverage, Evidence, FileCoverage, line_mask
from gatekeeper.outputs import renderer_for
from gatekeeper.policy import Comparison, Gate, IfAbsent, Policy
from gatekeeper.verdict import Verdict, build, parse
from tests.conftest import REPO
from tests.outputs.safety import assert_no_control_characters, assert_safe_markdown, render_markdown

TODAY = date(2026, 3, 15)
POLICY = Policy(
    name="new-code",
    path="gatekeeper.yaml",
    gates=(
        Gate(
            id="new-lines-covered",
            condition=Comparison(metric="coverage.new_lines.percent", min=80),
            if_absent=IfAbsent.SKIP,
        ),
    ),
)
HOSTILE = "src/x`` <img src=x onerror=alert(1)> [y](javascript:alert(1)) |,:%0A\n::error ::boom.py"
CODEQUALITY = Draft202012Validator(json.loads((REPO / "tests" / "data" / "gitlab-codequality.schema.json").read_text()))


def verdict(path: str = "src/app.py", *, files: int = 1) -> Verdict:
    """A change of `files` files, each: statements 1-20, covered 1-5; changed 3-7 and 12 (3 covered of 6)."""
    names = [path] + [f"src/more{n}.py" for n in range(1, files)]
    coverage = Coverage.of(FileCoverage.from_lines(name, range(1, 21), range(1, 6), None) for name in names)
    change = Change(
        source="--diff-base origin/main",
        base="0123456789abcdef" * 2 + "01234567",
        files={
            name: ChangedFile(
                path=name,
                status=FileStatus.MODIFIED,
                added=line_mask([3, 4, 5, 6, 7, 12]),
                lines_added=6,
                lines_removed=1,
            )
            for name in names
        },
    )
    outcome = decide(Evidence(coverage=coverage), POLICY, Context(), TODAY, change=change)
    document = build(outcome=outcome, policy=POLICY, context=Context(), inputs=[], duration_ms=1).to_json()
    return parse(json.loads(json.dumps(document)), "verdict.json")  # as stored: the edge every output reads


def render(name: str, shown: Verdict) -> str:
    return renderer_for(name)(shown)


def test_markdown_lists_each_files_uncovered_changed_lines_as_ranges() -> None:
    text = render("markdown", verdict())
    assert (
        "**Change** against `0123456789ab` (--diff-base origin/main): 1 file, 6 lines added, 1 removed;"
        " changed lines covered: 3 of 6 (50%)"
    ) in text
    html = render_markdown(text)
    assert "<li><code>src/app.py</code>: lines 6-7, 12 (3 of 6 covered)</li>" in html
    assert "<p>Changed lines no test ran:</p>" in html
    assert_safe_markdown(text, "markdown")


def test_markdown_counts_the_files_past_those_listed() -> None:
    shown = verdict(files=3)
    assert shown.change is not None
    cut = replace(shown, change=replace(shown.change, files=shown.change.files[:2], files_omitted=1))
    html = render_markdown(render("markdown", cut))
    assert "<li>… and 1 more changed file not listed</li>" in html
    assert "3 files, 18 lines added, 3 removed" in html


def test_a_hostile_path_stays_data_in_markdown() -> None:
    text = render("markdown", verdict(HOSTILE))
    parsed = assert_safe_markdown(text, "markdown")
    assert "onerror" not in "".join(str(attributes) for _, attributes in parsed.elements)
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == 1 and "lines 6-7, 12" in items[0]  # one list item: the newline in the path made none


def test_gitlab_code_quality_points_at_each_uncovered_range() -> None:
    issues = json.loads(render("gitlab-codequality", verdict()))
    CODEQUALITY.validate(issues)
    uncovered = [issue for issue in issues if issue["check_name"] == "gatekeeper/uncovered-changed-lines"]
    assert [(i["location"]["path"], i["location"]["lines"]) for i in uncovered] == [
        ("src/app.py", {"begin": 6, "end": 7}),
        ("src/app.py", {"begin": 12, "end": 12}),
    ]
    assert uncovered[1]["description"] == (
        "line 12 changed by this merge request and run by no test (3 of 6 changed lines of the file covered)"
    )
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)
    again = json.loads(render("gitlab-codequality", verdict()))
    assert [i["fingerprint"] for i in again] == fingerprints  # the same untested lines, the same issues


def test_a_hostile_path_stays_data_in_gitlab_code_quality() -> None:
    issues: list[dict[str, Any]] = json.loads(render("gitlab-codequality", verdict(HOSTILE)))
    CODEQUALITY.validate(issues)
    for issue in issues:
        assert_no_control_characters(issue["description"], "description")


def test_github_annotations_point_at_each_uncovered_range() -> None:
    lines = render("github-annotations", verdict()).splitlines()
    title = "title=changed lines no test ran"
    assert lines == [
        "::error file=gatekeeper.yaml,title=quality gate new-lines-covered failed::"
        "changed-line coverage 50%25 < 80%25 (3 of 6 changed lines)",
        f"::warning file=src/app.py,line=6,endLine=7,{title}::lines 6-7 changed and run by no test"
        " (3 of 6 changed lines covered)",
        f"::warning file=src/app.py,line=12,endLine=12,{title}::line 12 changed and run by no test"
        " (3 of 6 changed lines covered)",
    ]


def test_github_annotations_stay_within_what_github_shows_and_count_the_rest() -> None:
    lines = render("github-annotations", verdict(files=6)).splitlines()
    warnings = [line for line in lines if line.startswith("::warning")]
    assert len(warnings) == 10  # GitHub shows at most 10 warnings of a step
    assert warnings[-1] == "::warning title=changed lines no test ran::3 more ranges: see the verdict"


def test_a_hostile_path_cannot_start_a_workflow_command_of_its_own() -> None:
    text = render("github-annotations", verdict(HOSTILE))
    for line in text.splitlines():
        assert line.startswith(("::error file=gatekeeper.yaml,", "::warning file=src/x")), line
    assert "file=src/x`` <img src=x onerror=alert(1)> [y](javascript%3Aalert(1)) |%2C%3A%250A%0A%3A%3Aerror" in text


@pytest.mark.parametrize("name", ["text", "json", "junit", "markdown", "gitlab-codequality", "github-annotations"])
def test_a_verdict_without_a_change_renders_as_before(name: str) -> None:
    outcome = decide(Evidence(coverage=Coverage.of([])), POLICY, Context(), TODAY)
    shown = build(outcome=outcome, policy=POLICY, context=Context(), inputs=[], duration_ms=1)
    text = render(name, shown)
    assert "uncovered" not in text and "Change" not in text


def test_text_gives_the_change_and_its_uncovered_lines_in_one_line_each() -> None:
    lines = render("text", verdict(HOSTILE)).splitlines()
    assert "  change from 0123456789ab (--diff-base origin/main): 1 file, 6 lines added, 1 removed" in lines
    shown = HOSTILE.replace("\n", "\\n")  # the newline shown escaped: the path stays one line
    assert lines[-2:] == ["  changed lines no test ran:", f"    {shown}: 6-7, 12"]
    assert_no_control_characters("\n".join(lines), "text")
