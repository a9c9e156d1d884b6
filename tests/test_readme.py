"""The README's references stay true: policy keys match the schema, metrics and exit codes the code."""

from __future__ import annotations

import json
import re

from gatekeeper.metrics import METRIC_NAMES
from gatekeeper.status import ExitStatus
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def first_column_names(text: str) -> set[str]:
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


def schema_keys() -> set[str]:
    schema = json.loads((REPO / "schemas" / "policy.schema.json").read_text())
    definitions = schema["$defs"]
    keys = set(schema["properties"])
    for name in ("gate", "condition", "waiver"):
        keys |= set(definitions[name]["properties"])
    keys |= set(definitions["waiver"]["properties"]["match"]["properties"]) - {"tool", "rule", "path", "fingerprint"}
    return keys


def test_policy_reference_names_exactly_the_schema_keys() -> None:
    assert first_column_names(section("Policy reference")) == schema_keys()


def test_metric_table_names_every_metric() -> None:
    assert first_column_names(section("Metrics")) == set(METRIC_NAMES)


def test_exit_code_table_matches_the_enum() -> None:
    codes = {int(code) for code in re.findall(r"^\| (\d+) \|", section("Exit codes"), re.MULTILINE)}
    assert codes == {status.value for status in ExitStatus}


def test_policy_reference_says_how_an_override_merges_as_the_schema_allows() -> None:
    """An override by id changes only the keys it states and `null` removes an inherited one: the README
    says so, and the schema takes null on exactly the gate keys an override may remove (all but the id
    and the enabled/locked switches)."""
    reference = section("Policy reference")
    assert "**Overriding a gate by id merges.**" in reference
    assert "`null` removes an inherited key" in reference
    gate = json.loads((REPO / "schemas" / "policy.schema.json").read_text())["$defs"]["gate"]["properties"]

    def nullable(key: dict[str, object]) -> bool:
        types, values = key.get("type"), key.get("enum")
        return (isinstance(types, list) and "null" in types) or (isinstance(values, list) and None in values)

    assert {name for name, key in gate.items() if not nullable(key)} == {"id", "enabled", "locked"}
