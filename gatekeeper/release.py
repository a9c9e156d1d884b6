"""Releases: a named set of (project, commit or pipeline) members, and whether it is ready to ship.

A release is ready only when every member's latest verdict is clear: decided (not `error`), no
blocking gate failed, and decided by a policy at or above the release's required maturity level.
"Latest" is the one the store recorded last (its own `received_at`), never the one that claims the
latest `created_at`: a verdict's time is its uploader's word, and must not shadow a newer real one.
A `warn` verdict is clear: by definition no *blocking* gate failed (the same reason `check` exits 0
on warn), so a release is never held back by gates its teams marked as advisory.

Pure: `assess` takes a lookup function, so the embedded store, the store server and the pages all
decide with this one code.  The only I/O is `load_release`, which reads a release file.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import InputError, PolicyError
from gatekeeper.model import Decision, GateStatus
from gatekeeper.policy.model import GateSeverity, assert_never

if TYPE_CHECKING:
    from gatekeeper.verdict import Verdict

#: A release name: it appears in URLs (`/api/v1/releases/NAME`) and file names, so a safe alphabet.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$"
_NAME = re.compile(NAME_PATTERN)
#: NAME_PATTERN in words: ASCII only, since a release's name is in URLs and file names.
NAME_RULE = "1-100 ASCII letters, digits, '.', '_', '+' or '-', starting with a letter or digit"
#: The maturity model's levels (README, "Maturity levels").
LEVELS = range(1, 6)
#: A member's project, commit or pipeline: free text as CI reports it, but one line and bounded.
_MAX_TEXT = 1000
_MAX_MEMBERS = 10_000
_MAX_FILE_BYTES = 4 << 20
#: A commit as git abbreviates it (README's releases name `9e8d7c6b5a4f`): 7 or more hex digits, short of
#: a full id.  Checks store the full id, so a member naming one matches the commits it starts.
_ABBREVIATED_COMMIT = re.compile(r"[0-9a-f]{7,63}")

JsonPath = tuple[str | int, ...]


class MemberState(str, enum.Enum):
    """What a member's latest verdict means for the release; only CLEAR lets it ship."""

    CLEAR = "clear"
    FAILED = "failed"  # a blocking gate failed
    ERROR = "error"  # the gate could not decide (bad or missing reports): not evidence of quality
    MISSING = "missing"  # no verdict recorded for this commit or pipeline
    WEAKER_LEVEL = "weaker-level"  # decided under a policy below the required maturity level


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One project at one commit or one pipeline run (exactly one of the two)."""

    project: str
    commit: str | None = None
    pipeline: str | None = None

    def __post_init__(self) -> None:
        if (self.commit is None) == (self.pipeline is None):
            raise ValueError("a release member names exactly one of commit and pipeline")

    @property
    def label(self) -> str:
        """`bank/ledger commit 3f2a9c1` — how messages name the member."""
        if self.commit is not None:
            return f"{self.project} commit {self.commit}"
        return f"{self.project} pipeline {self.pipeline}"

    def to_document(self) -> dict[str, str]:
        if self.commit is not None:
            return {"project": self.project, "commit": self.commit}
        return {"project": self.project, "pipeline": str(self.pipeline)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    """A named set of members; `level` is the maturity level (1-5) their policies must enforce, if any."""

    name: str
    level: int | None
    members: tuple[Member, ...]

    def to_document(self) -> dict[str, Any]:
        """The release as a release file / API body says it (loads back to an equal Release)."""
        return {
            "name": self.name,
            "level": self.level,
            "members": [member.to_document() for member in self.members],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberReadiness:
    """One member's state, the verdict that decided it, and sentences naming what blocks it."""

    member: Member
    state: MemberState
    verdict_id: str | None
    status: str | None  # the verdict's status: pass, warn, fail, error
    level: int | None  # the maturity level the verdict's policy enforces
    blockers: tuple[str, ...]
    keys: tuple[str, ...] = ()  # the issue keys its verdict's trace lists (issue 19)

    @property
    def clear(self) -> bool:
        return self.state is MemberState.CLEAR

    def to_document(self) -> dict[str, Any]:
        return {
            **self.member.to_document(),
            "state": self.state.value,
            "verdict_id": self.verdict_id,
            "status": self.status,
            "level": self.level,
            "blockers": list(self.blockers),
            "keys": list(self.keys),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Readiness:
    """A release's decision: ready only when every member is clear."""

    release: Release
    members: tuple[MemberReadiness, ...]

    @property
    def ready(self) -> bool:
        return all(member.clear for member in self.members)

    @property
    def blockers(self) -> tuple[str, ...]:
        """Every blocker, each prefixed with the member it holds back."""
        return tuple(f"{member.member.label}: {blocker}" for member in self.members for blocker in member.blockers)

    @property
    def keys(self) -> tuple[str, ...]:
        """The release's issue keys: those its members' verdicts trace, sorted."""
        return tuple(sorted({key for member in self.members for key in member.keys}))

    @property
    def keys_without_passing_verdict(self) -> tuple[str, ...]:
        """Keys no clear member's verdict (pass or warn, at the required level) names: requirements the
        release would ship on a verdict that did not pass."""
        passed = {key for member in self.members if member.clear for key in member.keys}
        return tuple(key for key in self.keys if key not in passed)

    def to_document(self) -> dict[str, Any]:
        return {
            "release": self.release.name,
            "level": self.release.level,
            "ready": self.ready,
            "blockers": list(self.blockers),
            "keys": list(self.keys),
            "keys_without_passing_verdict": list(self.keys_without_passing_verdict),
            "members": [member.to_document() for member in self.members],
        }


def commit_prefix(commit: str) -> str | None:
    """The prefix a member's commit abbreviates (lower case, as git writes ids), or None for any other text."""
    lowered = commit.lower()
    return lowered if _ABBREVIATED_COMMIT.fullmatch(lowered) else None


class AmbiguousCommit(Exception):
    """A member's abbreviated commit starts more than one commit of its project: which one ships is unclear,
    so the store says so rather than pick one (`assess` makes the member missing, naming the prefix)."""

    def __init__(self, project: str, prefix: str, commits: Sequence[str]) -> None:
        super().__init__(f"commit {prefix} is ambiguous: {project} has commits {', '.join(commits)} starting with it")
        self.project = project
        self.prefix = prefix
        self.commits = tuple(commits)


#: A store's lookup of a member's latest verdict: the stored document (the JSON edge), or None; it raises
#: AmbiguousCommit when the member's abbreviated commit starts more than one commit.
VerdictLookup = Callable[[Member], Mapping[str, Any] | None]


def assess(release: Release, verdict_for: VerdictLookup) -> Readiness:
    """Each member's state from its latest verdict (`verdict_for` returns it, or None when there is none)."""
    return Readiness(
        release=release,
        members=tuple(_assess_member(member, verdict_for, release.level) for member in release.members),
    )


def _assess_member(member: Member, verdict_for: VerdictLookup, required: int | None) -> MemberReadiness:
    try:
        document = verdict_for(member)
    except AmbiguousCommit as ambiguous:
        return _missing(member, f"{_text(str(ambiguous))}; give more of it")
    return _assess_stored(member, document, required)


def _missing(member: Member, blocker: str) -> MemberReadiness:
    """A member with no verdict to decide it (none recorded, or a short commit two commits share)."""
    return MemberReadiness(
        member=member, state=MemberState.MISSING, verdict_id=None, status=None, level=None, blockers=(blocker,)
    )


def _assess_stored(member: Member, document: Mapping[str, Any] | None, required: int | None) -> MemberReadiness:
    """A stored verdict read typed (v1 or v2); one that is no verdict (a store may hold anything) is an error."""
    from gatekeeper.verdict import parse

    if document is None:
        return assess_member(member, None, required)
    stored_id = document.get("id")
    try:
        verdict = parse(document, f"verdict {_text(stored_id)}")
    except InputError as error:
        return MemberReadiness(
            member=member,
            state=MemberState.ERROR,
            verdict_id=stored_id if isinstance(stored_id, str) else None,
            status=None,
            level=None,
            blockers=(_text(str(error)),),
        )
    return assess_member(member, verdict, required)


def assess_member(member: Member, verdict: Verdict | None, required: int | None) -> MemberReadiness:
    """One member's state.  The first problem names the state (missing, error, failed, weaker level);
    the blockers list every problem, so a fix for one does not reveal the next only on the next run."""
    if verdict is None:
        what = f"commit {member.commit}" if member.commit is not None else f"pipeline {member.pipeline}"
        return _missing(member, f"no verdict for {what}")
    level = verdict.maturity.level
    problems: list[tuple[MemberState, str]] = []
    if verdict.status is Decision.ERROR:
        problems.append((MemberState.ERROR, f"the gate could not decide: {_text(verdict.reason)}"))
    elif verdict.status is Decision.FAIL:
        problems.extend((MemberState.FAILED, sentence) for sentence in _failed_gates(verdict))
    elif verdict.status in (Decision.PASS, Decision.WARN):
        pass
    else:
        assert_never(verdict.status)
    if required is not None and (level is None or level < required):
        if level is None:
            sentence = f"policy {_text(verdict.policy.name)} enforces no maturity level; required {required}"
        else:
            sentence = f"policy level {level} < required {required}"
        problems.append((MemberState.WEAKER_LEVEL, sentence))
    return MemberReadiness(
        member=member,
        state=problems[0][0] if problems else MemberState.CLEAR,
        verdict_id=verdict.id,
        status=verdict.status.value,
        level=level,
        blockers=tuple(sentence for _, sentence in problems),
        keys=_trace_keys(verdict),
    )


def _trace_keys(verdict: Verdict) -> tuple[str, ...]:
    """The issue keys a verdict's trace lists (the change's, and each commit's), sorted; none without one."""
    trace = verdict.trace
    if trace is None:
        return ()
    keys = set(trace.keys)
    for commit in trace.commits or ():
        keys.update(commit.keys)
    return tuple(sorted(keys))


def _failed_gates(verdict: Verdict) -> list[str]:
    """`gate tests-all-pass failed: test pass rate 91.9% < 100% (…)` for each failed blocking gate."""
    sentences = [
        f"gate {_text(gate.id)} failed: {_text(gate.message)}"
        for gate in verdict.gates
        if gate.status is GateStatus.FAIL and gate.severity is GateSeverity.BLOCK
    ]
    return sentences or [f"the verdict failed: {_text(verdict.reason)}"]


def _text(value: Any) -> str:
    """A stored value as one line (a verdict's messages are ours, but the store may hold anything)."""
    text = "-" if value is None else str(value)
    return " ".join(text.split())


# -- release documents -------------------------------------------------------------------------------


class InvalidRelease(ValueError):
    """A release document with problems, each as (where in the document, what is wrong)."""

    def __init__(self, problems: Sequence[tuple[JsonPath, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{_where(path)}{message}" for path, message in self.problems))


def _where(path: JsonPath) -> str:
    return (
        "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".") + ": "
        if path
        else ""
    )


def release_problems(document: Any, *, name: str | None = None) -> list[tuple[JsonPath, str]]:
    """What is wrong with a release document (empty when nothing is).  `name`: the name it must have
    (the API's path); the document may then leave `name` out."""
    if not isinstance(document, Mapping):
        return [((), "a release must be a mapping with name, level and members")]
    problems: list[tuple[JsonPath, str]] = []
    for key in document:
        if key not in ("name", "level", "members", "description"):
            problems.append(((key,), f"unknown key '{key}' (a release has name, level, members, description)"))
    given = document.get("name")
    if given is None and name is None:
        problems.append((("name",), "the release needs a name"))
    elif isinstance(given, (int, float)) and not isinstance(given, bool):
        problems.append((("name",), f'name {given!r} is a number to YAML; quote it: name: "{given}"'))
    elif given is not None and (not isinstance(given, str) or not _NAME.fullmatch(given)):  # `$` passes a final \n
        problems.append((("name",), f"name {given!r} must be {NAME_RULE}"))
    elif given is not None and name is not None and given != name:
        problems.append((("name",), f"name {given!r} differs from {name!r}"))
    level = document.get("level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS):
        problems.append((("level",), f"level must be a maturity level 1-5 or null, not {level!r}"))
    if "description" in document and not isinstance(document["description"], str):
        problems.append((("description",), "description must be text"))
    members = document.get("members")
    if not isinstance(members, list) or not members:
        problems.append((("members",), "members must be a non-empty list of {project, commit or pipeline}"))
        return problems
    if len(members) > _MAX_MEMBERS:
        problems.append((("members",), f"more than {_MAX_MEMBERS} members"))
        return problems
    seen: dict[tuple[str, str, str], int] = {}
    for index, member in enumerate(members):
        at: JsonPath = ("members", index)
        if not isinstance(member, Mapping):
            problems.append((at, "a member must be a mapping: {project: …, commit: …} or {project: …, pipeline: …}"))
            continue
        for key in member:
            if key not in ("project", "commit", "pipeline"):
                problems.append(((*at, key), f"unknown key '{key}' (a member has project and commit or pipeline)"))
        # null is absent: the API answers {project, commit, pipeline: null}, and that must load back.
        given = {key for key in ("project", "commit", "pipeline") if member.get(key) is not None}
        values: dict[str, str] = {}
        for key in ("project", "commit", "pipeline"):
            if key not in given:
                continue
            problem = _member_text_problem(member[key], numbers=key == "pipeline")
            if problem is not None:
                problems.append(((*at, key), f"{key} {problem}"))
            else:
                values[key] = str(member[key])
        if "project" not in given:
            problems.append((at, "a member needs a project"))
        if ("commit" in given) == ("pipeline" in given):
            problems.append((at, "a member names exactly one of commit and pipeline"))
        if "project" in values and len(values) == 2:
            kind = "commit" if "commit" in values else "pipeline"
            key = (values["project"], kind, values[kind])
            if key in seen:
                problems.append(
                    (at, f"{values['project']} {kind} {values[kind]} is listed twice (first as member {seen[key] + 1})")
                )
            seen.setdefault(key, index)
    return problems


def _member_text_problem(value: Any, *, numbers: bool) -> str | None:
    """Pipelines may be numbers (GitLab's are); a commit must be text, since YAML reads a hash of
    digits as a number (and `0123` as octal), silently changing it."""
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return None if value >= 0 else f"must not be negative, not {value!r}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value!r} is a number to YAML; quote it"
    if not isinstance(value, str):
        return f"must be text, not {value!r}"
    text = str(value)
    if not text.strip():
        return "must not be empty"
    if len(text) > _MAX_TEXT or not text.isprintable():
        return "must be one line of at most 1000 printable characters"
    return None


def release_from_document(document: Any, *, name: str | None = None) -> Release:
    """The Release a document describes; InvalidRelease listing every problem otherwise."""
    problems = release_problems(document, name=name)
    if problems:
        raise InvalidRelease(problems)
    members = tuple(
        Member(
            project=str(member["project"]),
            commit=None if member.get("commit") is None else str(member["commit"]),
            pipeline=None if member.get("pipeline") is None else str(member["pipeline"]),
        )
        for member in document["members"]
    )
    return Release(name=str(document.get("name") or name), level=document.get("level"), members=members)


def load_release(path: str | Path) -> Release:
    """A release file (YAML or JSON); every problem as `file:line:column: problem` (PolicyError, exit 2)."""
    from gatekeeper.policy import locate_yaml

    path = Path(path)
    try:
        with path.open("rb") as file:
            raw = file.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(path, "no such release file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a release file") from None
    except OSError as error:
        raise InputError(path, f"cannot read the release file: {error.strerror or error}") from None
    if len(raw) > _MAX_FILE_BYTES:
        raise InputError(path, f"larger than {_MAX_FILE_BYTES >> 20} MiB, so not a release file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text, so not a release file") from None
    located = locate_yaml(path, text, "release file")
    problems = [(where, message) for where, message in located.problems]
    for at, message in release_problems(located.data):
        # A bad value is shown where the value is; an unknown key where the key is.
        key = at[-1] if at and isinstance(at[-1], str) else None
        unknown = key is not None and message.startswith("unknown key")
        position = located.where(at[:-1], key) if unknown else located.where(at)
        problems.append((position, message))
    if problems:
        problems.sort(key=lambda problem: problem[0])
        raise PolicyError([f"{path}:{line}:{column}: {message}" for (line, column), message in problems])
    return release_from_document(located.data)
