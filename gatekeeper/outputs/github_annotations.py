"""GitHub Actions annotations: workflow commands (`::error file=…,line=…::message`) a step prints, which
GitHub shows on the run and, with a file and lines, in the pull request's diff.

One error per failed gate and one warning per warned gate (at the policy file), one error when the gate
could not decide, and a warning on each range of changed lines no test ran, at those lines.  GitHub keeps
at most 10 warnings of a step, so the ranges listed are the verdict's first (files with uncovered lines
come first) and a last annotation counts the rest.  Every value is escaped as the runner requires
(escape.gh_data, escape.gh_property): a path or message cannot end one command and start another.
"""

from __future__ import annotations

from gatekeeper.model import Decision, GateStatus
from gatekeeper.outputs.escape import gh_data, gh_property
from gatekeeper.verdict import Verdict
from gatekeeper.words import plural

#: Warnings GitHub shows per step (https://docs.github.com/actions: annotations are limited to 10
#: warnings and 10 errors per step); ranges of uncovered lines past these are counted in one more.
_RANGES_SHOWN = 9


def render(verdict: Verdict, *, color: bool = False) -> str:
    lines = []
    policy = verdict.policy.path or ""
    where = f"file={gh_property(policy)}," if policy else ""
    if verdict.status is Decision.ERROR:
        lines.append(f"::error title={gh_property('gatekeeper could not decide')}::{gh_data(verdict.reason)}")
    for gate in verdict.gates:
        if gate.status not in (GateStatus.FAIL, GateStatus.WARN):
            continue
        level, verb = ("error", "failed") if gate.status is GateStatus.FAIL else ("warning", "warns")
        title = gh_property(f"quality gate {gate.id} {verb}")
        criterion = f" (criterion: {gate.criterion})" if gate.criterion else ""
        lines.append(f"::{level} {where}title={title}::{gh_data(gate.message + criterion)}")
    lines += _uncovered(verdict)
    return "".join(line + "\n" for line in lines)


def _uncovered(verdict: Verdict) -> list[str]:
    if verdict.change is None:
        return []
    title = gh_property("changed lines no test ran")
    found = []
    for record in verdict.change.files:
        if record.new_lines is None:  # not measured: nothing uncovered to point at
            continue
        covered, total = record.new_lines
        for first, last in record.uncovered:
            spot = f"file={gh_property(record.path)},line={first},endLine={last}"
            which = f"line {first}" if first == last else f"lines {first}-{last}"
            message = f"{which} changed and run by no test ({covered:,} of {plural(total, 'changed line')} covered)"
            found.append(f"::warning {spot},title={title}::{gh_data(message)}")
    lines = found[:_RANGES_SHOWN]
    left = len(found) - len(lines)
    more = sum(record.uncovered_omitted for record in verdict.change.files)
    if left or more:
        counted = plural(left, "more range") + (f" and {plural(more, 'line')} not listed" if more else "")
        lines.append(f"::warning title={title}::{gh_data(counted + ': see the verdict')}")
    return lines
