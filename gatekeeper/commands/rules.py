"""`gatekeeper rules validate|show|list`: read, check and inspect policies before a pipeline runs them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date
from typing import TextIO

from gatekeeper.engine import applies
from gatekeeper.policy import Gate, Policy, PolicyProblems, Problem, load_policy, validate_policy
from gatekeeper.policy.model import gate_document
from gatekeeper.status import ExitStatus
from gatekeeper.words import plural


def validate(files: Sequence[str], today: date, out: TextIO) -> ExitStatus:
    """Every file checked, every problem collected: a team fixes all its policies in one go.

    Files that hold are confirmed on `out`; the problems of the others are raised together, so the
    CLI prints them (as `file:line:column: problem`) and exits 2.
    """
    problems: list[Problem] = []
    for file in files:
        try:
            policy = validate_policy(file, today)
        except PolicyProblems as error:
            problems.extend(error.found)
            continue
        out.write(f"{file}: ok ({summary(policy)})\n")
    if problems:
        raise PolicyProblems(problems)
    return ExitStatus.PASS


def summary(policy: Policy) -> str:
    """ "7 gates, level 3 of caict-devops-cd": what the policy amounts to, in a few words."""
    count = f"{len(policy.gates)} gate{'' if len(policy.gates) == 1 else 's'}"
    if policy.model is not None and policy.level is not None:
        return f"{count}, level {policy.level} of {policy.model}"
    if policy.model is not None:
        return f"{count}, model {policy.model}"
    if policy.level is not None:
        return f"{count}, level {policy.level}"
    return count


def show(file: str, branch: str | None, out: TextIO) -> ExitStatus:
    """The effective policy as YAML that itself loads as a policy: what `check` will enforce, in one file.

    With a branch, only the gates that apply on it; the header names the files of the chain and the
    digest that verdicts record (that of the whole effective policy).  A comment above each gate says
    where each of its keys came from: an override by id changes only the keys it states.
    """
    import yaml

    policy = load_policy(file)
    shown = policy
    if branch is not None:
        shown = replace(policy, gates=tuple(gate for gate in policy.gates if applies(gate, branch)))
    header = [
        f"# effective policy {_comment(policy.name)}, after extends",
        "# files (this one first, then the policies it extends):",
        *(f"#   {_comment(path)}" for path in dict.fromkeys(policy.chain)),
        f"# digest: {policy.digest} (what verdicts record as policy.digest)",
    ]
    if branch is not None:
        apply = "applies" if len(shown.gates) == 1 else "apply"
        header.append(
            f"# branch {_comment(branch)}: only the {len(shown.gates)} of {plural(len(policy.gates), 'gate')} "
            f"that {apply} on it (the digest above is that of all gates)"
        )
    out.write("\n".join(header) + "\n")
    text = yaml.safe_dump(shown.as_document(), sort_keys=False, allow_unicode=True, width=100)
    origins = iter(shown.gates)
    for line in text.splitlines(keepends=True):
        if line.startswith("- id: "):  # a gate of the top-level `gates:` list (nested lists are indented)
            out.write(f"# {_comment(_provenance(next(origins)))}\n")
        out.write(line)
    return ExitStatus.PASS


def _provenance(gate: Gate) -> str:
    """ "line-coverage: min from team.yaml:9; id, criterion, metric from caict-cd/level-3:31; severity,
    if_absent by default": where each key of the effective gate was stated."""
    stated = dict(gate.origins)
    by_place: dict[str, list[str]] = {}
    defaults = []
    for key in gate_document(gate):
        if key in stated:
            by_place.setdefault(stated[key], []).append(key)
        else:
            defaults.append(key)
    parts = [f"{', '.join(keys)} from {place}" for place, keys in by_place.items()]
    if defaults:
        parts.append(f"{', '.join(defaults)} by default")
    return f"{gate.id}: {'; '.join(parts)}"


def _comment(text: str) -> str:
    """A value inside a YAML comment: a newline in it would end the comment and start YAML."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def list_packs(output_format: str, out: TextIO) -> ExitStatus:
    """The bundled packs: what to write after `extends:`, and what each one enforces."""
    from gatekeeper.packs import list_packs as bundled

    packs = bundled()
    if output_format == "json":
        rows = [{**asdict(pack), "path": str(pack.path)} for pack in packs]
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return ExitStatus.PASS
    header = ("extends:", "policy", "model", "level", "gates")
    table = [
        (pack.name, pack.policy, pack.model or "-", "-" if pack.level is None else str(pack.level), str(pack.gates))
        for pack in packs
    ]
    widths = [max(len(row[column]) for row in (header, *table)) for column in range(len(header))]
    for row in (header, *table):
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    return ExitStatus.PASS
