"""SARIF 2.1.0, from any tool (CodeQL, semgrep, bandit, trivy, grype, gitleaks, ESLint, …).

Streamed, because a run's results are most of a SARIF file.  A result needs its run's rules (in
`tool.driver.rules` and `tool.extensions[].rules`), so the usual layout -- each run's `tool` before its
`results`, however many runs (merged logs have several) -- is read in one pass (`_OnePass`).  Anything
else is read as before, in two passes: pass one reads `runs.item.tool`, pass two
`runs.item.results.item`, since writers may put `tool` after `results`.  A streamed result does not say
which run it belongs to, so there a file with more than one run is read one whole run at a time.  That
count relies on every run naming its tool, as the spec requires: runs with no tool at all are rejected,
but a tool-less run beside one with a tool would pass for part of that one.  Both ways give the same
findings, notes and errors (an error met in one pass is reported by the two passes, which may meet
another one first).

Severity, as DESIGN.md says, and where the spec or the tools leave room:

- `security-severity` (the result's properties, else its rule's) decides first: a number or a numeric
  string ("5.3") by score (>=9 critical, >=7 high, >=4 medium, >0 low).  Semgrep's SARIF writes words
  there ("HIGH", "CRITICAL"); they are not numbers, so they map through `SEVERITY_WORDS`.
- Otherwise the SARIF level, taken as the spec (§3.27.10) takes it: the result's `level`; else `none`
  when its `kind` is present and not `fail` (the spec puts this before the rule's default, since such a
  result may have no other level); else its rule's `defaultConfiguration.level`; else `warning`.
  error->high, warning->medium, note->low, none->info.  An unknown level is bad input, not a guess.
- bandit's SARIF carries bandit's own word in `properties.issue_severity` and no `level` for MEDIUM.
  It is read like any SARIF (by level): bandit writes HIGH as `error` and LOW as `note` and leaves
  MEDIUM to the default `warning`, so the level rules give exactly bandit's HIGH/MEDIUM/LOW; only
  bandit's UNDEFINED (written as warning) becomes medium here where bandit JSON says info.
- `tool_severity` is the `security-severity` value when that decided, else the level in effect.

What counts: results whose `kind` is `pass`, `notApplicable` or `informational` are not problems, and
results with `baselineState: absent` are gone from the code; neither is a finding, and the input's notes
say how many were left out.  A result is suppressed (spec §3.27.23, §3.35) when its `suppressions` array
holds a suppression and none of them has `status` `underReview` or `rejected` (a suppression without a
status is taken as accepted): it becomes a finding that carries its first suppression's `kind`
(`inSource`, `external`) and `justification`, counted as waived, never as an active finding.  A
result's other `baselineState` (`new`, `unchanged`, `updated`) is kept on its finding; any other value
is bad input.

Rule id: `ruleId`, else `rule.id`, else the id of the rule found by index.  gitleaks 7.4 writes neither
and only says "<rule> secret detected": the rule is the run's rule whose id starts the message
(longest match), else the message itself; both are stable across runs.

Paths: the first location's `artifactLocation.uri` (or, when it has only an index, the run's
`artifacts[index]`); relative URIs, with or without a `uriBaseId` such as %SRCROOT%, stay relative;
`file:///abs` becomes `/abs`.  Fingerprint material: the region's snippet, else CodeQL's content hash
`partialFingerprints.primaryLocationLineHash` (a hash of the line's text, not its number), else the
message; never the line number.  Semgrep's own `fingerprints.matchBasedId/v1` is not used (it can be
the placeholder "requires login").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper.errors import InputError
from gatekeeper.model import BaselineState, Evidence, Severity, Suppression
from gatekeeper.parsers import _json, open_report
from gatekeeper.parsers._security import (
    REQUIRES_LOGIN,
    SARIF_LEVELS,
    ReportFindings,
    as_dict,
    as_index,
    as_list,
    as_str,
    expect_root,
    not_a,
    require_array,
    severity_from_security_severity,
    shape,
    stream,
    uri_to_path,
)
from gatekeeper.words import plural

TITLE = "SARIF"
#: Result kinds that report no problem (SARIF §3.27.9): the rule held, did not apply, or only informs.
_NOT_PROBLEMS = frozenset({"pass", "notApplicable", "informational"})
#: A suppression with one of these statuses does not (yet) suppress its result (§3.35.3).
_NOT_IN_FORCE = frozenset({"underReview", "rejected"})
_ARGUMENT = re.compile(r"\{(\d{1,9})\}")
#: `baselineState` values (§3.27.24), each kept as one shared string; "absent" results are no findings.
_BASELINE_STATES: dict[str, BaselineState] = {
    "new": "new",
    "unchanged": "unchanged",
    "updated": "updated",
    "absent": "absent",
}
#: Stands for an absent or malformed JSON object (`rule`, `message`); read only, never changed.
_EMPTY: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _Rule:
    """What a result needs from its rule (a reportingDescriptor), without the rule's help texts."""

    id: str
    level: str | None
    security_severity: object
    description: str
    messages: Mapping[str, str]
    #: What `security_severity` says, worked out once per rule rather than once per result.
    severity: Severity | None = None

    @classmethod
    def of(cls, raw: object) -> _Rule:
        rule = raw if isinstance(raw, dict) else {}
        configuration = as_dict(rule.get("defaultConfiguration"))
        level = configuration.get("level")
        messages = {
            key: value["text"]
            for key, value in as_dict(rule.get("messageStrings")).items()
            if isinstance(value, dict) and isinstance(value.get("text"), str)
        }
        security_severity = as_dict(rule.get("properties")).get("security-severity")
        return cls(
            id=as_str(rule.get("id")),
            level=level if isinstance(level, str) else None,
            security_severity=security_severity,
            description=as_str(as_dict(rule.get("shortDescription")).get("text")) or as_str(rule.get("name")),
            messages=messages,
            severity=severity_from_security_severity(security_severity),
        )


@dataclass(frozen=True, slots=True)
class _Component:
    """A tool component (the driver or an extension such as a CodeQL query pack) and its rules."""

    name: str
    guid: str
    rules: tuple[_Rule, ...]
    by_id: Mapping[str, _Rule]

    @classmethod
    def of(cls, raw: object) -> _Component:
        component = as_dict(raw)
        rules = tuple(_Rule.of(rule) for rule in as_list(component.get("rules")))
        by_id: dict[str, _Rule] = {}
        for rule in rules:
            by_id.setdefault(rule.id, rule)
        name, guid = as_str(component.get("name")), as_str(component.get("guid"))
        return cls(name=name, guid=guid, rules=rules, by_id=by_id)


@dataclass(frozen=True, slots=True)
class _Tool:
    name: str
    driver: _Component
    extensions: tuple[_Component, ...]

    @classmethod
    def of(cls, raw: object, where: str, path: Path) -> _Tool:
        if not isinstance(raw, dict) or not isinstance(raw.get("driver"), dict):
            raise not_a(path, TITLE, f"{where}.tool has no driver (SARIF 2.1.0 names its tool there)")
        driver = _Component.of(raw["driver"])
        extensions = tuple(_Component.of(extension) for extension in as_list(raw.get("extensions")))
        return cls(name=driver.name or "unknown", driver=driver, extensions=extensions)

    def component(self, reference: dict[str, Any]) -> _Component | None:
        """The component a `toolComponentReference` names: by index into extensions, guid or name."""
        if "index" in reference:
            index = as_index(reference["index"])
            return self.extensions[index] if index is not None and index < len(self.extensions) else None
        for key in ("guid", "name"):
            wanted = reference.get(key)
            if isinstance(wanted, str) and wanted:
                for component in (self.driver, *self.extensions):
                    if getattr(component, key) == wanted:
                        return component
        return None

    def rule_of(self, result: dict[str, Any]) -> _Rule | None:
        """The rule of a result: by index (in `rule.toolComponent`, else the driver), else by id."""
        if "rule" not in result:  # the usual shape: `ruleIndex` into the driver's rules, or only an id
            index = result.get("ruleIndex")
            if type(index) is int and 0 <= index < len(self.driver.rules):
                return self.driver.rules[index]
        reference = result.get("rule")
        if not isinstance(reference, dict):
            reference = _EMPTY
        component: _Component | None = self.driver
        if isinstance(reference.get("toolComponent"), dict):
            component = self.component(reference["toolComponent"])
        index = reference.get("index", result.get("ruleIndex"))
        if index is not None:
            index = as_index(index)
        if component is not None and index is not None and index < len(component.rules):
            return component.rules[index]
        rule_id = result.get("ruleId") or reference.get("id")
        if isinstance(rule_id, str) and rule_id:
            if component is not None and rule_id in component.by_id:
                return component.by_id[rule_id]
            for other in (self.driver, *self.extensions):
                if rule_id in other.by_id:
                    return other.by_id[rule_id]
        return None

    def rule_starting(self, text: str) -> _Rule | None:
        """The rule whose id starts a message ("AWS Access Key secret detected"), longest first."""
        best: _Rule | None = None
        for component in (self.driver, *self.extensions):
            for rule in component.rules:
                if rule.id and text.startswith(rule.id) and (best is None or len(rule.id) > len(best.id)):
                    best = rule
        return best


@dataclass(slots=True)
class _Reader:
    """Per-file state: the findings made (`ReportFindings`) and the tally of results that are not findings."""

    path: Path
    report: ReportFindings = field(default_factory=ReportFindings)
    not_problems: int = 0
    suppressed: int = 0
    absent: int = 0
    #: `uri_to_path` of each URI met: results of one report name the same files over and over.
    paths: dict[str, str] = field(default_factory=dict)

    def notes(self) -> tuple[str, ...]:
        notes = []
        if self.not_problems:
            are = "is not a finding" if self.not_problems == 1 else "are not findings"
            notes.append(f"{plural(self.not_problems, 'result')} of kind pass/notApplicable/informational {are}")
        if self.suppressed:
            notes.append(f"{plural(self.suppressed, 'result')} suppressed (SARIF suppressions): counted as waived")
        if self.absent:
            notes.append(f"{plural(self.absent, 'result')} with baselineState 'absent' (fixed) not counted")
        return tuple(notes)

    def evidence(self) -> Evidence:
        return Evidence(findings=self.report.findings(), notes=self.notes())

    def read(self, raw: object, tool: _Tool, artifacts: _Artifacts, run: int, index: int) -> None:
        """Result `index` of run `run` as a finding, or counted if it is not one.

        The hot loop of the parser: plain `isinstance` checks instead of helper calls where it counts.
        """
        if not isinstance(raw, dict):
            raise not_a(self.path, TITLE, f"{_where(run, index)} is not an object")
        result: dict[str, Any] = raw
        kind = result.get("kind")
        if isinstance(kind, str) and kind in _NOT_PROBLEMS:
            self.not_problems += 1
            return
        state = result.get("baselineState")
        if state is not None:
            if state == "absent":
                self.absent += 1
                return
            state = _BASELINE_STATES.get(state) if isinstance(state, str) else None
            if state is None:
                said = result["baselineState"]
                known = ", ".join(_BASELINE_STATES)
                raise not_a(self.path, TITLE, f"{_where(run, index)} has baselineState {said!r} (SARIF: {known})")
        suppressions = result.get("suppressions")
        suppression = _suppression(suppressions) if suppressions is not None else None
        if suppression is not None:
            self.suppressed += 1
        rule = tool.rule_of(result)
        message = result.get("message")
        text = message.get("text") if type(message) is dict else None
        if type(text) is not str or not text or text.isspace():  # else what _message would return
            text = _message(result, rule)
        reference = result.get("rule")
        rule_id = (
            result.get("ruleId")
            or (reference.get("id") if isinstance(reference, dict) else None)
            or (rule.id if rule else "")
        )
        if not isinstance(rule_id, str) or not rule_id:
            rule = tool.rule_starting(text)  # gitleaks 7.4: "<rule> secret detected"
            rule_id = rule.id if rule else text.splitlines()[0][:120] if text else "unknown"
        severity, tool_severity = self._severity(result, rule, run, index)
        uri, line, snippet = _location(result, artifacts)
        path = self.paths.get(uri)
        if path is None:
            path = self.paths[uri] = uri_to_path(uri) if uri else ""
        material = snippet
        if not material:
            hashes = result.get("partialFingerprints")
            line_hash = hashes.get("primaryLocationLineHash") if isinstance(hashes, dict) else None
            material = (line_hash if isinstance(line_hash, str) else "") or text
        self.report.add(
            tool=tool.name,
            rule=rule_id,
            severity=severity,
            tool_severity=tool_severity,
            path=path,
            line=line,
            message=text,
            material=material,
            suppression=suppression,
            baseline_state=state,
        )

    def _severity(self, result: dict[str, Any], rule: _Rule | None, run: int, index: int) -> tuple[Severity, str]:
        properties = result.get("properties")
        value = properties.get("security-severity") if isinstance(properties, dict) else None
        if value is not None:
            severity = severity_from_security_severity(value)
            if severity is not None:
                return severity, str(value)
        if rule is not None and rule.severity is not None:
            return rule.severity, str(rule.security_severity)
        level = result.get("level")
        if level is None:
            kind = result.get("kind")
            if kind is not None and kind != "fail":
                level = "none"
            elif rule is not None and rule.level is not None:
                level = rule.level
            else:
                level = "warning"
        if not isinstance(level, str) or level not in SARIF_LEVELS:
            known = ", ".join(SARIF_LEVELS)
            raise not_a(self.path, TITLE, f"{_where(run, index)} has level {level!r} (SARIF levels: {known})")
        return SARIF_LEVELS[level], level


def _where(run: int, index: int) -> str:
    """A result's place, for error messages."""
    return f"runs[{run}].results[{index}]"


@dataclass(slots=True)
class _Artifacts:
    """A run's `artifacts[].location.uri`, read only if a result names its file by index alone."""

    load: Iterable[object]
    uris: list[str] | None = None

    @classmethod
    def listed(cls, items: Iterable[object]) -> _Artifacts:
        """Artifacts already decoded: their URIs kept, the rest dropped."""
        return cls(load=(), uris=_uris(items))

    def uri(self, index: object) -> str:
        if self.uris is None:
            self.uris = _uris(self.load)
        position = as_index(index)
        return self.uris[position] if position is not None and position < len(self.uris) else ""


def _uris(artifacts: Iterable[object]) -> list[str]:
    return [as_str(as_dict(as_dict(item).get("location")).get("uri")) for item in artifacts]


def parse(path: Path) -> Evidence:
    """Every result of every run as a finding; `runs: []` is zero findings (with a note)."""
    expect_root(path, TITLE, "object")
    with _json.no_cyclic_gc():
        try:
            evidence = _OnePass(path).read()
        except InputError:
            evidence = None  # the two passes meet the same problem and report it as they always have
        return evidence if evidence is not None else _two_passes(path)


class _TwoPassesNeeded(Exception):
    """A result needs what the one pass cannot give in order (its run's artifacts, after the results)."""


def _artifacts_not_read_yet() -> Iterator[object]:
    raise _TwoPassesNeeded
    yield  # a generator: raised only if a result asks


@dataclass(slots=True)
class _OnePass:
    """One pass over a file whose runs each give their `tool` before their `results`.

    The document is walked as text (`_json.Text`) and each result decoded alone by json's C decoder,
    turned into a finding and dropped, so memory holds one result; a run's other members are decoded
    and dropped as they come, but for its `artifacts`, kept as URIs in case a result names its file by
    index alone.  Whatever else this meets (no run, `results` before `tool`, a key given twice, a result
    naming an artifact its run lists only later, any error) ends it with None or an InputError, and the
    two passes read the file.
    """

    path: Path
    reader: _Reader = field(init=False)
    #: `runs[0]`'s artifacts when they come after its results: streamed then, as the two passes do.
    streamed: _Artifacts = field(init=False)

    def __post_init__(self) -> None:
        self.reader = _Reader(self.path)
        self.streamed = _Artifacts(stream(self.path, "runs.item.artifacts.item"))

    def read(self) -> Evidence | None:
        with open_report(self.path) as raw:
            text = _json.Text(raw, self.path)
            if text.next_char() != "{":
                return None
            text.skip("{")
            runs = 0
            for name in text.member_names():
                if name != "runs":
                    text.value()
                    continue
                if runs or text.next_char() != "[":
                    return None
                text.skip("[")
                for run, _ in enumerate(text.elements()):
                    runs += 1
                    try:
                        if not self._run(text, run):
                            return None
                    except _TwoPassesNeeded:
                        return None
                if not runs:
                    return None
            if not runs or text.next_char():
                return None
        if runs > 1 and self.streamed.uris is not None:
            return None  # the stream holds every run's artifacts: right for one run only
        return self.reader.evidence()

    def _run(self, text: _json.Text, run: int) -> bool:
        """Read `runs[run]` at the cursor; False if it is not laid out for one pass."""
        if text.next_char() != "{":
            return False
        text.skip("{")
        tool: _Tool | None = None
        artifacts = self.streamed if run == 0 else _Artifacts(_artifacts_not_read_yet())
        seen: set[str] = set()
        for name in text.member_names():
            if name in seen and name in ("tool", "results", "artifacts"):
                return False
            seen.add(name)
            if name == "tool":
                tool = _Tool.of(text.value(), f"runs[{run}]", self.path)
            elif name == "artifacts" and "results" not in seen:
                artifacts = _Artifacts.listed(as_list(text.value()))
            elif name == "results" and text.next_char() == "[":
                if tool is None:
                    return False  # results first: they would have to wait for the tool
                text.skip("[")
                read = self.reader.read
                for index, _ in enumerate(text.elements()):
                    read(text.value(), tool, artifacts, run, index)
            else:
                text.value()
        return tool is not None


def _two_passes(path: Path) -> Evidence:
    """Any layout: pass one reads every run's tool, pass two the results (or each whole run in turn)."""
    reader = _Reader(path)
    tools = [_Tool.of(raw, f"runs[{i}]", path) for i, raw in enumerate(stream(path, "runs.item.tool"))]
    if not tools:
        found = shape(path, counted="runs")
        require_array(path, TITLE, found, "runs")
        if found.counted:
            raise not_a(path, TITLE, f"{plural(found.counted, 'run')} without a tool")
        return Evidence(findings=(), notes=("SARIF file has no runs: it names no tool and gives no results",))
    if len(tools) == 1:
        _single_run(path, tools[0], reader)
    else:
        _runs_one_by_one(path, reader)
    return reader.evidence()


def _single_run(path: Path, tool: _Tool, reader: _Reader) -> None:
    artifacts = _Artifacts(stream(path, "runs.item.artifacts.item"))
    for index, raw in enumerate(stream(path, "runs.item.results.item")):
        reader.read(raw, tool, artifacts, 0, index)


def _runs_one_by_one(path: Path, reader: _Reader) -> None:
    """More than one run: hold one run at a time, so each result meets its own run's rules."""
    for run_index, run in enumerate(stream(path, "runs.item")):
        where = f"runs[{run_index}]"
        if not isinstance(run, dict):
            raise not_a(path, TITLE, f"{where} is not an object")
        tool = _Tool.of(run.get("tool"), where, path)
        artifacts = _Artifacts.listed(as_list(run.get("artifacts")))
        for index, raw in enumerate(as_list(run.get("results"))):
            reader.read(raw, tool, artifacts, run_index, index)


def _message(result: dict[str, Any], rule: _Rule | None) -> str:
    """message.text, else .markdown, else the rule's messageStrings[message.id] with its arguments."""
    message = result.get("message")
    if not isinstance(message, dict):
        message = _EMPTY
    for key in ("text", "markdown"):
        text = message.get(key)
        if isinstance(text, str) and text.strip():
            return text
    if rule is not None:
        template = rule.messages.get(as_str(message.get("id")))
        if template is not None:
            arguments = [str(a) for a in as_list(message.get("arguments"))]
            return _ARGUMENT.sub(lambda m: _nth(arguments, int(m.group(1)), m.group(0)), template)
        return rule.description
    return ""


def _location(result: dict[str, Any], artifacts: _Artifacts) -> tuple[str, int | None, str]:
    """URI, start line and snippet of the result's first physical location."""
    try:  # the usual shape, checked at once; anything else takes the careful way below
        physical = result["locations"][0]["physicalLocation"]
        uri, region = physical["artifactLocation"]["uri"], physical["region"]
        line, text = region["startLine"], region["snippet"]["text"]
    except (KeyError, IndexError, TypeError):
        pass
    else:
        if (
            type(uri) is str
            and type(line) is int
            and line >= 0
            and type(text) is str
            and (REQUIRES_LOGIN not in text or text.strip() != REQUIRES_LOGIN)
        ):
            return uri, line, text
    return _careful_location(result, artifacts)


def _careful_location(result: dict[str, Any], artifacts: _Artifacts) -> tuple[str, int | None, str]:
    locations = result.get("locations")
    location = locations[0] if isinstance(locations, list) and locations else None
    physical = location.get("physicalLocation") if isinstance(location, dict) else None
    if not isinstance(physical, dict):
        return "", None, ""
    artifact = physical.get("artifactLocation")
    if not isinstance(artifact, dict):
        artifact = {}
    uri = artifact.get("uri")
    if not isinstance(uri, str):
        uri = artifacts.uri(artifact.get("index")) if "index" in artifact else ""
    region = physical.get("region")
    if not isinstance(region, dict):
        return uri, None, ""
    snippet = region.get("snippet")
    text = snippet.get("text") if isinstance(snippet, dict) else None
    if not isinstance(text, str) or text.strip() == REQUIRES_LOGIN:
        text = ""
    return uri, as_index(region.get("startLine")), text


def _suppression(suppressions: object) -> Suppression | None:
    """The result's first suppression if the result is suppressed, else None.

    Suppressed: the array holds a suppression object and none is `underReview` or `rejected` (§3.27.23);
    one such status keeps the result active however many others accept it.
    """
    objects = [s for s in as_list(suppressions) if isinstance(s, dict)]
    if not objects or any(s.get("status") in _NOT_IN_FORCE for s in objects):
        return None
    first = objects[0]
    return Suppression(kind=as_str(first.get("kind")) or "unknown", justification=as_str(first.get("justification")))


def _nth(values: list[str], index: int, default: str) -> str:
    return values[index] if index < len(values) else default
