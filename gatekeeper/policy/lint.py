"""Checks the schema cannot make (unknown metrics, duplicate ids, impossible thresholds), and those that
are mistakes to an author but must not stop a `check` run (`rules validate`: expired waivers, gates
that can never apply, ratchets that can never fail)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, TypeGuard

from gatekeeper.policy.located import JsonPath, Located, Location, label
from gatekeeper.policy.model import THRESHOLD_KEYS
from gatekeeper.words import plural


def semantic_problems(located: Located) -> list[tuple[Location, str]]:
    """What the schema cannot say: unknown metrics, duplicate ids, impossible thresholds."""
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
        problems.extend(gate_semantics(gate, ("gates", index), located))
    problems.extend(_quarantine_globs(located))
    problems.extend(_trace_pattern(located))
    return problems


def _trace_pattern(located: Located) -> Iterator[tuple[Location, str]]:
    """A key pattern that is not RE2 syntax (gatekeeper.trace: linear on any message) or matches an empty text."""
    from gatekeeper.trace import PatternError, compile_pattern

    trace = located.data.get("trace")
    pattern = trace.get("key_pattern") if isinstance(trace, dict) else None
    if not isinstance(pattern, str) or not pattern:
        return  # the schema says so
    try:
        compile_pattern(pattern)
    except PatternError as error:
        yield located.where(("trace", "key_pattern")), f"trace.key_pattern: {error}"


def _quarantine_globs(located: Located) -> Iterator[tuple[Location, str]]:
    """Quarantine globs that match every test, could match none, or repeat an earlier entry."""
    entries = located.data.get("quarantine")
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        glob = entry.get("test") if isinstance(entry, dict) else None
        if not isinstance(glob, str) or not glob:
            continue  # the schema says so
        at: JsonPath = ("quarantine", index, "test")
        where, prefix = located.where(at), label(at)
        if not glob.replace("*", "").replace("?", "").replace(".", ""):
            yield where, f"{prefix}'{glob}' quarantines every test: name the tests (classname.name globs)"
        elif "::" in glob:
            dotted = glob.replace(".py::", ".").replace("::", ".").replace("/", ".")
            yield (
                where,
                f"{prefix}'{glob}' is a pytest node id, which no JUnit report writes: "
                f"match classname.name, here '{dotted}'",
            )
        elif glob != glob.strip():
            yield where, f"{prefix}'{glob}' has spaces around it, so it matches no test id"
        if glob in seen:
            yield where, f"{prefix}'{glob}' is quarantined twice (first at quarantine.{seen[glob]})"
        else:
            seen[glob] = index


def gate_semantics(gate: dict[str, Any], path: JsonPath, located: Located) -> Iterator[tuple[Location, str]]:
    """Unknown metrics and impossible thresholds in a gate's condition and every condition nested in it."""
    from gatekeeper.metrics import METRIC_NAMES

    for condition_path, condition in _conditions(gate, path):
        yield from _condition_semantics(condition, condition_path, located, METRIC_NAMES)


def _condition_semantics(
    condition: dict[str, Any], path: JsonPath, located: Located, names: tuple[str, ...]
) -> Iterator[tuple[Location, str]]:
    metric = condition.get("metric")
    if not isinstance(metric, str):
        return
    if metric not in names:
        import difflib  # (only to suggest a name: a valid policy never needs it)

        close = difflib.get_close_matches(metric, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (see `gatekeeper metrics` for the names)"
        yield located.where((*path, "metric")), f"{label((*path, 'metric'))}unknown metric '{metric}'{hint}"
    for bound in THRESHOLD_KEYS:
        value = condition.get(bound)
        if _is_number(value) and value != value:  # NaN: every comparison with it is false
            yield located.where((*path, bound)), f"{label((*path, bound))}{bound} must be a number, not .nan"
    low, high = condition.get("min"), condition.get("max")
    if _is_number(low) and _is_number(high) and low > high:
        yield located.where((*path, "min")), f"{label((*path, 'min'))}min {_shown(low)} is above max {_shown(high)}"
    if metric.endswith("percent"):
        for bound in ("min", "max", "equals"):
            value = condition.get(bound)
            if _is_number(value) and not 0 <= value <= 100:
                yield (
                    located.where((*path, bound)),
                    f"{label((*path, bound))}{bound} {_shown(value)} is outside 0-100 for the percentage {metric}",
                )


def _shown(value: float) -> str:
    """A threshold as its author wrote it: an inherited 90 was read as 90.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _conditions(condition: dict[str, Any], path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    yield path, condition
    for group in ("all", "any"):
        children = condition.get(group)
        for index, child in enumerate(children if isinstance(children, list) else []):
            if isinstance(child, dict):
                yield from _conditions(child, (*path, group, index))


def authoring_problems(located: Located, today: date) -> list[tuple[Location, str]]:
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
                problems.append((located.where(at), f"{label(at)}the gate can never apply: {reason}"))
        for condition_path, condition in _conditions(gate, ("gates", index)):
            problems.extend(_ratchet_bounds(condition, condition_path, located))
    problems.extend(_expired_quarantine(located, today))
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
                    f"{label(place)}the waiver expired on {expiry.isoformat()} ({days} day{'s' if days != 1 else ''} "
                    "ago): `check` no longer applies it; renew the date or remove the waiver",
                )
            )
    return problems


def _expired_quarantine(located: Located, today: date) -> Iterator[tuple[Location, str]]:
    """A quarantine past its date no longer applies at run time; to its author that is a mistake."""
    entries = located.data.get("quarantine")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        expires = entry.get("expires") if isinstance(entry, dict) else None
        try:
            expiry = date.fromisoformat(expires) if isinstance(expires, str) else None
        except ValueError:
            continue  # not a date: the schema says so
        if expiry is not None and today > expiry:
            at: JsonPath = ("quarantine", index, "expires")
            ago = plural((today - expiry).days, "day")
            yield (
                located.where(at),
                f"{label(at)}the quarantine of '{entry.get('test')}' expired on {expiry.isoformat()} ({ago} ago): "
                "its failures block again; fix the test, or renew the date",
            )


def _ratchet_bounds(condition: dict[str, Any], path: JsonPath, located: Located) -> Iterator[tuple[Location, str]]:
    """A ratchet that allows a percentage to move more than 100 points can never fail."""
    metric = condition.get("metric")
    if not isinstance(metric, str) or not metric.endswith("percent"):
        return
    for bound in ("max_decrease", "max_increase"):
        value = condition.get(bound)
        if _is_number(value) and value > 100:
            yield (
                located.where((*path, bound)),
                f"{label((*path, bound))}{bound} {_shown(value)} is outside 0-100 for the percentage {metric}: "
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
