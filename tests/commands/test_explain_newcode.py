"""`explain` on a verdict that judged a change (issue 17): how many changed lines need a test to reach
the threshold, and which they are; what to give when there is no change to judge."""

from __future__ import annotations

import json
from datetime import date

from gatekeeper.change import Change, ChangedFile, FileStatus
from gatekeeper.commands.explain import explain, render_markdown, render_text
from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.model import Coverage, Evidence, FileCoverage, TestResults, line_mask
from gatekeeper.policy import Comparison, Gate, IfAbsent, Policy
from gatekeeper.verdict import Verdict, build, parse

POLICY = Policy(
    name="new-code",
    path="gatekeeper.yaml",
    gates=(
        Gate(id="new-lines-covered", condition=Comparison(metric="coverage.new_lines.percent", min=80)),
        Gate(id="no-new-failures", condition=Comparison(metric="tests.new_failures", max=0), if_absent=IfAbsent.SKIP),
    ),
)


def verdict(change: Change | None) -> Verdict:
    coverage = Coverage.of(
        [
            FileCoverage.from_lines("src/app.py", range(1, 21), range(1, 6), None),  # 1-5 covered
            FileCoverage.from_lines("src/new.py", range(1, 11), range(1, 9), None),  # 1-8 covered
        ]
    )
    evidence = Evidence(coverage=coverage, tests=TestResults(passed=3))
    outcome = decide(evidence, POLICY, Context(branch="feature"), date(2026, 3, 15), change=change)
    document = build(outcome=outcome, policy=POLICY, context=Context(branch="feature"), inputs=[], duration_ms=1)
    return parse(json.loads(json.dumps(document.to_json())), "verdict.json")


CHANGE = Change(
    source="--diff-base main",
    files={
        # changed 3-7 and 12: 3, 4, 5 covered; 6, 7, 12 not
        "src/app.py": ChangedFile(path="src/app.py", status=FileStatus.MODIFIED, added=line_mask([3, 4, 5, 6, 7, 12])),
        # all ten lines new: 1-8 covered; 9, 10 not
        "src/new.py": ChangedFile(path="src/new.py", status=FileStatus.ADDED, added=line_mask(range(1, 11))),
    },
)


def test_explain_names_the_changed_lines_to_cover_to_reach_the_threshold() -> None:
    # 11 of 16 changed lines covered (68.75%); 80% of 16 is 12.8: 13 covered lines, 2 more
    text = render_text(explain(verdict(CHANGE)))
    assert (
        "to pass: needs tests that run 2 more changed lines (or 11.2 more points), of the changed lines no test "
        "runs: src/app.py 6-7, 12; src/new.py 9-10"
    ) in text
    markdown = render_markdown(explain(verdict(CHANGE)))
    assert "src/app.py 6-7, 12; src/new.py 9-10" in markdown


def test_without_a_change_explain_says_how_to_give_one() -> None:
    text = render_text(explain(verdict(None)))
    assert "judge a change: `check --diff-base REF`" in text
    assert "record a verdict of this project" not in text  # no change: the baseline is not the first thing missing
