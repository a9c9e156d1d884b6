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
from typing import Any, TypeGuard

from gatekeeper.errors import PolicyError

POLICY_FORMAT = 1
#: The keys that give a comparison its threshold; the last two are ratchets against a baseline.
THRESHOLD_KEYS = ("min", "max", "equals", "max_decrease", "max_increase")
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
    max_decrease: float | None = None  # a ratchet against the baseline verdict's value
    max_increase: float | None = None
    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()

    def walk(self) -> Iterator[Condition]:
        """This condition and every condition nested in its groups."""
        yield self
        for child in (*self.all, *self.any):
            yield from child.walk()

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
    locked: bool = False  # policies that extend this one may not override or switch it off
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
    baseline_branch: str = "main"  # where ratchets find their baseline in the store
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
        if self.baseline_branch != "main":
            document["baseline"] = {"branch": self.baseline_branch}
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
    for key in THRESHOLD_KEYS:
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
    if gate.locked:
        document["locked"] = True
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
#: Guards against YAML aliases that expand exponentially ("billion laughs") or refer to themselves.
_MAX_NODES = 20_000  # a large real policy has a few thousand
_MAX_DEPTH = 64


@dataclass(slots=True)
class _Located:
    """A YAML document as plain data, plus where each value (and each mapping key) was written."""

    data: Any
    values: dict[JsonPath, Location]
    keys: dict[JsonPath, Location]
    problems: list[tuple[Location, str]] = field(default_factory=list)
    nodes: int = 0

    def where(self, path: JsonPath, key: str | None = None) -> Location:
        if key is not None:
            at = (*path, key)  # (mypy reads a starred tuple inside [] as 3.11-only syntax)
            if at in self.keys:
                return self.keys[at]
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
    try:
        located.data = _to_python(node, (), located, yaml.SafeLoader(""))
    except _TooLarge as error:
        raise PolicyError([f"{path}:{error.where[0]}:{error.where[1]}: {error.problem}"]) from None
    return located


class _TooLarge(Exception):
    def __init__(self, where: Location, problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


def _to_python(node: Any, path: JsonPath, located: _Located, loader: Any) -> Any:
    """Plain data from a YAML node tree, recording the position of every value and key."""
    import yaml

    where = (node.start_mark.line + 1, node.start_mark.column + 1)
    located.values[path] = where
    located.nodes += 1
    if located.nodes > _MAX_NODES or len(path) > _MAX_DEPTH:
        # Named at the top-level key whose value grew too large: that is where to look.
        at = located.keys.get(path[:1], where)
        raise _TooLarge(at, "the policy is too large or too deeply nested (are YAML aliases expanding?)")
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            at = (*path, key)
            if key in result:
                # YAML would silently keep the last one: a second `min:` or `gates:` hides the first.
                first = located.keys[at]
                located.problems.append(
                    (key_where, f"{_label(path)}key '{key}' is given twice (first on line {first[0]})")
                )
            located.keys[at] = key_where
            result[key] = _to_python(value_node, at, located, loader)
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


def _label(path: JsonPath) -> str:
    """`gates.3.min: ` before a message about that place in the document; nothing at the top level."""
    return "".join(f"{part}." for part in path)[:-1] + ": " if path else ""


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
    return candidate if candidate.is_file() else None


def load_policy(path: str | Path) -> Policy:
    """Load a policy file and everything it extends; raise PolicyError listing every problem."""
    return _load(Path(path), ())


def _load(path: Path, seen: tuple[Path, ...]) -> Policy:
    """One file, validated whole, then its parents; `seen` is the chain of files that led here."""
    located = _read_yaml(path)
    problems = _validate(path, located)
    if problems:
        raise PolicyError(problems)
    document = located.data
    chain = (*seen, path)
    parents: list[Policy] = []
    extends = document.get("extends", [])
    single = not isinstance(extends, list)
    for index, target in enumerate([extends] if single else extends):
        line, column = located.where(("extends",) if single else ("extends", index))
        parent_path = _resolve_extends(path, target, (line, column))
        label = target if isinstance(target, str) else target["url"]
        if any(parent_path.resolve() == earlier.resolve() for earlier in chain):
            cycle = " -> ".join(str(p) for p in (*chain, parent_path))
            raise PolicyError([f"{path}:{line}:{column}: extends '{label}' makes a cycle: {cycle}"])
        parents.append(_load(parent_path, chain))
    own, disabled = _build(path, located)
    return _inherit(own, disabled, parents, located)


def _resolve_extends(path: Path, target: str | dict[str, str], where: Location) -> Path:
    """A parent policy: a pinned URL (fetched once), a path beside this file, or a bundled pack."""
    if isinstance(target, dict):
        from gatekeeper.remote import fetch_pinned

        try:
            return fetch_pinned(target["url"], target["sha256"])
        except PolicyError as error:
            raise PolicyError([f"{path}:{where[0]}:{where[1]}: {problem}" for problem in error.problems]) from None
    if _is_remote(path):
        bundled = bundled_pack(target)
        if bundled is not None:
            return bundled
        raise PolicyError(
            [f"{path}:{where[0]}:{where[1]}: extends '{target}': a fetched policy may extend only bundled "
             "packs or pinned URLs"]
        )
    relative = path.parent / target
    if relative.is_file():
        return relative
    bundled = bundled_pack(target)
    if bundled is not None:
        return bundled
    raise PolicyError(
        [f"{path}:{where[0]}:{where[1]}: extends '{target}': no such file and no bundled pack of that name"]
    )


def _is_remote(path: Path) -> bool:
    """Policies fetched by URL live in the cache; their relative `extends` would mean nothing."""
    from gatekeeper.remote import cache_directory

    try:
        path.resolve().relative_to(cache_directory().resolve())
    except ValueError:
        return False
    return True


def _validate(path: Path, located: _Located) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems: list[tuple[Location, str]] = list(located.problems)
    errors = list(validator.iter_errors(located.data))
    suggested: set[tuple[JsonPath, str]] = set()  # (object, key) a misspelt key probably meant
    for error in errors:
        if error.validator in ("additionalProperties", "unevaluatedProperties"):
            error_path = tuple(error.absolute_path)
            for where, unknown, suggestion in _unknown_keys(error, error_path, located):
                problems.append((where, unknown))
                if suggestion is not None:
                    suggested.add((error_path, suggestion))
    for error in errors:
        error_path = tuple(error.absolute_path)
        if error.validator in ("additionalProperties", "unevaluatedProperties"):
            continue
        if error.validator == "required" and (error_path, _quoted(error.message)) in suggested:
            continue  # `branches:` for `branch:` is one mistake: the did-you-mean says it all
        message = _explain(error)
        if message is not None:
            problems.append((located.where(error_path), message))
    if isinstance(located.data, dict):
        problems.extend(_semantic_problems(located))
    unique = sorted(set(problems))
    return [f"{path}:{line}:{column}: {message}" for (line, column), message in unique]


def _known_keys(schema: dict[str, Any]) -> set[str]:
    """The keys a (sub)schema allows: its own properties, and a condition's when it refers to one."""
    known = set(schema.get("properties", {}))
    if "allOf" in schema or schema.get("$ref") == "#/$defs/condition":
        known |= set(_schema()["$defs"]["condition"]["properties"])
    return known


def _quoted(message: str) -> str:
    """The first 'quoted' word of a jsonschema message (the key of a `required` error)."""
    parts = message.split("'")
    return parts[1] if len(parts) > 2 else message


def _unknown_keys(
    error: Any, error_path: JsonPath, located: _Located
) -> Iterator[tuple[Location, str, str | None]]:
    """One problem per unknown key, at the key, with a did-you-mean where one is close.

    For a gate or condition, keys that are known but unevaluated (because the condition has another
    error) are not reported: that other error is.
    """
    if not isinstance(error.instance, dict):
        return
    known = _known_keys(error.schema)
    for key in error.instance:
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1)
        expected = ", ".join(sorted(known))
        hint = f" (did you mean '{close[0]}'?)" if close else f" (expected one of: {expected})"
        what = "unknown key" if error_path else "unknown top-level key"
        message = f"{_label(error_path)}{what} '{key}'{hint}"
        yield located.where(error_path, key), message, close[0] if close else None


_KINDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
}


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _explain(error: Any) -> str | None:
    """jsonschema's messages, rewritten where they would confuse a policy author; None drops one."""
    error_path = tuple(error.absolute_path)
    where = _label(error_path)  # "gates.3.min: ", or "" at the top level
    last = error_path[-1] if error_path else None
    kind = error.validator
    instance = error.instance
    if kind == "oneOf" and "metric" in error.schema.get("properties", {}):
        return f"{where}{_condition_problem(instance, nested=len(error_path) > 2)}"
    if kind == "oneOf" and last == "extends":
        return f"{where}expects a policy file or bundled pack name, or a list of them"
    if kind == "oneOf" and last == "branch":
        return f"{where}expects a branch pattern or a list of patterns, e.g. [main, 'release/*']"
    if kind == "not" and "dependentSchemas" in error.schema_path:
        return f"{where}'equals' cannot be combined with 'min' or 'max'"
    if kind == "required":
        missing = _quoted(error.message)
        why = {
            "policy": " (the policy's name, shown in every verdict)",
            "reason": ": say why these findings are accepted",
            "id": " (a unique name for the gate)",
            "branch": ": when: {branch: [main, 'release/*']}",
        }.get(missing, "")
        return f"{where}'{missing}' is required{why}"
    if kind == "type":
        expected = error.validator_value
        names = [_KINDS.get(str(t), str(t)) for t in (expected if isinstance(expected, list) else [expected])]
        hint = ""
        if expected == "number" and isinstance(instance, str) and instance.rstrip().endswith("%"):
            hint = f" (write {instance.rstrip().rstrip('%').strip()} for {instance.strip()})"
        if last == "when":
            hint = " (when: {branch: [main, 'release/*']})"
        if not error_path:
            return f"a policy is a mapping (policy: …, gates: …), not {_short(instance)}"
        return f"{where}{_short(instance)} is not {' or '.join(names)}{hint}"
    if kind == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        close = difflib.get_close_matches(str(instance), [str(c) for c in error.validator_value], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"{where}{_short(instance)} is not one of: {choices}{hint}"
    if kind == "const" and last == "format":
        return f"{where}{_short(instance)} is not a policy format this version reads (only 1)"
    if last == "expires" and kind in ("format", "pattern"):
        return f"{where}{_short(instance)} is not a date (YYYY-MM-DD)"
    if last == "id" and kind == "pattern":
        return (
            f"{where}gate id {_short(instance)} may hold only letters, digits, '.', '_' and '-', "
            "and starts with a letter or digit"
        )
    if kind == "pattern" and last == "metric":
        return None  # the semantic check names the metric and suggests a close one
    if kind == "minItems" and last in ("all", "any"):
        return f"{where}an '{last}:' group needs at least one condition"
    if kind == "minProperties" and last == "match":
        return f"{where}name at least one of tool, rule, path, fingerprint"
    if kind == "minLength" and last == "fingerprint":
        return f"{where}a fingerprint prefix needs at least 6 characters, or it matches unrelated findings"
    if kind == "minLength" and last == "reason":
        return f"{where}say why these findings are accepted (at least 3 characters)"
    return f"{where}{error.message}"


def _condition_problem(instance: object, *, nested: bool) -> str:
    """What is wrong with a gate (or nested condition) that is neither one comparison nor one group."""
    subject = "a condition" if nested else "a gate"
    if not isinstance(instance, dict):
        return f"{subject} is a mapping with 'metric' and a threshold, or an 'all:'/'any:' group"
    kinds = [key for key in ("metric", "all", "any") if key in instance]
    if not kinds:
        return f"{subject} needs a condition: 'metric' with a threshold ({_THRESHOLDS}), or 'all:'/'any:'"
    if len(kinds) > 1:
        return f"'{kinds[0]}' and '{kinds[1]}' cannot be combined: {subject} is one comparison or one group"
    if kinds == ["metric"]:
        given = [key for key in THRESHOLD_KEYS if key in instance]
        if len(given) > 1 and ({"max_decrease", "max_increase"} & set(given) or "equals" in given):
            return f"'{given[0]}' and '{given[1]}' cannot be combined: use an 'all:' group of two conditions"
        return f"metric {_short(instance['metric'])} needs a threshold: {_THRESHOLDS}"
    return f"{subject} is 'metric' with a threshold ({_THRESHOLDS}), or one 'all:'/'any:' group"


_THRESHOLDS = "'min', 'max', 'equals', 'max_decrease' or 'max_increase'"


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
        if isinstance(gate_id, str):
            if gate_id in seen:
                problems.append(
                    (
                        located.where(("gates", index, "id")),
                        f"gates.{index}.id: duplicate gate id '{gate_id}' (first at gates.{seen[gate_id]})",
                    )
                )
            else:
                seen[gate_id] = index
        for condition_path, condition in _conditions(gate, ("gates", index)):
            problems.extend(_condition_semantics(condition, condition_path, located, METRIC_NAMES))
    return problems


def _condition_semantics(
    condition: dict[str, Any], path: JsonPath, located: _Located, names: tuple[str, ...]
) -> Iterator[tuple[Location, str]]:
    metric = condition.get("metric")
    if not isinstance(metric, str):
        return
    if metric not in names:
        close = difflib.get_close_matches(metric, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (see `gatekeeper metrics` for the names)"
        yield located.where((*path, "metric")), f"{_label((*path, 'metric'))}unknown metric '{metric}'{hint}"
    for bound in THRESHOLD_KEYS:
        value = condition.get(bound)
        if _is_number(value) and value != value:  # NaN: every comparison with it is false
            yield located.where((*path, bound)), f"{_label((*path, bound))}{bound} must be a number, not .nan"
    low, high = condition.get("min"), condition.get("max")
    if _is_number(low) and _is_number(high) and low > high:
        yield located.where((*path, "min")), f"{_label((*path, 'min'))}min {low} is above max {high}"
    if metric.endswith("percent"):
        for bound in ("min", "max", "equals"):
            value = condition.get(bound)
            if _is_number(value) and not 0 <= value <= 100:
                yield (
                    located.where((*path, bound)),
                    f"{_label((*path, bound))}{bound} {value} is outside 0-100 for the percentage {metric}",
                )


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
        max_decrease=number("max_decrease"),
        max_increase=number("max_increase"),
        all=tuple(_build_condition(c) for c in document.get("all", [])),
        any=tuple(_build_condition(c) for c in document.get("any", [])),
    )


def _build(path: Path, located: _Located) -> tuple[Policy, dict[str, str]]:
    """This file's own policy, and the ids of inherited gates it switches off (with where it says so)."""
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
                    locked=gate.get("locked", False),
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
        baseline_branch=document.get("baseline", {}).get("branch", "main"),
        chain=(str(path),),
    )
    return policy, {gate.id: gate.source for enabled, gate in gates if not enabled}


def _inherit(own: Policy, disabled: dict[str, str], parents: list[Policy], located: _Located) -> Policy:
    """Parents' gates in their order, overridden by id; own new gates appended; waivers added up.

    A gate a parent marks `locked` is the organisation's: overriding or switching it off is an error,
    and so is switching off a gate no parent has (a typo would otherwise do nothing, silently).
    """
    gates: dict[str, Gate] = {}
    waivers: list[Waiver] = []
    chain: list[str] = [own.path]
    for parent in parents:
        for gate in parent.gates:
            gates[gate.id] = gate
        waivers.extend(parent.waivers)
        chain.extend(parent.chain)
    problems = []
    for gate in own.gates:
        inherited = gates.get(gate.id)
        if inherited is not None and inherited.locked:
            problems.append(f"{gate.source}: gate '{gate.id}' is locked by {inherited.source} and cannot be overridden")
        gates[gate.id] = gate
    for gate_id, source in disabled.items():
        inherited = gates.get(gate_id)
        if inherited is None:
            problems.append(f"{source}: 'enabled: false' on gate '{gate_id}', which no extended policy defines")
        elif inherited.locked:
            problems.append(f"{source}: gate '{gate_id}' is locked by {inherited.source} and cannot be switched off")
        else:
            del gates[gate_id]
    if problems:
        raise PolicyError(problems)
    if not parents:
        return own
    first = parents[0]
    return Policy(
        name=own.name,
        path=own.path,
        model=own.model if "model" in located.data else first.model,
        level=own.level if "level" in located.data else first.level,
        gates=tuple(gates.values()),
        waivers=(*waivers, *own.waivers),
        reports=own.reports or first.reports,
        baseline_branch=own.baseline_branch if "baseline" in located.data else first.baseline_branch,
        chain=tuple(chain),
    )
