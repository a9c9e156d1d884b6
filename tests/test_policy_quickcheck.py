"""gatekeeper.policy.quickcheck against jsonschema: where it answers, it answers as jsonschema does.

`check` loads a valid policy without importing jsonschema (issue 16); a policy with a problem still goes
to jsonschema, which words it.  So every answer the quick check gives must be jsonschema's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from gatekeeper.policy.located import locate_yaml
from gatekeeper.policy.model import CONDITION_KEYS
from gatekeeper.policy.problems import PolicyProblems
from gatekeeper.policy.quickcheck import is_valid, judge

ROOT = Path(__file__).resolve().parent.parent
SCHEMA: dict[str, Any] = json.loads((ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8"))
POLICY = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
CONDITION_SCHEMA = {"$defs": SCHEMA["$defs"], "$ref": "#/$defs/condition"}
CONDITION = Draft202012Validator(CONDITION_SCHEMA)
EXTENDS_SCHEMA = {"$defs": SCHEMA["$defs"], **SCHEMA["properties"]["extends"]}
EXTENDS = Draft202012Validator(EXTENDS_SCHEMA)
POLICY_FILES = sorted(
    path
    for pattern in ("rules/**/*.yaml", "examples/**/*.yaml", "tests/**/*.yaml")
    for path in ROOT.glob(pattern)
    if "semgrep" not in path.name
)


def agrees(instance: object, schema: dict[str, Any], validator: Any, *, formats: bool = False) -> bool | None:
    """The quick answer, after checking that it is jsonschema's (or no answer)."""
    quick = judge(instance, schema, formats=formats)
    if quick is not None:
        assert quick == validator.is_valid(instance), (instance, quick)
    return quick


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_policy_file_in_the_repository(path: Path) -> None:
    try:
        data = locate_yaml(path, path.read_text(encoding="utf-8"), "policy file").data
    except PolicyProblems:
        return  # not YAML the loader takes (the invalid examples): no schema check happens
    if not isinstance(data, dict) or not ({"policy", "gates"} & set(data)):
        return  # not a policy (a release definition, a scanner's rules)
    agrees(data, SCHEMA, POLICY, formats=True)
    agrees(data.get("extends", []), EXTENDS_SCHEMA, EXTENDS)
    for gate in data.get("gates") or []:
        if isinstance(gate, dict):
            condition = {k: v for k, v in gate.items() if k in CONDITION_KEYS and v is not None}
            agrees(condition, CONDITION_SCHEMA, CONDITION)


def test_the_bundled_policies_are_answered_without_jsonschema() -> None:
    """What `check` reads every run: valid, and known to be without the slow import."""
    for path in [ROOT / "rules" / "starter.yaml", *sorted((ROOT / "rules" / "caict-cd").glob("*.yaml"))]:
        data = locate_yaml(path, path.read_text(encoding="utf-8"), "policy file").data
        assert is_valid(data, SCHEMA, formats=True), path


def test_loading_a_valid_policy_imports_no_jsonschema_and_no_network_client(tmp_path: Path) -> None:
    """Nor does extending a pack or a file beside the policy import the fetcher of pinned URLs (urllib,
    http, ssl: ~20 ms), asking only whether the extending file is one it fetched (issue 16)."""
    (tmp_path / "org.yaml").write_text("policy: org\nextends: caict-cd/level-2\n", encoding="utf-8")
    (tmp_path / "team.yaml").write_text("policy: team\nextends: org.yaml\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from gatekeeper.policy import load_policy\n"
        "for path in sys.argv[1:]: load_policy(path)\n"
        "slow = ('jsonschema', 'referencing', 'urllib.request', 'http', 'ssl', 'gatekeeper.policy.fetch')\n"
        "print(sorted(m for m in sys.modules if m.startswith(slow)))\n"
    )
    level = ROOT / "rules" / "caict-cd" / "level-3.yaml"  # extends the lower levels
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "rules" / "starter.yaml"), str(level), str(tmp_path / "team.yaml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({"policy": "p", "gates": [{"id": "g", "metric": "tests.total", "min": 1}]}, True),
        ({"policy": "p", "gates": [{"id": "g", "metric": "tests.total"}]}, True),  # an override may state no bound
        ({"policy": "p", "level": True}, False),  # true is no integer
        ({"policy": "p", "level": 6}, False),
        ({"policy": "p", "format": 1}, True),
        ({"policy": "p", "format": True}, False),  # const 1: true is not 1
        ({"policy": "p", "waivers": [{"match": {"tool": "x"}, "reason": "why", "expires": "2027-02-30"}]}, False),
        ({"policy": "p", "waivers": [{"match": {"tool": "x"}, "reason": "why", "expires": "2027-02-28"}]}, True),
        ({"policy": "p", "gates": [{"id": "g", "all": [{"metric": "a.b", "min": 1, "extra": 1}]}]}, False),
        ({"policy": "p", "extends": {"url": "https://x", "sha256": "0" * 64}}, True),
        ({"policy": "p", "unknown": 1}, False),
    ],
)
def test_answers_checked_by_hand(instance: dict[str, Any], expected: bool) -> None:
    assert POLICY.is_valid(instance) is expected  # the hand-checked answer is jsonschema's
    assert judge(instance, SCHEMA, formats=True) is expected


@pytest.mark.parametrize(
    "instance",
    [
        {"policy": "p", "level": 3.0},  # jsonschema calls 3.0 an integer
        {"policy": "p", "gates": [{"id": "g", "min": b"1"}]},  # no JSON type
        {"policy": "p", "reports": ("a",)},  # a tuple is no JSON array to jsonschema's type checker
    ],
)
def test_what_it_does_not_know_is_left_to_jsonschema(instance: dict[str, Any]) -> None:
    assert judge(instance, SCHEMA, formats=True) is None
    assert not is_valid(instance, SCHEMA, formats=True)


def test_a_keyword_it_does_not_know_is_left_to_jsonschema() -> None:
    assert judge("x", {"type": "string", "contentEncoding": "base64"}) is None
    assert judge({"a": 1}, {"patternProperties": {"^a": {"type": "integer"}}}) is None
    assert judge(1, {"$ref": "https://example.invalid/schema"}) is None


_scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.5, -1.5, 2.0]) | st.text(max_size=3)
_metric = st.sampled_from(["tests.total", "coverage.lines.percent", "Tests", "a.b", ""])
_values = st.recursive(
    _scalars | _metric,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(sorted(CONDITION_KEYS)), inner, max_size=3)
    ),
    max_leaves=8,
)
#: Conditions: mostly keys the schema knows, values of the right kind or not, nested all/any groups.
_bounds = st.sampled_from(["min", "max", "equals", "max_decrease", "max_increase"])
_numbers = st.sampled_from([0, 1, 0.5, -1, -0.5, True, "1", None])


@st.composite
def _conditions(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    """A condition the schema takes (a comparison, or an all/any group of them), then perhaps spoilt:
    a key added, dropped or given a value of another kind."""
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        members = draw(st.lists(st.deferred(lambda: _conditions(depth + 1)), min_size=1, max_size=3))
        condition: dict[str, Any] = {draw(st.sampled_from(["all", "any"])): members}
    else:
        condition = {"metric": draw(_metric)}
        for bound in draw(st.lists(_bounds, min_size=1, max_size=2, unique=True)):
            condition[bound] = draw(st.sampled_from([0, 1, 0.5, 75]))
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from([*sorted(CONDITION_KEYS), "other"]))
        action = draw(st.integers(0, 2))
        if action == 0:
            condition.pop(key, None)
        else:
            condition[key] = draw(_numbers | _metric | st.just([]))
    return condition


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_conditions())
def test_conditions_as_jsonschema_judges_them(condition: dict[str, Any]) -> None:
    agrees(condition, CONDITION_SCHEMA, CONDITION)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["policy", "gates", "level", "format", "extends", "waivers", "quarantine", "flaky", "x"]),
        _values | st.lists(_conditions().map(lambda c: {"id": "g", **c}), max_size=2),
        max_size=4,
    )
)
def test_documents_as_jsonschema_judges_them(document: dict[str, Any]) -> None:
    agrees(document, SCHEMA, POLICY, formats=True)
    agrees(document.get("extends", []), EXTENDS_SCHEMA, EXTENDS)
