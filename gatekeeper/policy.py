"""Policies: YAML gate rules, loaded with line numbers, resolved through `extends`, validated.

Every problem is reported as `file:line:column: what is wrong`, all of them at once, so a team fixes
its policy in one go.  The effective policy (after `extends`) carries a digest that verdicts record.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
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
    def has_ratchets(self) -> bool:
        """Whether any gate compares with a baseline verdict."""
        return any(
            c.max_decrease is not None or c.max_increase is not None for g in self.gates for c in g.condition.walk()
        )

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
_MAX_DEPTH = 64  # also bounds PyYAML's recursive composer, which would overflow Python's stack at ~300
#: The largest policy file read (local or fetched); real policies are a few KiB.
MAX_POLICY_BYTES = 1 << 20


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
    """At most MAX_POLICY_BYTES of `path` (`extends: /dev/zero` must not fill the memory), as YAML."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_POLICY_BYTES + 1)
        if len(data) > MAX_POLICY_BYTES:
            raise PolicyError([f"{path}: larger than {MAX_POLICY_BYTES} bytes; not a policy"])
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise PolicyError([f"{path}: no such policy file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([f"{path}: cannot read policy: {error}"]) from None
    return locate_yaml(path, text, "policy file")


def locate_yaml(path: Path, text: str, kind: str) -> _Located:
    """`text`, read from `path`, as plain data with the position of every value; invalid YAML, an empty
    document or one that grows too large (aliases) or too deep is a PolicyError at its `file:line:column`.

    No message quotes the text: `extends` may name any file, and its errors land in CI logs.
    """
    import yaml

    located = _Located(data=None, values={}, keys={})
    try:
        node = yaml.compose(text, Loader=_depth_bounded_loader())
        if node is None:
            raise PolicyError([f"{path}:1:1: the {kind} is empty"])
        located.data = _to_python(node, (), located, yaml.SafeLoader(""))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1:1"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise PolicyError([f"{path}:{where}: invalid YAML: {_unquoted(problem)}"]) from None
    except _TooLarge as error:
        raise PolicyError([f"{path}:{error.where[0]}:{error.where[1]}: the {kind} is {error.problem}"]) from None
    return located


#: What PyYAML may quote in a message without quoting the file: one character (escaped or not), a
#: character code, or a token's name such as '<block end>'.
_HARMLESS_QUOTE = re.compile(r"\\?.|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|#x[0-9a-f]{4}|<[a-z ]+>")
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def _unquoted(problem: str) -> str:
    """PyYAML's problem with what it quotes from the text (an alias, a tag, a scalar) left out."""

    def keep(match: re.Match[str]) -> str:
        inner = match[1] if match[1] is not None else match[2]
        return match[0] if _HARMLESS_QUOTE.fullmatch(inner) else "(…)"

    return _QUOTED.sub(keep, problem)


@cache
def _depth_bounded_loader() -> type[Any]:
    """SafeLoader whose composer stops past _MAX_DEPTH: it recurses once per level, so YAML nested a few
    thousand deep would end in a RecursionError (a crash, exit 3) instead of a policy error."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > _MAX_DEPTH + 1:
                    mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # (untyped in the stubs)
                    raise _TooLarge((mark.line + 1, mark.column + 1), f"nested more than {_MAX_DEPTH} deep")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Loader


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
        raise _TooLarge(at, "too large or too deeply nested (are YAML aliases expanding?)")
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
def _validator() -> Any:
    """One compiled validator per process: building it costs more than validating a policy."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


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
    parts = relative.split("/")
    if ".." in parts or "\\" in relative:
        return None  # a pack name never leaves rules/ (a fetched policy may extend only packs)
    candidate = resource_path("rules", *parts)
    return candidate if candidate.is_file() else None


#: Bounds on what one policy may reach through `extends` (with MAX_POLICY_BYTES per file): files in one
#: chain (a team's, its organisation's, five levels of a pack need 7), and distinct files in all.
MAX_EXTENDS_DEPTH = 32
MAX_POLICY_FILES = 256


def load_policy(path: str | Path) -> Policy:
    """Load a policy file and everything it extends; raise PolicyError listing every problem.

    Each file is loaded once however often the `extends` graph reaches it (25 files each extending the
    next twice are 25 loads, not 2**25), within MAX_EXTENDS_DEPTH, MAX_POLICY_FILES and MAX_POLICY_BYTES.
    """
    return _load(Path(path), (), {})


def _load(path: Path, seen: tuple[Path, ...], loaded: dict[Path, Policy]) -> Policy:
    """One file, validated whole, then its parents; `seen` is the chain of files that led here, `loaded`
    every file already loaded in this `load_policy`, by resolved path."""
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
        resolved = parent_path.resolve()
        if any(resolved == earlier.resolve() for earlier in chain):
            cycle = " -> ".join(str(p) for p in (*chain, parent_path))
            raise PolicyError([f"{path}:{line}:{column}: extends '{label}' makes a cycle: {cycle}"])
        if resolved in loaded:
            parents.append(loaded[resolved])
            continue
        too_far = f"{path}:{line}:{column}: extends '{label}' goes more than"
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise PolicyError([f"{too_far} {MAX_EXTENDS_DEPTH} files deep; refused"])
        if len(loaded) >= MAX_POLICY_FILES:
            raise PolicyError([f"{too_far} {MAX_POLICY_FILES} files in all; refused"])
        try:
            loaded[resolved] = _load(parent_path, chain, loaded)
        except PolicyError as error:
            if isinstance(target, str):
                raise
            raise PolicyError([_named_by_url(problem, parent_path, label) for problem in error.problems]) from None
        parents.append(loaded[resolved])
    own, disabled = _build(path, located)
    return _inherit(own, disabled, parents, located)


def _named_by_url(problem: str, cached: Path, url: str) -> str:
    """A problem inside a fetched policy names the URL its author knows, not our cache file's hash name."""
    prefix = f"{cached}:"
    if problem.startswith(prefix):
        return f"{url} (cached as {cached}):{problem[len(prefix) :]}"
    return problem


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
            [
                f"{path}:{where[0]}:{where[1]}: extends '{target}': a fetched policy may extend only bundled "
                "packs or pinned URLs"
            ]
        )
    relative = path.parent / target
    if target.endswith(_POLICY_SUFFIXES) and relative.is_file():
        return relative
    bundled = bundled_pack(target)
    if bundled is not None:
        return bundled
    if not target.endswith(_POLICY_SUFFIXES):
        # Never read: a policy file is YAML, and `extends: /etc/shadow` must not open a secret.
        problem = "no bundled pack of that name, and a policy file's name ends in .yaml or .yml"
    else:
        problem = "no such file and no bundled pack of that name"
    raise PolicyError([f"{path}:{where[0]}:{where[1]}: extends '{target}': {problem}"])


_POLICY_SUFFIXES = (".yaml", ".yml")


def _is_remote(path: Path) -> bool:
    """Policies fetched by URL live in the cache; their relative `extends` would mean nothing."""
    from gatekeeper.remote import cache_directory

    try:
        path.resolve().relative_to(cache_directory().resolve())
    except ValueError:
        return False
    return True


def _validate(path: Path, located: _Located) -> list[str]:
    not_a_policy = _not_a_policy(located.data)
    if not_a_policy is not None:
        line, column = located.where(())
        return [f"{path}:{line}:{column}: {not_a_policy}"]
    validator = _validator()
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


def _not_a_policy(data: object) -> str | None:
    """Why a YAML document is no policy at all, quoting nothing of it, or None for one that names itself or
    lists gates.  Only a file that passes may have its values (and keys) quoted in what is wrong with it:
    `extends` or `--policy` may name any file, and a secret must not reach a CI log through our messages."""
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        return f"not a policy: a policy is a YAML mapping (policy: …, gates: …), and this file holds {kind}"
    if "policy" not in data and "gates" not in data:
        return "not a policy: a policy is a YAML mapping with 'policy:' (its name) and 'gates:'; this one has neither"
    return None


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


def _unknown_keys(error: Any, error_path: JsonPath, located: _Located) -> Iterator[tuple[Location, str, str | None]]:
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
        pinned = _pinned_problem(instance)
        if pinned is not None:
            return f"{where}{pinned}"
        return f"{where}expects a policy file, a bundled pack name or a pinned {{url, sha256}}, or a list of them"
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


def _pinned_problem(value: object) -> str | None:
    """What is wrong with a pinned `{url, sha256}` in `extends` (alone or in its list), if one is there.

    Without this a bad digest reads "expects a policy file or bundled pack name", which sends the
    author looking in the wrong place; the verdict's `sha256:…` policy digest is an easy thing to paste.
    """
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        at = f"item {index}: " if isinstance(value, list) else ""
        unknown = sorted(set(item) - {"url", "sha256"})
        if unknown:
            return f"{at}unknown key '{unknown[0]}' in a pinned policy (it takes url and sha256)"
        url, digest = item.get("url"), item.get("sha256")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return f"{at}a pinned policy needs url: https://… (got {_short(url)})"
        if not isinstance(digest, str):
            return f"{at}a pinned policy needs sha256: the 64 hex digits of the file's sha256 digest"
        if not _SHA256.fullmatch(digest):
            hint = ""
            if digest.lower().startswith("sha256:"):
                hint = " (write the digits without the 'sha256:' prefix)"
            elif _SHA256.fullmatch(digest.lower()):
                hint = " (write it in lowercase)"
            return f"{at}sha256 {_short(digest)} is not 64 lowercase hex digits{hint}"
    return None


_SHA256 = re.compile(r"[0-9a-f]{64}")


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
    waivers: dict[Waiver, None] = {}  # a waiver reached through two parents is one waiver (a set, in order)
    chain: dict[str, None] = {own.path: None}
    problems = []
    for parent in parents:
        for gate in parent.gates:
            earlier = gates.get(gate.id)
            # A later parent may not replace a gate an earlier one locks (the same gate reached twice,
            # through two parents extending one pack, is no override).
            if earlier is not None and earlier.locked and gate != earlier:
                problems.append(
                    f"{gate.source}: gate '{gate.id}' is locked by {earlier.source} and cannot be overridden "
                    f"(both are extended by {own.path})"
                )
                continue
            gates[gate.id] = gate
        waivers.update(dict.fromkeys(parent.waivers))
        chain.update(dict.fromkeys(parent.chain))
    for gate in own.gates:
        inherited = gates.get(gate.id)
        if inherited is not None and inherited.locked:
            where = _gate_place(own.path, located, gate.id, "id")
            problems.append(f"{where}: gate '{gate.id}' is locked by {inherited.source} and cannot be overridden")
        gates[gate.id] = gate
    for gate_id in disabled:
        inherited = gates.get(gate_id)
        if inherited is None:
            where = _gate_place(own.path, located, gate_id, "id")
            problems.append(f"{where}: 'enabled: false' on gate '{gate_id}', which no extended policy defines")
        elif inherited.locked:
            where = _gate_place(own.path, located, gate_id, "enabled")
            problems.append(f"{where}: gate '{gate_id}' is locked by {inherited.source} and cannot be switched off")
        else:
            del gates[gate_id]
    if problems:
        raise PolicyError(sorted(problems, key=_problem_order))
    if not parents:
        return own
    first = parents[0]
    return Policy(
        name=own.name,
        path=own.path,
        model=own.model if "model" in located.data else first.model,
        level=own.level if "level" in located.data else first.level,
        gates=tuple(gates.values()),
        waivers=tuple(dict.fromkeys((*waivers, *own.waivers))),
        reports=own.reports or first.reports,
        baseline_branch=own.baseline_branch if "baseline" in located.data else first.baseline_branch,
        chain=tuple(chain),
    )


def _gate_place(path: str, located: _Located, gate_id: str, key: str) -> str:
    """`file:line:column` of a gate's `key` (its `id` value, or the `enabled` key), for messages."""
    gates = located.data.get("gates", [])
    index = next(i for i, gate in enumerate(gates) if isinstance(gate, dict) and gate.get("id") == gate_id)
    line, column = located.where(("gates", index), key) if key != "id" else located.where(("gates", index, "id"))
    return f"{path}:{line}:{column}"


_PLACE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<column>\d+): ")


def _problem_order(problem: str) -> tuple[int, int]:
    """Problems of one file in the order of its lines, so a reader walks down the file once."""
    match = _PLACE.match(problem)
    return (int(match["line"]), int(match["column"])) if match else (0, 0)


# --- checks for authors: `rules validate` ----------------------------------------------------------


def validate_policy(path: str | Path, today: date) -> Policy:
    """`load_policy`, plus the checks that are mistakes to an author but must not stop a `check` run.

    An expired waiver only stops applying at run time (the verdict lists it), and a gate whose `when`
    excludes every branch it names does no harm there; `rules validate` reports both as errors, with
    the place, in every file of the chain.  Raises PolicyError listing every problem.
    """
    problems: list[str] = []
    policy: Policy | None = None
    try:
        policy = load_policy(path)
    except PolicyError as error:
        problems.extend(error.problems)
    files = list(dict.fromkeys(policy.chain)) if policy is not None else [str(path)]
    for file in files:
        try:
            located = _read_yaml(Path(file))
        except PolicyError:
            continue  # the loader has said what is wrong with it
        if _not_a_policy(located.data) is not None:
            continue
        own = [f"{file}:{line}:{column}: {message}" for (line, column), message in _authoring_problems(located, today)]
        problems.extend(problem for problem in own if problem not in problems)
    if problems:
        order = {file: index for index, file in enumerate(files)}
        problems.sort(key=lambda problem: (_problem_file(problem, order), *_problem_order(problem)))
        raise PolicyError(problems)
    assert policy is not None
    return policy


def _problem_file(problem: str, order: dict[str, int]) -> int:
    """Problems of the validated file first, then those of the files it extends, in chain order."""
    match = _PLACE.match(problem)
    return order.get(match["file"], len(order)) if match else -1


def _authoring_problems(located: _Located, today: date) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    gates = located.data.get("gates")
    for index, gate in enumerate(gates if isinstance(gates, list) else []):
        if not isinstance(gate, dict):
            continue
        when = gate.get("when")
        branches = when.get("branch") if isinstance(when, dict) else None
        patterns = [branches] if isinstance(branches, str) else branches
        if isinstance(patterns, list) and all(isinstance(p, str) for p in patterns):
            reason = never_applies(patterns)
            if reason is not None:
                at = ("gates", index, "when", "branch")
                problems.append((located.where(at), f"{_label(at)}the gate can never apply: {reason}"))
        for condition_path, condition in _conditions(gate, ("gates", index)):
            problems.extend(_ratchet_bounds(condition, condition_path, located))
    waivers = located.data.get("waivers")
    for index, waiver in enumerate(waivers if isinstance(waivers, list) else []):
        expires = waiver.get("expires") if isinstance(waiver, dict) else None
        try:
            expiry = date.fromisoformat(expires) if isinstance(expires, str) else None
        except ValueError:
            continue  # not a date: the schema says so
        if expiry is not None and today > expiry:
            place: JsonPath = ("waivers", index, "expires")
            days = (today - expiry).days
            problems.append(
                (
                    located.where(place),
                    f"{_label(place)}the waiver expired on {expiry.isoformat()} ({days} day{'s' if days != 1 else ''} "
                    "ago): `check` no longer applies it; renew the date or remove the waiver",
                )
            )
    return problems


def _ratchet_bounds(condition: dict[str, Any], path: JsonPath, located: _Located) -> Iterator[tuple[Location, str]]:
    """A ratchet that allows a percentage to move more than 100 points can never fail."""
    metric = condition.get("metric")
    if not isinstance(metric, str) or not metric.endswith("percent"):
        return
    for bound in ("max_decrease", "max_increase"):
        value = condition.get(bound)
        if _is_number(value) and value > 100:
            yield (
                located.where((*path, bound)),
                f"{_label((*path, bound))}{bound} {value} is outside 0-100 for the percentage {metric}: "
                "the ratchet can never fail",
            )


#: Strings a `*` or `?` stands for when testing whether one branch glob covers another.
_STAR_SAMPLES = ("", "a", "Z9", "x/y", "-_.")
_ONE_SAMPLES = ("a", "Z", "9", "/", "-")


def never_applies(patterns: Sequence[str]) -> str | None:
    """Why a `when: {branch: …}` list matches no branch at all, or None when some branch matches.

    An exclusion wins over an inclusion (see engine.applies), so the gate never applies when an
    exclusion matches everything, or when each included pattern is covered by an excluded one.
    """
    includes = [p for p in patterns if not p.startswith("!")]
    excludes = [p[1:] for p in patterns if p.startswith("!")]
    everything = next((e for e in excludes if e and set(e) == {"*"}), None)
    if everything is not None:
        return f"'!{everything}' excludes every branch"
    if not includes:
        return None
    covered = []
    for include in includes:
        by = next((e for e in excludes if _covers(e, include)), None)
        if by is None:
            return None
        covered.append(f"'{include}' is excluded by '!{by}'")
    return "; ".join(covered)


def _covers(exclude: str, include: str) -> bool:
    """Whether every branch the glob `include` matches also matches the glob `exclude`.

    fnmatch on the include pattern itself, then on strings the include matches with its wildcards
    filled in several ways, so `release/*` is covered by `release/*` or `*` but not by `release/?`.
    A character class in the include is covered only by the same text (or a match-all exclusion).
    """
    if exclude == include:
        return True
    if "[" in include or not fnmatch.fnmatchcase(include, exclude):
        return False
    samples = []
    for star, one in zip(_STAR_SAMPLES, _ONE_SAMPLES, strict=True):
        samples.append("".join(star if c == "*" else one if c == "?" else c for c in include))
    return all(fnmatch.fnmatchcase(sample, exclude) for sample in samples)
