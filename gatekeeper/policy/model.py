"""The policy as data: gates, their conditions, waivers, and the effective policy a verdict records.

A condition is exactly one of three things, so code that reads one dispatches on its type and the type
says which fields exist: a `Comparison` with fixed bounds, a `Ratchet` against the baseline verdict, or
a `Group` of conditions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Literal, NoReturn

POLICY_FORMAT = 1
#: The `flaky:` section's defaults (gatekeeper.flaky), Harness's rule: failed and passed on one commit
#: within 14 days; cleared after 5 passes in a row.
WINDOW_DAYS = 14
CLEAR_AFTER = 5
#: The keys that give a comparison its threshold; the last two are ratchets against a baseline.
THRESHOLD_KEYS = ("min", "max", "equals", "max_decrease", "max_increase")
#: Every key of a gate that belongs to its condition.
CONDITION_KEYS = ("metric", *THRESHOLD_KEYS, "all", "any")


class GateSeverity(str, Enum):
    BLOCK = "block"
    WARN = "warn"


class IfAbsent(str, Enum):
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


class Operator(str, Enum):
    """How a gate compares, as a verdict records it (`gates[].operator`)."""

    AT_LEAST = ">="
    AT_MOST = "<="
    EQUALS = "=="
    BETWEEN = "between"
    MAX_DECREASE = "max_decrease"
    MAX_INCREASE = "max_increase"
    ALL = "all"
    ANY = "any"


GroupOperator = Literal[Operator.ALL, Operator.ANY]
RatchetOperator = Literal[Operator.MAX_DECREASE, Operator.MAX_INCREASE]


def assert_never(value: NoReturn) -> NoReturn:
    """The end of an exhaustive dispatch on a closed set (typing.assert_never is Python 3.11+)."""
    raise AssertionError(f"unhandled value: {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """A metric against fixed bounds: at least `min`, at most `max` (both: a range), or exactly `equals`."""

    metric: str
    min: float | None = None
    max: float | None = None
    equals: float | None = None

    def __post_init__(self) -> None:
        if self.equals is None and self.min is None and self.max is None:
            raise ValueError(f"a comparison of {self.metric} needs min, max or equals")
        if self.equals is not None and (self.min is not None or self.max is not None):
            raise ValueError("equals cannot be combined with min or max")

    @property
    def operator(self) -> Operator:
        if self.equals is not None:
            return Operator.EQUALS
        if self.min is not None and self.max is not None:
            return Operator.BETWEEN
        return Operator.AT_LEAST if self.min is not None else Operator.AT_MOST

    @property
    def threshold(self) -> float:
        """What a verdict records as the threshold: `equals`, else `min` (a range's lower bound), else `max`."""
        for value in (self.equals, self.min, self.max):
            if value is not None:
                return value
        raise AssertionError("unreachable: __post_init__ requires a bound")

    def metrics(self) -> Iterator[str]:
        yield self.metric

    def walk(self) -> Iterator[Condition]:
        yield self


@dataclass(frozen=True, slots=True, kw_only=True)
class Ratchet:
    """A metric against its own value in the baseline verdict: it may fall (or rise) at most `allowed`."""

    metric: str
    operator: RatchetOperator
    allowed: float

    @property
    def decrease(self) -> bool:
        return self.operator is Operator.MAX_DECREASE

    def metrics(self) -> Iterator[str]:
        yield self.metric

    def walk(self) -> Iterator[Condition]:
        yield self


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """`all:` (every condition holds) or `any:` (at least one does); groups nest."""

    operator: GroupOperator
    conditions: tuple[Condition, ...]

    def metrics(self) -> Iterator[str]:
        for child in self.conditions:
            yield from child.metrics()

    def walk(self) -> Iterator[Condition]:
        """This group and every condition nested in it."""
        yield self
        for child in self.conditions:
            yield from child.walk()


Condition = Comparison | Ratchet | Group


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate:
    id: str
    condition: Condition
    criterion: str = ""
    description: str = ""
    severity: GateSeverity = GateSeverity.BLOCK
    if_absent: IfAbsent = IfAbsent.FAIL
    branches: tuple[str, ...] = ()
    locked: bool = False  # policies that extend this one may not override or switch it off
    #: A new-code gate: below this many changed coverable lines (coverage.new_lines.total) it does not judge.
    min_new_lines: int | None = None
    file: str = ""  # where the gate is (last) defined, a bundled pack by its name, and the line: for messages
    line: int = 0
    #: (key, file:line of the gate entry that states it) for each key stated, in document order: an
    #: override by id changes only the keys it states, and `rules show` says where each one came from.
    origins: tuple[tuple[str, str], ...] = ()

    @property
    def source(self) -> str:
        """`file:line` of the gate's definition (`caict-cd/level-3:56` for a pack's)."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    reason: str
    tool: str | None = None
    rule: str | None = None
    path: str | None = None
    fingerprint: str | None = None
    owner: str = ""
    expires: date | None = None
    source: str = ""

    def describe(self) -> str:
        parts = [f"{key}={value}" for key, value in self.match().items()]
        return " ".join(parts)

    def match(self) -> dict[str, str]:
        fields = {"tool": self.tool, "rule": self.rule, "path": self.path, "fingerprint": self.fingerprint}
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantine:
    """A known-flaky test whose failure does not block until `expires`: counted, listed, owned.

    `test` is a glob over the test's id, `classname.name` as its JUnit report writes them (just `name`
    when the case has no classname): `*` stands for any characters (dots included), `?` for one; every
    other character, `[` and `]` of parametrised names included, stands for itself.
    """

    test: str
    reason: str
    owner: str
    expires: date
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    name: str
    path: str
    model: str | None = None
    level: int | None = None
    gates: tuple[Gate, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    quarantine: tuple[Quarantine, ...] = ()
    #: Flaky in the store's history: failed and passed on one commit within this many days, until it
    #: has passed `flaky_clear_after` times in a row since (gatekeeper.flaky).
    flaky_window_days: int = WINDOW_DAYS
    flaky_clear_after: int = CLEAR_AFTER
    reports: tuple[str, ...] = ()
    baseline_branch: str = "main"  # where ratchets find their baseline in the store
    #: The requirement-key pattern of the trace metrics (gatekeeper.trace); None: DEFAULT_KEY_PATTERN.
    trace_key_pattern: str | None = None
    #: this file, then the files it extends (a bundled pack by its name, e.g. caict-cd/level-2)
    chain: tuple[str, ...] = field(default=())

    @property
    def has_ratchets(self) -> bool:
        """Whether any gate compares with a baseline verdict."""
        return any(isinstance(c, Ratchet) for g in self.gates for c in g.condition.walk())

    @property
    def digest(self) -> str:
        """sha256 of the effective policy's content: equal policies, equal digests, whatever the files."""
        return "sha256:" + hashlib.sha256(canonical_json(self.as_document()).encode()).hexdigest()

    def as_document(self) -> dict[str, Any]:
        """The effective policy as a policy document (what `rules show` prints)."""
        document: dict[str, Any] = {"policy": self.name, "format": POLICY_FORMAT}
        if self.model is not None:
            document["model"] = self.model
        if self.level is not None:
            document["level"] = self.level
        if self.reports:
            document["reports"] = list(self.reports)
        if self.baseline_branch != "main":
            document["baseline"] = {"branch": self.baseline_branch}
        document["gates"] = [gate_document(gate) for gate in self.gates]
        if self.waivers:
            document["waivers"] = [_waiver_document(waiver) for waiver in self.waivers]
        if self.quarantine:
            document["quarantine"] = [_quarantine_document(entry) for entry in self.quarantine]
        if self.trace_key_pattern is not None:
            document["trace"] = {"key_pattern": self.trace_key_pattern}
        if (self.flaky_window_days, self.flaky_clear_after) != (WINDOW_DAYS, CLEAR_AFTER):
            document["flaky"] = {"window_days": self.flaky_window_days, "clear_after": self.flaky_clear_after}
        return document


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def condition_document(condition: Condition) -> dict[str, Any]:
    """A condition as the policy keys that state it."""
    if isinstance(condition, Group):
        return {condition.operator.value: [condition_document(c) for c in condition.conditions]}
    if isinstance(condition, Ratchet):
        return {"metric": condition.metric, condition.operator.value: condition.allowed}
    if isinstance(condition, Comparison):
        bounds = {"min": condition.min, "max": condition.max, "equals": condition.equals}
        return {"metric": condition.metric, **{key: value for key, value in bounds.items() if value is not None}}
    assert_never(condition)


def gate_document(gate: Gate) -> dict[str, Any]:
    """A gate as policy keys, defaults written out (`severity`, `if_absent`): the effective gate."""
    document: dict[str, Any] = {"id": gate.id}
    if gate.criterion:
        document["criterion"] = gate.criterion
    if gate.description:
        document["description"] = gate.description
    document.update(condition_document(gate.condition))
    document["severity"] = gate.severity.value
    document["if_absent"] = gate.if_absent.value
    if gate.branches:
        document["when"] = {"branch": list(gate.branches)}
    if gate.locked:
        document["locked"] = True
    if gate.min_new_lines is not None:
        document["min_new_lines"] = gate.min_new_lines
    return document


def _waiver_document(waiver: Waiver) -> dict[str, Any]:
    document: dict[str, Any] = {"match": waiver.match(), "reason": waiver.reason}
    if waiver.owner:
        document["owner"] = waiver.owner
    if waiver.expires is not None:
        document["expires"] = waiver.expires.isoformat()
    return document


def _quarantine_document(entry: Quarantine) -> dict[str, Any]:
    return {"test": entry.test, "reason": entry.reason, "owner": entry.owner, "expires": entry.expires.isoformat()}
