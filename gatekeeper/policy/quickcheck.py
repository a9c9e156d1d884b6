"""A yes-only JSON Schema check, so that a valid policy is loaded without importing jsonschema.

Importing jsonschema and compiling the policy schema cost about 360 M instructions (~0.1 s), a third of
what `gatekeeper check` did on a small report, and nearly every policy `check` reads is
valid.  `is_valid` answers True only when it is sure jsonschema (Draft 2020-12, as `messages` builds its
validators) would find no error; it answers False ("ask jsonschema") otherwise: for a document it finds
invalid (`judge` tells that apart), and for anything outside what it knows (a keyword the policy schema
does not use today, a `$ref` other than `#/$defs/NAME`, a value JSON has no type for, an integral
float).  jsonschema then decides and words every problem, so what a user sees is exactly what it was.
`tests/test_policy_quickcheck.py` holds it to jsonschema's answers on every policy file in the repository
and on generated and spoilt documents.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any

#: Keywords that say nothing about validity here (annotations, and the definitions a `$ref` points into).
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples", "deprecated"}
)
#: Keywords checked below; any other keyword in a schema makes the answer "ask jsonschema".
_CHECKED = frozenset(
    {
        "type",
        "const",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "items",
        "minItems",
        "maxItems",
        "required",
        "properties",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "dependentSchemas",
        "unevaluatedProperties",
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
    }
)
_KNOWN = _ANNOTATIONS | _CHECKED
_REF = re.compile(r"#/\$defs/[A-Za-z0-9_-]+")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)  # jsonschema's own test for a `date`, with fromisoformat


class _Unsure(Exception):
    """Outside what this check knows: only jsonschema can answer."""


def is_valid(instance: object, schema: dict[str, Any], *, formats: bool = False) -> bool:
    """True only if jsonschema's Draft 2020-12 validator of `schema` (with its format checker when
    `formats`) finds no error in `instance`; False when it would, or when this cannot tell."""
    return judge(instance, schema, formats=formats) is True


def judge(instance: object, schema: dict[str, Any], *, formats: bool = False) -> bool | None:
    """jsonschema's answer (valid or not) where this check is sure of it, None where it is not.

    A False is as exact as a True: `not` turns one into the other.
    """
    try:
        return _valid(instance, schema, schema, formats)
    except (_Unsure, RecursionError):
        return None


def _kind(instance: object) -> str:
    """The JSON type of a plain value; _Unsure for what JSON has no type for (bytes, sets, a datetime)."""
    if instance is None:
        return "null"
    if isinstance(instance, bool):
        return "boolean"
    if isinstance(instance, str):
        return "string"
    if isinstance(instance, int):
        return "integer"
    if isinstance(instance, float):
        if instance.is_integer():
            raise _Unsure  # jsonschema calls 3.0 an integer: leave the edge to it
        return "number"
    if isinstance(instance, dict):
        if not all(isinstance(key, str) for key in instance):
            raise _Unsure
        return "object"
    if isinstance(instance, list):
        return "array"
    raise _Unsure


def _has_type(kind: str, expected: object) -> bool:
    if isinstance(expected, list):
        return any(_has_type(kind, each) for each in expected)
    if expected == "number":
        return kind in ("integer", "number")
    if expected not in ("null", "boolean", "string", "integer", "object", "array"):
        raise _Unsure
    return kind == expected


def _equal(one: object, two: object) -> bool:
    """jsonschema's equality for scalars (True is not 1); containers are left to it."""
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        raise _Unsure
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, bool) or isinstance(two, bool):
        return one is two
    return bool(one == two)


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _resolve(ref: object, root: dict[str, Any]) -> Any:
    if not isinstance(ref, str) or not _REF.fullmatch(ref):
        raise _Unsure
    definitions = root.get("$defs")
    name = ref[len("#/$defs/") :]
    if not isinstance(definitions, dict) or name not in definitions:
        raise _Unsure
    return definitions[name]


def _valid(instance: object, schema: object, root: dict[str, Any], formats: bool) -> bool:
    """Whether `instance` holds under `schema`; _Unsure when that cannot be told here."""
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict) or not _KNOWN.issuperset(schema) or ("$id" in schema and schema is not root):
        raise _Unsure  # (an inner `$id` would move where `$ref`s resolve)
    kind = _kind(instance)
    if "type" in schema and not _has_type(kind, schema["type"]):
        return False
    if "const" in schema and not _equal(instance, schema["const"]):
        return False
    if "enum" in schema and not any(_equal(instance, each) for each in schema["enum"]):
        return False
    if kind in ("integer", "number"):
        number: Any = instance
        if "minimum" in schema and number < schema["minimum"]:
            return False
        if "maximum" in schema and number > schema["maximum"]:
            return False
        if "exclusiveMinimum" in schema and number <= schema["exclusiveMinimum"]:
            return False
        if "exclusiveMaximum" in schema and number >= schema["exclusiveMaximum"]:
            return False
    elif kind == "string":
        text: Any = instance
        if "minLength" in schema and len(text) < schema["minLength"]:
            return False
        if "maxLength" in schema and len(text) > schema["maxLength"]:
            return False
        if "pattern" in schema and not _pattern(schema["pattern"]).search(text):
            return False
        if "format" in schema and formats and not _format(text, schema["format"]):
            return False
    elif kind == "array":
        items: Any = instance
        if "minItems" in schema and len(items) < schema["minItems"]:
            return False
        if "maxItems" in schema and len(items) > schema["maxItems"]:
            return False
        if "items" in schema and not all(_valid(item, schema["items"], root, formats) for item in items):
            return False
    elif kind == "object" and not _valid_object(instance, schema, root, formats):  # type: ignore[arg-type]
        return False
    if "$ref" in schema and not _valid(instance, _resolve(schema["$ref"], root), root, formats):
        return False
    if "allOf" in schema and not all(_valid(instance, each, root, formats) for each in schema["allOf"]):
        return False
    if "anyOf" in schema and not any([_valid(instance, each, root, formats) for each in schema["anyOf"]]):
        return False  # (a list: every branch is judged, so an unsure one is never skipped by a valid one)
    if "oneOf" in schema and sum(_valid(instance, each, root, formats) for each in schema["oneOf"]) != 1:
        return False
    if "not" in schema and _valid(instance, schema["not"], root, formats):
        return False
    if kind == "object" and "unevaluatedProperties" in schema:
        evaluated = _evaluated(instance, schema, root, formats)  # type: ignore[arg-type]
        rest = schema["unevaluatedProperties"]
        mapping: Any = instance
        if not all(_valid(mapping[key], rest, root, formats) for key in mapping if key not in evaluated):
            return False
    return True


def _format(text: str, name: object) -> bool:
    if name != "date":
        raise _Unsure
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid_object(instance: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], formats: bool) -> bool:
    if "required" in schema and not all(key in instance for key in schema["required"]):
        return False
    if "minProperties" in schema and len(instance) < schema["minProperties"]:
        return False
    if "maxProperties" in schema and len(instance) > schema["maxProperties"]:
        return False
    properties = schema.get("properties", {})
    for key, subschema in properties.items():
        if key in instance and not _valid(instance[key], subschema, root, formats):
            return False
    if "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        if not all(_valid(instance[key], extra, root, formats) for key in instance if key not in properties):
            return False
    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance and not _valid(instance, subschema, root, formats):
            return False
    return True


def _evaluated(instance: dict[str, Any], schema: object, root: dict[str, Any], formats: bool) -> set[str]:
    """The keys `schema` evaluates, as jsonschema finds them for `unevaluatedProperties`
    (`find_evaluated_property_keys_by_schema`, for the keywords checked here)."""
    if not isinstance(schema, dict):
        return set()
    found: set[str] = set()
    if "$ref" in schema:
        found |= _evaluated(instance, _resolve(schema["$ref"], root), root, formats)
    found |= schema.get("properties", {}).keys() & instance.keys()
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if keyword in schema:
            found |= {key for key, value in instance.items() if _valid(value, schema[keyword], root, formats)}
    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            found |= _evaluated(instance, subschema, root, formats)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if _valid(instance, subschema, root, formats):
                found |= _evaluated(instance, subschema, root, formats)
    return found
