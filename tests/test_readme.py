"""The README's references stay true: policy keys match the schema, metrics and exit codes the code."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

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


# --- the sample outputs are the real outputs ---------------------------------------------------------------

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ELISION = "…"  # a line of the sample holding only this: lines of the real output left out


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, content) of each fenced code block, in order, as CommonMark reads them."""
    from markdown_it import MarkdownIt

    return [(token.info.strip(), token.content) for token in MarkdownIt().parse(text) if token.type == "fence"]


def first_command(script: str) -> list[str]:
    """The first command of a shell block (continuation lines joined), with `gatekeeper` the installed script."""
    lines: list[str] = []
    for line in script.splitlines():
        lines.append(line.rstrip().removesuffix("\\"))
        if not line.rstrip().endswith("\\"):
            break
    words = shlex.split(" ".join(lines).split("   #", 1)[0])
    assert Path(words[0]).name == "gatekeeper", script
    return [GATEKEEPER, *words[1:]]


def real_output(command: list[str], tmp_path: Path) -> str:
    """The command's stdout as a user of a fresh clone sees it: in the repository, no CI, a store of its own."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI", "JENKINS", "GATEKEEPER"))
    }
    env["GATEKEEPER_STORE"] = str(tmp_path / "verdicts.db")
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.stderr == "", result.stderr
    return normalised(result.stdout)


def normalised(text: str) -> str:
    """Colours off, trailing blanks and lines gone, and what differs run to run (ids, times) replaced."""
    text = ANSI.sub("", text)
    text = re.sub(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<id>", text)
    text = re.sub(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?", "<time>", text)
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def assert_sample_shows(sample: str, real: str) -> None:
    """Each run of the sample's lines between elisions is a run of the real output's lines, in order; the
    sample starts where the output starts, and without a closing elision ends where it ends."""
    chunks: list[list[str]] = [[]]
    for line in normalised(sample).splitlines():
        if line.strip() == ELISION:
            chunks.append([])
        else:
            chunks[-1].append(line)
    lines = real.splitlines()
    position = 0
    for number, chunk in enumerate(chunks):
        if number == 0:
            found = 0 if lines[: len(chunk)] == chunk else -1
        else:
            found = next(
                (at for at in range(position, len(lines) - len(chunk) + 1) if lines[at : at + len(chunk)] == chunk), -1
            )
        assert found >= 0, f"README sample lines not in the real output:\n{chr(10).join(chunk)}\n--- real:\n{real}"
        position = found + len(chunk)
    if chunks[-1]:
        assert position == len(lines), f"the real output goes on after the README's sample:\n{real}"


def test_the_metrics_sample_is_the_real_output(tmp_path: Path) -> None:
    blocks = fenced_blocks(section("See what the gate will see: `gatekeeper metrics`"))
    (info, script), (_, sample) = blocks[0], blocks[1]
    assert info == "sh"
    assert_sample_shows(sample, real_output(first_command(script), tmp_path))


def test_the_text_output_sample_is_the_real_output(tmp_path: Path) -> None:
    """The sample after "The text output is a compact table" starts with the command that prints it (`$ …`)."""
    commands = section("Commands")
    sample = next(content for _, content in fenced_blocks(commands[commands.index("The text output is") :]))
    if not sample.startswith("$ "):
        pytest.fail(f"the text output sample names no command (a first line `$ gatekeeper check …`):\n{sample}")
    lines = sample.splitlines()
    ends = next(number for number, line in enumerate(lines) if not line.rstrip().endswith("\\"))
    command = first_command("\n".join(lines[: ends + 1]).removeprefix("$ "))
    assert_sample_shows("\n".join(lines[ends + 1 :]), real_output(command, tmp_path))
