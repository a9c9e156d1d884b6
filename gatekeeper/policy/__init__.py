"""Policies: YAML gate rules tied to a maturity model, loaded with positions, extended, merged, checked.

The modules by job: `model` (the typed policy), `located` (YAML with positions, bounded), `load`
(`extends`, merging by gate id, limits), `messages` (the schema's findings in an author's words), `lint`
(what the schema cannot check), `fetch` (organisation policies by pinned URL), `problems` (`Problem`).
"""

from __future__ import annotations

from gatekeeper.policy.lint import never_applies
from gatekeeper.policy.load import MAX_EXTENDS_DEPTH, MAX_POLICY_FILES, load_policy, validate_policy
from gatekeeper.policy.located import MAX_POLICY_BYTES, locate_yaml
from gatekeeper.policy.model import (
    POLICY_FORMAT,
    THRESHOLD_KEYS,
    Comparison,
    Condition,
    Gate,
    GateSeverity,
    Group,
    GroupOperator,
    IfAbsent,
    Operator,
    Policy,
    Quarantine,
    Ratchet,
    RatchetOperator,
    Waiver,
    assert_never,
    canonical_json,
)
from gatekeeper.policy.problems import PolicyProblems, Problem
from gatekeeper.policy.resources import bundled_pack, pack_name, resource_path

__all__ = [
    "MAX_EXTENDS_DEPTH",
    "MAX_POLICY_BYTES",
    "MAX_POLICY_FILES",
    "POLICY_FORMAT",
    "THRESHOLD_KEYS",
    "Comparison",
    "Condition",
    "Gate",
    "GateSeverity",
    "Group",
    "GroupOperator",
    "IfAbsent",
    "Operator",
    "Policy",
    "PolicyProblems",
    "Problem",
    "Quarantine",
    "Ratchet",
    "RatchetOperator",
    "Waiver",
    "assert_never",
    "bundled_pack",
    "canonical_json",
    "load_policy",
    "locate_yaml",
    "never_applies",
    "pack_name",
    "resource_path",
    "validate_policy",
]
