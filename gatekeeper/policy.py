"""Policies: YAML gate rules, loaded with line numbers, resolved through `extends`, validated.

Every problem is reported as `file:line:column: what is wrong`, all of them at once, so a team fixes
its policy in one go.  The effective policy (after `extends`) carries a digest that verdicts record.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from gatekeeper.errors import PolicyError

POLICY_FORMAT = 1
_RESOURCES = Path(__file__).resolve().parent


class GateSeverity(str, Enum):
    BLOCK = "block"
    WARN = "warn"


class IfAbsent(str, Enum):
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """A metric compared with a threshold, or an `all:`/`any:` group of conditions."""

    metric: str | None = None
    min: float | None = None
    max: float | None = None
    equals: float | None = None
    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()

    def metrics(self) -> Iterator[str]:
        """Every metric name this condition reads."""
        if self.metric is not None:
            yield self.metric
        for child in (*self.all, *self.any):
            yield from child.metrics()


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate:
    id: str
    condition: Condition
    criterion: str = ""
    description: str = ""
    severity: GateSeverity = GateSeverity.BLOCK
    if_absent: IfAbsent = IfAbsent.FAIL
    branches: tuple[str, ...] = ()
    source: str = ""  # file:line where the gate is defined, for messages


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
class Policy:
    name: str
    path: str
    model: str | None = None
    level: int | None = None
    gates: tuple[Gate, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    reports: tuple[str, ...] = ()
    chain: tuple[str, ...] = field(default=())  # this file, then the files it extends

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
        document["gates"] = [_gate_document(gate) for gate in self.gates]
        if self.waivers:
            document["waivers"] = [_waiver_document(waiver) for waiver in self.waivers]
        return document


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _condition_document(condition: Condition) -> dict[str, Any]:
    if condition.all:
        return {"all": [_condition_document(c) for c in condition.all]}
    if condition.any:
        return {"any": [_condition_document(c) for c in condition.any]}
    document: dict[str, Any] = {"metric": condition.metric}
    for key in ("min", "max", "equals"):
        value = getattr(condition, key)
        if value is not None:
            document[key] = value
    return document


def _gate_document(gate: Gate) -> dict[str, Any]:
    document: dict[str, Any] = {"id": gate.id}
    if gate.criterion:
        document["criterion"] = gate.criterion
    if gate.description:
        document["description"] = gate.description
    document.update(_condition_document(gate.condition))
    document["severity"] = gate.severity.value
    document["if_absent"] = gate.if_absent.value
    if gate.branches:
        document["when"] = {"branch": list(gate.branches)}
    return document


def _waiver_document(waiver: Waiver) -> dict[str, Any]:
    document: dict[str, Any] = {"match": waiver.match(), "reason": waiver.reason}
    if waiver.owner:
        document["owner"] = waiver.owner
    if waiver.expires is not None:
        document["expires"] = waiver.expires.isoformat()
    return document


# --- reading YAML with positions -------------------------------------------------------------------

Location = tuple[int, int]  # 1-based line, column
JsonPath = tuple[str | int, ...]


@dataclass(slots=True)
class _Located:
    """A YAML document as plain data, plus where each value (and each mapping key) was written."""

    data: Any
    values: dict[JsonPath, Location]
    keys: dict[JsonPath, Location]

    def where(self, path: JsonPath, key: str | None = None) -> Location:
        if key is not None and (*path, key) in self.keys:
            return self.keys[(*path, key)]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))


def _read_yaml(path: Path) -> _Located:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError([f"{path}: no such policy file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([f"{path}: cannot read policy: {error}"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1:1"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise PolicyError([f"{path}:{where}: invalid YAML: {problem}"]) from None
    located = _Located(data=None, values={}, keys={})
    if node is None:
        raise PolicyError([f"{path}:1:1: the policy file is empty"])
    located.data = _to_python(node, (), located, yaml.SafeLoader(""))
    return located


def _to_python(node: Any, path: JsonPath, located: _Located, loader: Any) -> Any:
    """Plain data from a YAML node tree, recording the position of every value and key."""
    import yaml

    located.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            located.keys[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _to_python(value_node, (*path, key), located, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, index), located, loader) for index, item in enumerate(node.value)]
    try:
        value = loader.construct_object(node)
    except (ValueError, yaml.constructor.ConstructorError):
        return node.value  # e.g. the impossible date 2027-13-30: the schema reports it, with its line
    if isinstance(value, date):
        return value.isoformat()  # dates stay strings: the schema checks their form
    return value


# --- loading, validating, extending ----------------------------------------------------------------


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resource_path("schemas", "policy.schema.json").read_text())
    return schema


def resource_path(kind: str, *parts: str) -> Path:
    """A bundled file (schemas/, rules/): beside the package in a checkout, inside it when installed."""
    for base in (_RESOURCES / kind, _RESOURCES.parent / kind):
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    return _RESOURCES.joinpath(kind, *parts)


def bundled_pack(name: str) -> Path | None:
    """`caict-cd/level-3` -> the bundled rules/caict-cd/level-3.yaml, if there is one."""
    relative = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    candidate = resource_path("rules", *relative.split("/"))
    return candidate if candidate.exists() else None


def load_policy(path: str | Path) -> Policy:
    """Load a policy file and everything it extends; raise PolicyError listing every problem."""
    return _load(Path(path), ())


def _load(path: Path, seen: tuple[str, ...]) -> Policy:
    key = str(path.resolve())
    if key in seen:
        cycle = " -> ".join([*seen, key])
        raise PolicyError([f"{path}: extends itself in a cycle ({cycle})"])
    located = _read_yaml(path)
    problems = _validate(path, located)
    if problems:
        raise PolicyError(problems)
    document = located.data
    parents: list[Policy] = []
    extends = document.get("extends", [])
    for index, target in enumerate([extends] if isinstance(extends, str) else extends):
        where = located.where(("extends",) if isinstance(extends, str) else ("extends", index))
        parent_path = _resolve_extends(path, target, where)
        parents.append(_load(parent_path, (*seen, key)))
    own, disabled = _build(path, located)
    return _inherit(own, disabled, parents, located)


def _resolve_extends(path: Path, target: str, where: Location) -> Path:
    relative = (path.parent / target).resolve()
    if relative.exists():
        return relative
    bundled = bundled_pack(target)
    if bundled is not None:
        return bundled
    raise PolicyError(
        [f"{path}:{where[0]}:{where[1]}: extends '{target}': no such file and no bundled pack of that name"]
    )


def _validate(path: Path, located: _Located) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems: list[tuple[Location, str]] = []
    for error in validator.iter_errors(located.data):
        error_path = tuple(error.absolute_path)
        key = _unexpected_key(error.message)
        if key in _GATE_KEYS and error.validator == "unevaluatedProperties":
            continue  # a known key, reported as unexpected only because its gate has another error
        line, column = located.where(error_path, key)
        problems.append(((line, column), _explain(error, key)))
    if isinstance(located.data, dict):
        problems.extend(_semantic_problems(located))
    return [f"{path}:{line}:{column}: {message}" for (line, column), message in sorted(problems)]


_GATE_KEYS = frozenset(
    {"id", "criterion", "description", "severity", "if_absent", "when", "enabled",
     "metric", "min", "max", "equals", "all", "any"}
)


def _unexpected_key(message: str) -> str | None:
    if "was unexpected" in message or "were unexpected" in message:
        start = message.find("'")
        end = message.find("'", start + 1)
        if start >= 0 and end > start:
            return message[start + 1 : end]
    return None


def _explain(error: Any, key: str | None) -> str:
    """jsonschema's messages, rewritten where they would confuse a policy author."""
    where = ".".join(str(p) for p in error.absolute_path) or "policy"
    if key is not None:
        return f"{where}: unknown key '{key}'"
    if error.validator == "oneOf" and "metric" in error.schema.get("properties", {}):
        return (
            f"{where}: a gate needs 'metric' with 'min', 'max' or 'equals' (not 'equals' with 'min'/'max'), "
            "or one 'all:'/'any:' group"
        )
    if error.validator == "not" and "dependentSchemas" in error.schema_path:
        return f"{where}: 'equals' cannot be combined with 'min' or 'max'"
    if error.validator == "required":
        return f"{where}: {error.message.replace(' is a required property', ' is required')}"
    if error.validator == "format" and error.validator_value == "date":
        return f"{where}: {error.instance!r} is not a date (YYYY-MM-DD)"
    return f"{where}: {error.message}"


def _semantic_problems(located: _Located) -> list[tuple[Location, str]]:
    """What the schema cannot say: unknown metrics, duplicate ids, impossible thresholds."""
    from gatekeeper.metrics import METRIC_NAMES

    problems: list[tuple[Location, str]] = []
    seen: dict[str, int] = {}
    gates = located.data.get("gates")
    for index, gate in enumerate(gates if isinstance(gates, list) else []):
        if not isinstance(gate, dict):
            continue
        gate_id = gate.get("id")
        if gate_id in seen:
            problems.append(
                (located.where(("gates", index, "id")), f"gates.{index}: duplicate gate id '{gate_id}'")
            )
        seen[gate_id] = index
        for condition_path, condition in _conditions(gate, ("gates", index)):
            metric = condition.get("metric")
            if not isinstance(metric, str):
                continue
            if metric not in METRIC_NAMES:
                close = difflib.get_close_matches(metric, METRIC_NAMES, n=1)
                hint = f" (did you mean {close[0]}?)" if close else " (see `gatekeeper metrics` for the names)"
                problems.append(
                    (located.where((*condition_path, "metric")), f"unknown metric '{metric}'{hint}")
                )
            low, high = condition.get("min"), condition.get("max")
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
                problems.append((located.where((*condition_path, "min")), f"min {low} is above max {high}"))
            if metric is not None and metric.endswith("percent"):
                for bound in ("min", "max", "equals"):
                    value = condition.get(bound)
                    if isinstance(value, (int, float)) and not 0 <= value <= 100:
                        problems.append(
                            (
                                located.where((*condition_path, bound)),
                                f"{bound} {value} is outside 0-100 for the percentage {metric}",
                            )
                        )
    return problems


def _conditions(condition: dict[str, Any], path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    yield path, condition
    for group in ("all", "any"):
        children = condition.get(group)
        for index, child in enumerate(children if isinstance(children, list) else []):
            if isinstance(child, dict):
                yield from _conditions(child, (*path, group, index))


def _build_condition(document: dict[str, Any]) -> Condition:
    def number(key: str) -> float | None:
        value = document.get(key)
        return None if value is None else float(value)

    return Condition(
        metric=document.get("metric"),
        min=number("min"),
        max=number("max"),
        equals=number("equals"),
        all=tuple(_build_condition(c) for c in document.get("all", [])),
        any=tuple(_build_condition(c) for c in document.get("any", [])),
    )


def _build(path: Path, located: _Located) -> tuple[Policy, set[str]]:
    """This file's own policy, and the ids of inherited gates it switches off."""
    document = located.data
    gates = []
    for index, gate in enumerate(document.get("gates", [])):
        line = located.where(("gates", index))[0]
        branches = gate.get("when", {}).get("branch", ())
        gates.append(
            (
                gate.get("enabled", True),
                Gate(
                    id=gate["id"],
                    condition=_build_condition(gate),
                    criterion=gate.get("criterion", ""),
                    description=gate.get("description", ""),
                    severity=GateSeverity(gate.get("severity", "block")),
                    if_absent=IfAbsent(gate.get("if_absent", "fail")),
                    branches=(branches,) if isinstance(branches, str) else tuple(branches),
                    source=f"{path}:{line}",
                ),
            )
        )
    waivers = []
    for index, waiver in enumerate(document.get("waivers", [])):
        match = waiver["match"]
        expires = waiver.get("expires")
        waivers.append(
            Waiver(
                reason=waiver["reason"],
                tool=match.get("tool"),
                rule=match.get("rule"),
                path=match.get("path"),
                fingerprint=match.get("fingerprint"),
                owner=waiver.get("owner", ""),
                expires=date.fromisoformat(expires) if expires else None,
                source=f"{path}:{located.where(('waivers', index))[0]}",
            )
        )
    policy = Policy(
        name=document["policy"],
        path=str(path),
        model=document.get("model"),
        level=document.get("level"),
        gates=tuple(gate for enabled, gate in gates if enabled),
        waivers=tuple(waivers),
        reports=tuple(document.get("reports", ())),
        chain=(str(path),),
    )
    return policy, {gate.id for enabled, gate in gates if not enabled}


def _inherit(own: Policy, disabled: set[str], parents: list[Policy], located: _Located) -> Policy:
    """Parents' gates in their order, overridden by id; own new gates appended; waivers added up."""
    if not parents:
        return own
    gates: dict[str, Gate] = {}
    waivers: list[Waiver] = []
    chain: list[str] = [own.path]
    for parent in parents:
        for gate in parent.gates:
            gates[gate.id] = gate
        waivers.extend(parent.waivers)
        chain.extend(parent.chain)
    for gate in own.gates:
        gates[gate.id] = gate
    for gate_id in disabled:
        gates.pop(gate_id, None)
    first = parents[0]
    return Policy(
        name=own.name,
        path=own.path,
        model=own.model if "model" in located.data else first.model,
        level=own.level if "level" in located.data else first.level,
        gates=tuple(gates.values()),
        waivers=(*waivers, *own.waivers),
        reports=own.reports or first.reports,
        chain=tuple(chain),
    )
