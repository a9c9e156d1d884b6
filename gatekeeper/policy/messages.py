"""jsonschema's findings about a policy, rewritten for its author: one line each, at the key, with
"did you mean" where a close name exists; the schema itself is loaded and compiled once per process."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from gatekeeper.policy.located import JsonPath, Located, Location, label
from gatekeeper.policy.model import CONDITION_KEYS, THRESHOLD_KEYS
from gatekeeper.policy.quickcheck import is_valid, judge
from gatekeeper.policy.resources import resource_path


@cache
def _validator() -> Any:
    """One compiled validator per process: building it costs more than validating a policy."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resource_path("schemas", "policy.schema.json").read_text())
    return schema


def valid_extends(value: object) -> bool:
    """Whether an `extends` value is one the loader can follow (else the schema has said what is wrong)."""
    known = judge(value, _extends_schema())  # without importing jsonschema (gatekeeper.policy.quickcheck)
    return known if known is not None else bool(_extends_validator().is_valid(value))


@cache
def _extends_schema() -> dict[str, Any]:
    return {"$defs": _schema()["$defs"], **_schema()["properties"]["extends"]}


@cache
def _extends_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_extends_schema())


def schema_problems(located: Located) -> list[tuple[Location, str]]:
    """What the schema says is wrong with a policy document (a mapping), each at its key or value."""
    problems: list[tuple[Location, str]] = []
    if is_valid(located.data, _schema(), formats=True):  # no jsonschema import for a valid policy
        return problems
    errors = list(_validator().iter_errors(located.data))
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
        message = _explain(error, error_path)
        if message is not None:
            problems.append((located.where(error_path), message))
    return problems


def condition_problems(gate: dict[str, Any], path: JsonPath, located: Located) -> list[tuple[Location, str]]:
    """What is wrong with a gate's condition, `gate` being the effective gate (an override merged with
    the gate it overrides): one comparison or one group, thresholds that combine; at `path` in `located`.

    The file's schema cannot say it: an override states only the keys it changes.
    """
    condition = {key: value for key, value in gate.items() if key in CONDITION_KEYS and value is not None}
    problems: list[tuple[Location, str]] = []
    if is_valid(condition, _condition_schema()):
        return problems
    for error in _condition_validator().iter_errors(condition):
        if error.validator in ("additionalProperties", "unevaluatedProperties"):
            continue  # an unknown key: the file's schema check names it, at the key
        error_path = (*path, *error.absolute_path)
        message = _explain(error, error_path)
        if message is not None:
            problems.append((located.where(error_path), message))
    return problems


@cache
def _condition_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_condition_schema())


@cache
def _condition_schema() -> dict[str, Any]:
    return {"$defs": _schema()["$defs"], "$ref": "#/$defs/condition"}


def not_a_policy(data: object) -> str | None:
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
    if schema.get("$ref") == "#/$defs/condition":
        known |= set(_schema()["$defs"]["condition"]["properties"])
    return known


def _quoted(message: str) -> str:
    """The first 'quoted' word of a jsonschema message (the key of a `required` error)."""
    parts = message.split("'")
    return parts[1] if len(parts) > 2 else message


def _unknown_keys(error: Any, error_path: JsonPath, located: Located) -> Iterator[tuple[Location, str, str | None]]:
    """One problem per unknown key, at the key, with a did-you-mean where one is close.

    For a gate or condition, keys that are known but unevaluated (because the condition has another
    error) are not reported: that other error is.
    """
    if not isinstance(error.instance, dict):
        return
    import difflib  # (only for a policy with a problem: a valid one never needs it)

    known = _known_keys(error.schema)
    for key in error.instance:
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1)
        expected = ", ".join(sorted(known))
        hint = f" (did you mean '{close[0]}'?)" if close else f" (expected one of: {expected})"
        what = "unknown key" if error_path else "unknown top-level key"
        message = f"{label(error_path)}{what} '{key}'{hint}"
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


def _explain(error: Any, error_path: JsonPath) -> str | None:
    """jsonschema's messages, rewritten where they would confuse a policy author; None drops one.

    `error_path` is where in the policy document the error is (the validated instance may be a part).
    """
    where = label(error_path)  # "gates.3.min: ", or "" at the top level
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
    if kind == "required" and error_path[:1] == ("quarantine",):
        missing = _quoted(error.message)
        return f"{where}'{missing}' is required{_QUARANTINE_KEYS.get(missing, '')}"
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
        # null (which removes an inherited key) goes unsaid: the author meant a value
        given = error.validator_value
        expected = [t for t in (given if isinstance(given, list) else [given]) if t != "null"]
        names = [_KINDS.get(str(t), str(t)) for t in expected]
        hint = ""
        if expected == ["number"] and isinstance(instance, str) and instance.rstrip().endswith("%"):
            hint = f" (write {instance.rstrip().rstrip('%').strip()} for {instance.strip()})"
        if last == "when":
            hint = " (when: {branch: [main, 'release/*']})"
        return f"{where}{_short(instance)} is not {' or '.join(names)}{hint}"
    if kind == "enum":
        values = [str(choice) for choice in error.validator_value if choice is not None]
        choices = ", ".join(values)
        import difflib

        close = difflib.get_close_matches(str(instance), values, n=1)
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
    if kind == "minLength" and last == "reason" and error_path[:1] == ("quarantine",):
        return f"{where}say why this test is quarantined (at least 3 characters)"
    if kind == "minLength" and last == "reason":
        return f"{where}say why these findings are accepted (at least 3 characters)"
    if kind == "minLength" and error_path[:1] == ("quarantine",) and last in ("test", "owner"):
        return f"{where}'{last}' is empty{_QUARANTINE_KEYS[str(last)]}"
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
#: What each key of a quarantine entry is for, said when it is missing.
_QUARANTINE_KEYS = {
    "test": ": a glob over the test id, classname.name as the JUnit report writes them",
    "reason": ": say why the test is quarantined",
    "owner": ": who fixes the test and lifts the quarantine",
    "expires": ": the date (YYYY-MM-DD) after which its failures block again",
}
