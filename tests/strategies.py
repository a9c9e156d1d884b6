"""Hypothesis strategies shared by the fuzz tests and the parser comparison tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], inserts: list[bytes]) -> bytes:
    """A seed report with one to four byte-level mutations."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "prolog"]))
        if action == "truncate":
            del data[at:]
        elif action == "flip" and data:
            index = min(at, len(data) - 1)
            data[index] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(inserts))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:  # right after the XML declaration, where a DOCTYPE belongs
            end = data.find(b"?>")
            data[end + 2 if end >= 0 else 0 : end + 2 if end >= 0 else 0] = draw(st.sampled_from(inserts))
    return bytes(data)


_finite = st.floats(allow_nan=False, allow_infinity=False)
_json_scalars = st.none() | st.booleans() | st.integers() | _finite | st.text(max_size=20)
json_values: st.SearchStrategy[Any] = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


# -- verdicts from schemas/verdict.schema.json ----------------------------------------------------------

#: How far back a drawn `created_at` goes: well inside the window the server accepts around its clock.
RECENT_DAYS = 300


@st.composite
def recent_times(draw: st.DrawFn) -> str:
    """An RFC 3339 time within the last RECENT_DAYS days, as a client may write it (Z or an offset,
    with or without fractions), so the server's `created_at` window never refuses it."""
    from datetime import datetime, timedelta, timezone

    back = timedelta(seconds=draw(st.integers(60, RECENT_DAYS * 86400)), microseconds=draw(st.integers(0, 999_999)))
    offset = timedelta(minutes=draw(st.sampled_from([0, 0, 60, -300, 330, 840, -720])))
    at = (datetime.now(timezone.utc) - back).astimezone(timezone(offset))
    text = at.strftime("%Y-%m-%dT%H:%M:%S") + draw(st.sampled_from(["", f".{at.microsecond:06d}", ".5"]))
    return text + ("Z" if not offset else at.strftime("%z")[:3] + ":" + at.strftime("%z")[3:])


#: Numbers JSON allows and a schema without bounds lets through, which hypothesis-jsonschema seldom draws:
#: integers no double holds, the largest and smallest doubles, negative zero.
_EXTREMES: tuple[int | float, ...] = (
    10**400,
    -(10**400),
    2**64,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    5e-324,
    -0.0,
)


def _allows(schema: dict[str, Any], types: list[str], value: float) -> bool:
    """Whether a numeric (sub)schema takes `value`: its type and bounds."""
    if "number" not in types and not ("integer" in types and isinstance(value, int)):
        return False
    return schema.get("minimum", value) <= value <= schema.get("maximum", value)


def _schema_strategy(schema: Any, root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one (sub)schema.  Objects, arrays, `$ref`, `oneOf`, `const` and `enum` are built here,
    scalars by hypothesis-jsonschema: its object strategy relies on Hypothesis internals that newer
    Hypothesis releases changed (`many.more()`), and it does not follow 2020-12's `$defs`."""
    from hypothesis_jsonschema import from_schema

    if "$ref" in schema:  # deferred: a condition nests conditions
        _, _, name = schema["$ref"].rpartition("/")
        return st.deferred(lambda: _schema_strategy(root["$defs"][name], root))
    if "oneOf" in schema or "anyOf" in schema:
        return st.one_of([_schema_strategy(branch, root) for branch in schema.get("oneOf") or schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    scalar = {key: value for key, value in schema.items() if key != "description"} | {
        "type": [kind for kind in types if kind not in ("object", "array")]
    }
    options = [from_schema(scalar)] if scalar["type"] else []
    extremes = [value for value in _EXTREMES if _allows(schema, types, value)]
    if extremes:
        options.append(st.sampled_from(extremes))
    if "array" in types:
        least = schema.get("minItems", 0)
        options.append(st.lists(_schema_strategy(schema.get("items", {}), root), min_size=least, max_size=least + 2))
    if "object" in types or (not types and "properties" in schema):
        options.append(_object_strategy(schema, root))
    if not options:  # no type at all: any JSON value
        return json_values
    return st.one_of(options)


def _object_strategy(schema: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Every required member; each optional one present or absent; members the schema leaves open
    (`additionalProperties`, absent = anything) drawn too."""
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = st.fixed_dictionaries(
        {name: _schema_strategy(sub, root) for name, sub in properties.items() if name in required},
        optional={name: _schema_strategy(sub, root) for name, sub in properties.items() if name not in required},
    )
    extra_values = schema.get("additionalProperties", {})
    if extra_values is False:
        least = schema.get("minProperties", 0)
        return fixed.filter(lambda drawn: len(drawn) >= least) if least else fixed
    pattern = schema.get("propertyNames", {}).get("pattern")
    names = st.from_regex(pattern, fullmatch=True) if pattern else st.text(max_size=10)
    values = json_values if extra_values in ({}, True) else _schema_strategy(extra_values, root)
    extras = st.dictionaries(names.filter(lambda name: name not in properties), values, max_size=3)
    return st.tuples(fixed, extras).map(lambda parts: {**parts[1], **parts[0]})


def schema_verdicts() -> st.SearchStrategy[dict[str, Any]]:
    """Any verdict schemas/verdict.schema.json allows: optional members absent or present, nullable ones
    null or not, open objects with extra members; `created_at` a recent time (see `recent_times`)."""
    import json
    from pathlib import Path

    schema = json.loads((Path(__file__).parents[1] / "schemas" / "verdict.schema.json").read_text(encoding="utf-8"))
    versions = st.one_of([_schema_strategy(version, version) for version in _versions(schema)])
    return st.tuples(versions, recent_times()).map(lambda drawn: drawn[0] | {"created_at": drawn[1]})


def _versions(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [_version(schema, tag) for tag in schema["properties"]["schema"]["enum"]]


def _version(schema: dict[str, Any], tag: str) -> dict[str, Any]:
    """The schema of one version's verdicts: the strategies here do not read `if`/`then`/`else`, so the
    gate members a version requires (v2: `condition`, `if_absent`) or forbids (v1) are written out."""
    import copy

    version = copy.deepcopy(schema)
    for key in ("if", "then", "else"):
        del version[key]
    version["properties"]["schema"] = {"const": tag}
    gate = version["$defs"]["gate"]
    if tag == schema["if"]["properties"]["schema"]["const"]:
        gate["required"] += schema["then"]["properties"]["gates"]["items"]["required"]
    else:
        for name in schema["else"]["properties"]["gates"]["items"]["properties"]:
            del gate["properties"][name]
    return version
