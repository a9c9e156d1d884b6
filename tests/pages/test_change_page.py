"""The verdict page shows the change a verdict judged (issue 17): its size, where it was measured from,
and per file the changed lines no test ran — read in real Chromium from a real `gatekeeper serve`, with
a hostile path that must stay text."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from gatekeeper.change import Change, ChangedFile, FileStatus
from gatekeeper.context import Context
from gatekeeper.engine import decide
from gatekeeper.model import Coverage, Evidence, FileCoverage, line_mask
from gatekeeper.policy import Comparison, Gate, IfAbsent, Policy
from gatekeeper.verdict import build
from tests.pages.conftest import Seeded, _put, screenshot, sign_in
from tests.pages.test_browser import check_structure, rows

HOSTILE = "src/<img src=x onerror=alert(1)>`x`.py"
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


def _verdict_with_a_change() -> dict[str, Any]:
    """app.py: statements 1-20, covered 1-5, changed 3-7 and 12; the hostile file: 1-2 changed, 1 covered;
    README.md: changed, not measured."""
    coverage = Coverage.of(
        [
            FileCoverage.from_lines("src/app.py", range(1, 21), range(1, 6), None),
            FileCoverage.from_lines(HOSTILE, [1, 2], [1], None),
        ]
    )
    files = {
        "src/app.py": ChangedFile(
            path="src/app.py",
            status=FileStatus.MODIFIED,
            added=line_mask([3, 4, 5, 6, 7, 12]),
            lines_added=6,
            lines_removed=2,
        ),
        HOSTILE: ChangedFile(
            path=HOSTILE, status=FileStatus.RENAMED, old_path="src/old.py", added=line_mask([1, 2]), lines_added=2
        ),
        "README.md": ChangedFile(path="README.md", status=FileStatus.ADDED, added=line_mask([1]), lines_added=1),
    }
    change = Change(source="--diff-base origin/main", base="ab" * 20, files=files)
    context = Context(project="bank/newcode", branch="feature/x", commit="c" * 40)
    outcome = decide(Evidence(coverage=coverage), POLICY, context, date(2026, 3, 15), change=change)
    document = build(outcome=outcome, policy=POLICY, context=context, inputs=[], duration_ms=1).to_json()
    return json.loads(json.dumps(document))


def test_the_verdict_page_shows_the_change_and_its_uncovered_lines(page: Any, seeded: Seeded) -> None:
    verdict = _verdict_with_a_change()
    _put(seeded.server, seeded.upload_token, verdict)
    sign_in(page, seeded, f"/verdicts/{verdict['id']}")
    summary = page.locator("#change-summary").inner_text()
    assert summary == (
        f"3 changed files, 9 lines added, 2 removed, measured from {'ab' * 6} (--diff-base origin/main);"
        " changed lines covered: 4 of 8"
    )
    assert rows(page, "change") == [
        [f"{HOSTILE}\nfrom src/old.py", "renamed", "2", "0", "1 of 2", "2"],  # uncovered first, by path
        ["src/app.py", "modified", "6", "2", "3 of 6", "6-7, 12"],
        ["README.md", "added", "1", "0", "—", "—"],
    ]
    assert page.locator("#change img").count() == 0  # the path is text, not an element
    check_structure(page)
    screenshot(page, "verdict-change")
