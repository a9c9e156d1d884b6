"""Loading a policy: one file and everything it `extends`, merged by gate id, every problem in one pass.

Every problem is a `Problem` at `file:line:column`, all of them at once (locked gates included), so a
team fixes its policy in one go.  A gate that reuses an inherited id changes only the keys it states;
`null` removes an inherited key.  The effective policy carries a digest that verdicts record.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from gatekeeper.errors import PolicyError, path_status, shown_path
from gatekeeper.policy import located as yaml_reader
from gatekeeper.policy.lint import authoring_problems, gate_semantics, semantic_problems
from gatekeeper.policy.located import Located, Location
from gatekeeper.policy.messages import condition_problems, not_a_policy, schema_problems, valid_extends
from gatekeeper.policy.model import (
    CLEAR_AFTER,
    THRESHOLD_KEYS,
    WINDOW_DAYS,
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
    gate_document,
)
from gatekeeper.policy.problems import PolicyProblems, Problem
from gatekeeper.policy.resources import bundled_pack, cache_directory, pack_name

#: Bounds on what one policy may reach through `extends` (with MAX_POLICY_BYTES per file): files in one
#: chain (a team's, its organisation's, five levels of a pack need 7), and distinct files in all.
MAX_EXTENDS_DEPTH = 32
MAX_POLICY_FILES = 256
_POLICY_SUFFIXES = (".yaml", ".yml")

#: The inherited condition keys a stated key replaces, because the two cannot stand together: stating
#: `equals` drops an inherited `min`, stating `all:` drops the inherited metric and its thresholds.
_REPLACES: dict[str, tuple[str, ...]] = {
    "metric": ("all", "any"),
    "min": ("equals", "max_decrease", "max_increase", "all", "any"),
    "max": ("equals", "max_decrease", "max_increase", "all", "any"),
    "equals": ("min", "max", "max_decrease", "max_increase", "all", "any"),
    "max_decrease": ("min", "max", "equals", "max_increase", "all", "any"),
    "max_increase": ("min", "max", "equals", "max_decrease", "all", "any"),
    "all": ("metric", *THRESHOLD_KEYS, "any"),
    "any": ("metric", *THRESHOLD_KEYS, "all"),
}


def load_policy(path: str | Path) -> Policy:
    """Load a policy file and everything it extends; raise PolicyError listing every problem.

    Each file is loaded once however often the `extends` graph reaches it (25 files each extending the
    next twice are 25 loads, not 2**25), within MAX_EXTENDS_DEPTH, MAX_POLICY_FILES and MAX_POLICY_BYTES.
    """
    return _Loader(today=None).load(Path(path))


def load_policies(paths: Iterable[str | Path]) -> tuple[Policy, ...]:
    """`load_policy` of each path, in order, by one loader: a file several of them extend is read and merged
    once (a model's five level packs, each extending the one below: 5 files, not 15); PolicyError listing
    every problem of all of them."""
    loader = _Loader(today=None)
    return loader.load_all([Path(path) for path in paths])


def validate_policy(path: str | Path, today: date) -> Policy:
    """`load_policy`, plus the checks that are mistakes to an author but must not stop a `check` run.

    An expired waiver only stops applying at run time (the verdict lists it), and a gate whose `when`
    excludes every branch it names does no harm there; `rules validate` reports both as errors, with
    the place, in every file of the chain, beside every other problem.
    """
    return _Loader(today=today).load(Path(path))


class _Loader:
    """One `load_policy`: the files read so far (each once), and every problem found in any of them."""

    def __init__(self, today: date | None) -> None:
        self.today = today  # set: also the authoring checks of `rules validate`
        self.loaded: dict[Path, Policy | None] = {}  # by resolved path; None: it has problems
        self.files: dict[str, int] = {}  # file name -> rank: problems of the file given first, then its parents
        self.problems: dict[Problem, None] = {}

    def load(self, path: Path) -> Policy:
        policy = self._file(path, _name(path), ())
        if policy is None or self.problems:
            raise PolicyProblems(sorted(self.problems, key=self._order))
        return policy

    def load_all(self, paths: list[Path]) -> tuple[Policy, ...]:
        """Each path's policy; one loaded already (as a parent of an earlier one) is not read again."""
        policies: list[Policy] = []
        for path in paths:
            resolved = _real(path)
            if resolved not in self.loaded:
                self.loaded[resolved] = self._file(path, _name(path), ())
            policy = self.loaded[resolved]
            if policy is None or self.problems:
                raise PolicyProblems(sorted(self.problems, key=self._order))
            policies.append(policy)
        return tuple(policies)

    def _order(self, problem: Problem) -> tuple[int, int, int, str]:
        return (self.files.get(problem.file, len(self.files)), problem.line, problem.column, problem.message)

    def _report(self, name: str, problems: Iterable[tuple[Location, str]]) -> None:
        for (line, column), message in problems:
            self.problems[Problem(name, line, column, message)] = None

    def _file(self, path: Path, name: str, seen: tuple[Path, ...]) -> Policy | None:
        """One file merged with its parents, or None when it or a parent has problems (recorded)."""
        self.files.setdefault(name, len(self.files))
        try:
            located, reason, checked = _checked(name, yaml_reader.read_policy_text(path, name))
        except PolicyProblems as error:
            self.problems.update(dict.fromkeys(error.found))
            return None
        if reason is not None:
            self._report(name, [(located.where(()), reason)])
            return None
        own = list(checked)
        if self.today is not None:
            own.extend(authoring_problems(located, self.today))
        parents = self._parents(path, name, located, (*seen, path))
        if parents is None:
            # What each gate inherits is unknown: check only those that state a whole condition.
            for index, gate in _indexed(located):
                if gate.get("enabled") is not False and {"metric", "all", "any"} & set(gate):
                    own.extend(condition_problems(gate, ("gates", index), located))
            self._report(name, own)
            return None
        inherited = self._inherited(parents, path)
        merged = self._merge(located, name, inherited, own)
        self._report(name, own)
        if own or merged is None:
            return None
        return _policy(path, name, located, merged, inherited, parents)

    def _parents(self, path: Path, name: str, located: Located, chain: tuple[Path, ...]) -> list[Policy] | None:
        """The policies this file extends, loaded; None when one could not be (its problems recorded)."""
        extends = located.data.get("extends", [])
        if not valid_extends(extends):
            return []  # the schema problem is this file's; there is nothing sound to follow
        single = not isinstance(extends, list)
        parents: list[Policy] = []
        complete = True
        for index, target in enumerate([extends] if single else extends):
            line, column = located.where(("extends",) if single else ("extends", index))

            def refuse(message: str, line: int = line, column: int = column) -> None:
                self.problems[Problem(name, line, column, message)] = None

            label = target if isinstance(target, str) else target["url"]
            try:
                parent_path, parent_name = _resolve_extends(path, target)
            except PolicyError as error:
                for problem in error.problems:
                    refuse(problem)
                complete = False
                continue
            resolved = _real(parent_path)
            if any(resolved == _real(earlier) for earlier in chain):
                cycle = " -> ".join(str(p) for p in (*chain, parent_path))
                refuse(f"extends '{label}' makes a cycle: {cycle}")
                complete = False
                continue
            if resolved not in self.loaded:
                if len(chain) >= MAX_EXTENDS_DEPTH:
                    refuse(f"extends '{label}' goes more than {MAX_EXTENDS_DEPTH} files deep; refused")
                    return None
                if len(self.loaded) >= MAX_POLICY_FILES:
                    refuse(f"extends '{label}' goes more than {MAX_POLICY_FILES} files in all; refused")
                    return None
                self.loaded[resolved] = self._file(parent_path, parent_name, chain)
            parent = self.loaded[resolved]
            if parent is None:
                complete = False
            else:
                parents.append(parent)
        return parents if complete else None

    def _inherited(self, parents: list[Policy], path: Path) -> dict[str, Gate]:
        """Parents' gates in their order, by id; a later parent may not replace a gate an earlier one locks
        (the same gate reached twice, through two parents extending one pack, is no override)."""
        gates: dict[str, Gate] = {}
        for parent in parents:
            for gate in parent.gates:
                earlier = gates.get(gate.id)
                if earlier is not None and earlier.locked and gate != earlier:
                    message = (
                        f"gate '{gate.id}' is locked by {earlier.source} and cannot be overridden "
                        f"(both are extended by {path})"
                    )
                    self.problems[Problem(gate.file, gate.line, 0, message)] = None
                    continue
                gates[gate.id] = gate
        return gates

    def _merge(
        self, located: Located, name: str, inherited: dict[str, Gate], problems: list[tuple[Location, str]]
    ) -> list[tuple[bool, Gate]] | None:
        """This file's gates merged with those they override: (enabled, gate) for each; problems (locked
        gates, conditions that do not hold together) appended to `problems`.  None when a gate is unsound.

        A gate a parent marks `locked` is the organisation's: overriding or switching it off is an error,
        and so is switching off a gate no parent has (a typo would otherwise do nothing, silently).
        """
        merged: list[tuple[bool, Gate]] = []
        sound = not problems  # gates are built only from a document the schema passes
        for index, gate in _indexed(located):
            gate_id = gate.get("id")
            parent = inherited.get(gate_id) if isinstance(gate_id, str) else None
            enabled = gate.get("enabled") is not False
            if parent is not None and parent.locked:
                where = located.where(("gates", index, "id")) if enabled else located.where(("gates", index), "enabled")
                action = "overridden" if enabled else "switched off"
                problems.append((where, f"gate '{gate_id}' is locked by {parent.source} and cannot be {action}"))
                sound = False
                continue
            if not enabled:
                if parent is None and isinstance(gate_id, str):
                    message = f"'enabled: false' on gate '{gate_id}', which no extended policy defines"
                    problems.append((located.where(("gates", index, "id")), message))
                if parent is not None:
                    merged.append((False, parent))
                continue
            line = located.where(("gates", index))[0]
            document, origins = _merged(parent, gate, f"{name}:{line}")
            shape = condition_problems(document, ("gates", index), located)
            problems.extend(shape)
            if parent is not None:  # an inherited bound may not stand beside a stated one (min above max)
                problems.extend(gate_semantics(document, ("gates", index), located))
            sound = sound and not shape
            if sound:
                merged.append((True, _gate(document, name, line, origins)))
        return merged if sound else None


@lru_cache(maxsize=64)
def _checked(name: str, text: str) -> tuple[Located, str | None, tuple[tuple[Location, str], ...]]:
    """A policy file's text read as YAML and checked on its own (why it is no policy at all, else its
    duplicate keys, schema and semantic problems): once per process for each text, however many loads reach
    it.  `check` with a CAICT level policy loads the model's five level packs too, each extending the one
    below: 18 reads of 5 files (issue 16).  What depends on more than the text (the date, the parents) is
    checked by the caller; nothing changes a Located once read, so one may serve every load."""
    located = yaml_reader.locate_yaml(name, text, "policy file")
    reason = not_a_policy(located.data)
    if reason is not None:
        return located, reason, ()
    return located, None, (*located.problems, *schema_problems(located), *semantic_problems(located))


def _indexed(located: Located) -> list[tuple[int, dict[str, Any]]]:
    gates = located.data.get("gates")
    listed = gates if isinstance(gates, list) else []
    return [(index, gate) for index, gate in enumerate(listed) if isinstance(gate, dict)]


def _merged(parent: Gate | None, stated: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The effective gate as policy keys, and where each key came from: `stated` over `parent`'s keys.

    A key given `null` is removed (a default applies again); a stated condition key replaces the
    inherited ones it cannot stand beside (see _REPLACES).
    """
    document = gate_document(parent) if parent is not None else {}
    origins = dict(parent.origins) if parent is not None else {}
    for key, value in stated.items():
        if key == "enabled":
            continue
        if value is not None:
            for replaced in _REPLACES.get(key, ()):
                if replaced not in stated:
                    document.pop(replaced, None)
                    origins.pop(replaced, None)
        if value is None:
            document.pop(key, None)
            origins.pop(key, None)
            continue
        document[key] = value
        if key != "id" or key not in origins:
            origins[key] = where
    return document, origins


def _condition(document: dict[str, Any]) -> Condition:
    for group in ("all", "any"):
        if group in document:
            operator: GroupOperator = Operator.ALL if group == "all" else Operator.ANY
            return Group(operator=operator, conditions=tuple(_condition(c) for c in document[group]))
    metric = document["metric"]
    for key in ("max_decrease", "max_increase"):
        if key in document:
            ratchet: RatchetOperator = Operator.MAX_DECREASE if key == "max_decrease" else Operator.MAX_INCREASE
            return Ratchet(metric=metric, operator=ratchet, allowed=float(document[key]))

    def bound(key: str) -> float | None:
        value = document.get(key)
        return None if value is None else float(value)

    return Comparison(metric=metric, min=bound("min"), max=bound("max"), equals=bound("equals"))


def _gate(document: dict[str, Any], name: str, line: int, origins: dict[str, str]) -> Gate:
    branches = (document.get("when") or {}).get("branch", ())
    return Gate(
        id=document["id"],
        condition=_condition(document),
        criterion=document.get("criterion", ""),
        description=document.get("description", ""),
        severity=GateSeverity(document.get("severity", "block")),
        if_absent=IfAbsent(document.get("if_absent", "fail")),
        branches=(branches,) if isinstance(branches, str) else tuple(branches),
        locked=document.get("locked", False),
        min_new_lines=document.get("min_new_lines"),
        file=name,
        line=line,
        origins=tuple((key, origins[key]) for key in document if key in origins),
    )


def _policy(
    path: Path,
    name: str,
    located: Located,
    gates: list[tuple[bool, Gate]],
    inherited: dict[str, Gate],
    parents: list[Policy],
) -> Policy:
    """This file's policy: the inherited gates in their order, overridden in place; new gates appended;
    waivers added up (a waiver reached through two parents is one waiver)."""
    document = located.data
    waivers = []
    for index, waiver in enumerate(document.get("waivers", [])):
        match = waiver["match"]
        expires = waiver.get("expires")
        waivers.append(
            Waiver(
                reason=waiver["reason"],
                tool=match.get("tool"),
                rule=match.get("rule"),
                path=match.get("path"),
                fingerprint=match.get("fingerprint"),
                owner=waiver.get("owner", ""),
                expires=date.fromisoformat(expires) if expires else None,
                source=f"{name}:{located.where(('waivers', index))[0]}",
            )
        )
    quarantine = _quarantine(name, located)
    effective = dict(inherited)
    inherited_waivers: dict[Waiver, None] = {}
    inherited_quarantine: dict[Quarantine, None] = {}
    chain: dict[str, None] = {name: None}
    for parent in parents:
        inherited_waivers.update(dict.fromkeys(parent.waivers))
        inherited_quarantine.update(dict.fromkeys(parent.quarantine))
        chain.update(dict.fromkeys(parent.chain))
    for enabled, gate in gates:
        if enabled:
            effective[gate.id] = gate
        else:
            effective.pop(gate.id, None)
    first = parents[0] if parents else None

    def own(key: str, value: Any, default: Any) -> Any:
        return value if key in document or first is None else default

    return Policy(
        name=document["policy"],
        path=str(path),
        model=own("model", document.get("model"), first.model if first else None),
        level=own("level", document.get("level"), first.level if first else None),
        gates=tuple(effective.values()),
        waivers=tuple(dict.fromkeys((*inherited_waivers, *waivers))),
        quarantine=tuple(dict.fromkeys((*inherited_quarantine, *quarantine))),
        reports=tuple(document.get("reports", ())) or (first.reports if first else ()),
        baseline_branch=own(
            "baseline", document.get("baseline", {}).get("branch", "main"), first.baseline_branch if first else "main"
        ),
        trace_key_pattern=document.get("trace", {}).get("key_pattern", first.trace_key_pattern if first else None),
        **_flaky(document.get("flaky", {}), first),
        chain=tuple(chain),
    )


def _flaky(stated: dict[str, int], parent: Policy | None) -> dict[str, int]:
    """The flaky window and clearing count: each as stated here, else as the first parent has it."""
    window = parent.flaky_window_days if parent else WINDOW_DAYS
    clear = parent.flaky_clear_after if parent else CLEAR_AFTER
    return {
        "flaky_window_days": stated.get("window_days", window),
        "flaky_clear_after": stated.get("clear_after", clear),
    }


def _quarantine(name: str, located: Located) -> list[Quarantine]:
    """This file's quarantine entries (the schema has checked them), each knowing its `file:line`."""
    return [
        Quarantine(
            test=entry["test"],
            reason=entry["reason"],
            owner=entry["owner"],
            expires=date.fromisoformat(entry["expires"]),
            source=f"{name}:{located.where(('quarantine', index))[0]}",
        )
        for index, entry in enumerate(located.data.get("quarantine", []))
    ]


def _resolve_extends(path: Path, target: str | dict[str, str]) -> tuple[Path, str]:
    """A parent policy and what to call it: a pinned URL (fetched once), a path beside this file, or a
    bundled pack (by its name).  Raises PolicyError whose problems are messages about this `extends`."""
    if isinstance(target, dict):
        from gatekeeper.policy.fetch import fetch_pinned

        cached = fetch_pinned(target["url"], target["sha256"])
        return cached, f"{target['url']} (cached as {cached})"
    if _is_fetched(path):
        bundled = bundled_pack(target)
        if bundled is not None:
            return bundled, _name(bundled)
        raise PolicyError([f"extends '{target}': a fetched policy may extend only bundled packs or pinned URLs"])
    relative = path.parent / target

    def unreadable(_path: str, problem: str) -> PolicyError:
        return PolicyError([f"extends '{shown_path(target)}': {problem}"])

    status = path_status(relative, unreadable) if target.endswith(_POLICY_SUFFIXES) else None
    if status is not None and stat.S_ISREG(status.st_mode):
        return relative, _name(relative)
    bundled = bundled_pack(target)
    if bundled is not None:
        return bundled, _name(bundled)
    if not target.endswith(_POLICY_SUFFIXES):
        # Never read: a policy file is YAML, and `extends: /etc/shadow` must not open a secret.
        problem = "no bundled pack of that name, and a policy file's name ends in .yaml or .yml"
    else:
        problem = "no such file and no bundled pack of that name"
    raise PolicyError([f"extends '{target}': {problem}"])


def _name(path: Path) -> str:
    """What messages call a parent file: a bundled pack by its name, any other file by its path."""
    return pack_name(path) or str(path)


def _is_fetched(path: Path) -> bool:
    """Policies fetched by URL live in the cache; their relative `extends` would mean nothing."""
    try:
        _real(path).relative_to(cache_directory().resolve())
    except ValueError:
        return False
    return True


def _real(path: Path) -> Path:
    """Its real path, or its absolute one when that cannot be worked out (a symlink loop raises
    RuntimeError on Python 3.11): reading the file then says why it cannot be read."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()
