"""Bundled policy packs: the starter policy and one pack per level of each maturity model we map.

A policy names its model (`model: caict-devops-cd`); the verdict reports the level achieved by
evaluating that model's level packs on the same metrics, whatever level the team enforces.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gatekeeper.policy import Policy, load_policy, pack_name, resource_path
from gatekeeper.policy.load import load_policies

#: maturity model name (as policies write it) -> folder of its level packs under rules/
MODEL_PACKS = {"caict-devops-cd": "caict-cd"}
LEVELS = range(1, 6)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pack:
    name: str  # what `extends:` takes, e.g. caict-cd/level-3
    path: Path
    policy: str
    model: str | None
    level: int | None
    gates: int


def rules_directory() -> Path:
    return resource_path("rules")


def list_packs() -> list[Pack]:
    """Every bundled pack, loaded (so a broken pack shows up here first)."""
    root = rules_directory()
    packs = []
    for path in sorted(root.rglob("*.yaml")):
        policy = load_policy(path)
        packs.append(
            Pack(
                name=pack_name(path) or path.stem,
                path=path,
                policy=policy.name,
                model=policy.model,
                level=policy.level,
                gates=len(policy.gates),
            )
        )
    return packs


@cache
def model_levels(model: str | None) -> tuple[Policy, ...]:
    """The level packs of a maturity model, level 1 first; empty for a model we have no packs for."""
    folder = MODEL_PACKS.get(model or "")
    if folder is None:
        return ()
    return load_policies(resource_path("rules", folder, f"level-{level}.yaml") for level in LEVELS)
