"""Reader of gatekeeper.verdict/v1 gate records: their conditions read back from the messages.

A v1 gate records its result (metric, operator, threshold, actual, message) but not the condition the
policy stated; gatekeeper.verdict/v2 records it as data.  To explain a v1 verdict without its policy
file, the condition is read back from the message, whose wording is that of the release that wrote v1
(frozen: the engine's messages may change, this reader does not).  The labels below are v1's, copied,
not today's engine labels.  Nothing here is used for a v2 verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gatekeeper.policy import Comparison, Condition, Group, GroupOperator, Operator, Ratchet

#: How v1 messages name each metric (engine.LABELS as of gatekeeper.verdict/v1, frozen).
V1_LABELS: dict[str, str] = {
    "tests.total": "tests",
    "tests.passed": "passed tests",
    "tests.failed": "failed tests",
    "tests.errors": "errored tests",
    "tests.skipped": "skipped tests",
    "tests.flaky": "flaky tests",
    "tests.pass_percent": "test pass rate",
    "tests.duration_seconds": "test duration",
    "coverage.lines.covered": "covered lines",
    "coverage.lines.total": "lines",
    "coverage.lines.percent": "line coverage",
    "coverage.branches.covered": "covered branches",
    "coverage.branches.total": "branches",
    "coverage.branches.percent": "branch coverage",
    "findings.total": "findings",
    "findings.critical": "critical findings",
    "findings.high": "high findings",
    "findings.medium": "medium findings",
    "findings.low": "low findings",
    "findings.info": "info findings",
    "findings.waived": "waived findings",
    "pipeline.duration_seconds": "pipeline feedback time",
}

_NUMBER = r"-?[\d,]*\.?\d+(?:e[+-]?\d+)?"
_COMPARISON = re.compile(
    rf"^(?P<label>.+?) (?P<actual>{_NUMBER})(?:%|s)? (?P<symbol>[<>≥≤=≠]) (?P<threshold>{_NUMBER})"
)
_BETWEEN = re.compile(rf"^(?P<label>.+?) \S+ between (?P<low>{_NUMBER})(?:%|s)? and (?P<high>{_NUMBER})")
_RATCHET = re.compile(
    rf"^(?P<label>.+?) \S+ vs (?P<before>{_NUMBER})(?:%|s)? in the baseline: .*\(may (?P<way>fall|rise) at most "
    rf"(?P<allowed>{_NUMBER})"
)
_ABSENT = re.compile(r"(?:^|: )no (?:report|pipeline start time) gives (?P<names>[a-z_.]+(?:, [a-z_.]+)*)")
_BRANCHES = re.compile(r"^not applied on branch .*\(when branch: (.*)\)$")


def _label(metric: str) -> str:
    return V1_LABELS.get(metric, metric)


def branches(message: str) -> tuple[str, ...]:
    """The branch patterns of a gate v1 recorded as not applied on its branch."""
    match = _BRANCHES.search(message)
    return tuple(part.strip() for part in match[1].split(", ")) if match else ()


def _comparison(metric: str, key: str, value: float) -> Comparison | Ratchet:
    """One comparison, its threshold under `key` (min, max, equals, max_decrease or max_increase)."""
    if key == "max_decrease":
        return Ratchet(metric=metric, operator=Operator.MAX_DECREASE, allowed=value)
    if key == "max_increase":
        return Ratchet(metric=metric, operator=Operator.MAX_INCREASE, allowed=value)
    return Comparison(
        metric=metric,
        min=value if key == "min" else None,
        max=value if key == "max" else None,
        equals=value if key == "equals" else None,
    )


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def condition(
    metric: str, operator: Operator | None, threshold: float | None, message: str, baselines: dict[str, float | None]
) -> Condition | None:
    """A v1 gate's condition, as far as its record tells; each ratchet's baseline value goes to `baselines`.

    None when the record does not tell (a gate not applied on its branch, a message of another form).
    """
    if operator is None:
        return None
    if operator in (Operator.AT_LEAST, Operator.AT_MOST, Operator.EQUALS) and threshold is not None:
        key = {Operator.AT_LEAST: "min", Operator.AT_MOST: "max", Operator.EQUALS: "equals"}[operator]
        return _comparison(metric, key, threshold)
    if operator in (Operator.MAX_DECREASE, Operator.MAX_INCREASE) and threshold is not None:
        return _comparison(metric, operator.value, threshold)  # its baseline value is the record's own
    if operator in (Operator.BETWEEN, Operator.ALL, Operator.ANY):
        names = re.findall(r"[a-z_]+(?:\.[a-z_]+)+", metric)
        leaves = [leaf for fact in message.split(" and ") for leaf in _facts(fact, names, baselines)]
        if not leaves:
            return None
        if operator is Operator.BETWEEN:
            bounds = [leaf for leaf in leaves if isinstance(leaf, Comparison)]
            low = next((leaf.min for leaf in bounds if leaf.min is not None), None)
            high = next((leaf.max for leaf in bounds if leaf.max is not None), None)
            return Comparison(metric=metric, min=low, max=high) if (low, high) != (None, None) else None
        group: GroupOperator = Operator.ALL if operator is Operator.ALL else Operator.ANY
        return Group(operator=group, conditions=tuple(leaves))
    return None


def _facts(text: str, names: Sequence[str], baselines: dict[str, float | None]) -> list[Comparison | Ratchet]:
    """Conditions read back from one fact of a v1 message ("high findings 3 > 0")."""
    text = re.sub(r" \(if_absent: \w+\)$", "", text)
    by_label = {_label(name): name for name in names}
    absent = _ABSENT.search(text)
    if absent:
        return [Comparison(metric=name, min=0) for name in absent["names"].split(", ") if name in names]
    ratchet = _RATCHET.match(text)
    if ratchet and ratchet["label"] in by_label:
        metric = by_label[ratchet["label"]]
        baselines.setdefault(metric, _number(ratchet["before"]))
        key = "max_decrease" if ratchet["way"] == "fall" else "max_increase"
        return [_comparison(metric, key, _number(ratchet["allowed"]))]
    between = _BETWEEN.match(text)
    if between and between["label"] in by_label:
        low, high = _number(between["low"]), _number(between["high"])
        return [Comparison(metric=by_label[between["label"]], min=low, max=high)]
    comparison = _COMPARISON.match(text)
    if comparison and comparison["label"] in by_label:
        key = {"<": "min", "≥": "min", ">": "max", "≤": "max", "=": "equals", "≠": "equals"}[comparison["symbol"]]
        return [_comparison(by_label[comparison["label"]], key, _number(comparison["threshold"]))]
    return []
