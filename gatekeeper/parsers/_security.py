"""What every security parser shares: the documented severity mapping, stable fingerprints, paths, and
the streaming checks that tell an empty report from the wrong kind of file."""

from __future__ import annotations

import hashlib
import re
from bisect import insort
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gatekeeper.errors import InputError
from gatekeeper.model import DETAILED_FINDINGS, SEVERITY_RANK, BaselineState, Finding, Severity, Suppression
from gatekeeper.parsers import open_report

#: SARIF `level` -> severity (DESIGN.md); the spec's default level is "warning".
SARIF_LEVELS = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "note": Severity.LOW,
    "none": Severity.INFO,
}
#: bandit's issue_severity, as named.
BANDIT_SEVERITIES = {
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "UNDEFINED": Severity.INFO,
}
#: semgrep's extra.severity: the classic ERROR/WARNING/INFO scale, and the newer named scale.
#: INVENTORY and EXPERIMENT rules record facts or try rules out; they are not problems -> info.
SEMGREP_SEVERITIES = {
    "ERROR": Severity.HIGH,
    "WARNING": Severity.MEDIUM,
    "INFO": Severity.LOW,
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "INVENTORY": Severity.INFO,
    "EXPERIMENT": Severity.INFO,
}
#: Severity words used by GitLab reports, gitleaks, trivy and SARIF `security-severity` strings.
SEVERITY_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "negligible": Severity.INFO,
    "unknown": Severity.INFO,
}
#: semgrep writes this instead of the matched code (and of its fingerprint) when not logged in.
REQUIRES_LOGIN = "requires login"
#: Messages are kept for people to read; longer ones (semgrep's SARIF holds whole rule docs) are cut.
MESSAGE_LIMIT = 500


def severity_from_score(score: float) -> Severity | None:
    """A CVSS-like `security-severity` score; None for 0 or less (the level decides then)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return None


def severity_from_security_severity(value: object) -> Severity | None:
    """A SARIF `security-severity`: a number, a numeric string ("5.3"), or a word ("HIGH", semgrep).

    None when it is absent, zero or unreadable: the SARIF level decides then.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        score = float(value)
    elif isinstance(value, str):
        try:
            score = float(value.strip())
        except ValueError:
            return SEVERITY_WORDS.get(value.strip().lower())
    else:
        return None
    return severity_from_score(score)  # NaN compares false everywhere: None


_LEADING_LINE_NUMBER = re.compile(r"^\s*\d+\s?", re.MULTILINE)


def fingerprint(tool: str, rule: str, path: str, text: str) -> str:
    """A finding's identity across runs: tool, rule, path and its snippet (or message), not its line.

    Line numbers that tools prefix to snippets (bandit) and whitespace are dropped, so a finding keeps
    its fingerprint when code above it moves.
    """
    material = "\x1f".join((tool.lower(), rule, path.replace("\\", "/"), _normalised(text)))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content(tool: str, rule: str, text: str, occurrence: int = 0) -> bytes:
    """What a finding is, without where: `fingerprint`'s material but the path, and the n-th identical
    finding in its file counted in, as 8 bytes of blake2b -- so a file's findings stay known when a change
    renames the file."""
    material = "\x1f".join((tool.lower(), rule, _normalised(text), str(occurrence)))
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=8).digest()


def _normalised(text: str) -> str:
    # On one line the pattern can only match a digit after the leading white space (`isdigit` takes in
    # every `\d`): most snippets are indented code, and the pattern costs as much as the hash.
    if "\n" in text or text.lstrip()[:1].isdigit():
        text = _LEADING_LINE_NUMBER.sub("", text)
    return " ".join(text.split())


#: A finding's place in `finding_order`, its index in the report, and the detail it keeps while among the
#: first DETAILED_FINDINGS: (rank, path, line or 0, index, message, suppression).
_Detail = tuple[int, str, int, int, str, Suppression | None]


@dataclass(slots=True)
class ReportFindings:
    """Collects one report's findings, compact.

    A finding holds what the gate needs: tool, rule, severity and the tool's word for it, path, line,
    fingerprint, suppression kind and baseline state.  The message (and a suppression's justification) is
    kept only for the report's first DETAILED_FINDINGS in `finding_order`, active and suppressed findings
    apart, since a verdict lists only its first few of each: a sorted list of at most that many details,
    which a finding enters only if it comes before the last (rarely, once the list is full).  `findings()`
    puts them back.  SARIF messages are up to 500 characters, and a cut one ends in "…", which makes
    Python store it two bytes a character: 100,000 results held 1 KiB of message each.

    Each tool name, rule id, severity word, path and suppression kind is kept as one object however often
    it recurs, and so is a kept message that repeats its rule's last one: each decoded result brings its
    own copies.  Fingerprints are unique within the report: the n-th finding with the same material
    (n > 0) gets n hashed in, as semgrep and GitHub do, so two identical findings in one file stay two
    findings for a baseline, and the first keeps the plain `fingerprint`.
    """

    _findings: list[Finding] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)
    _strings: dict[str, str] = field(default_factory=dict)
    _kinds: dict[str, Suppression] = field(default_factory=dict)
    _last_messages: dict[str, str] = field(default_factory=dict)
    _active_details: list[_Detail] = field(default_factory=list)
    _suppressed_details: list[_Detail] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._findings)

    def add(
        self,
        *,
        tool: str,
        rule: str,
        severity: Severity,
        tool_severity: str,
        path: str,
        line: int | None,
        message: str,
        material: str,
        suppression: Suppression | None = None,
        baseline_state: BaselineState | None = None,
    ) -> None:
        """One finding, its fingerprint from `material`; its message kept if it is among the first."""
        share = self._strings.setdefault
        tool, rule, path = share(tool, tool), share(rule, rule), share(path, path)
        index = len(self._findings)
        details = self._active_details if suppression is None else self._suppressed_details
        if len(details) < DETAILED_FINDINGS or (SEVERITY_RANK[severity], path, line or 0, index) < details[-1]:
            message = short_message(message)
            last = self._last_messages.get(rule)
            if last == message:
                message = last
            else:
                self._last_messages[rule] = message
            insort(details, (SEVERITY_RANK[severity], path, line or 0, index, message, suppression))
            if len(details) > DETAILED_FINDINGS:
                del details[-1]
        if suppression is not None:
            suppression = self._kinds.get(suppression.kind) or self._kinds.setdefault(
                suppression.kind, Suppression(kind=suppression.kind)
            )
        identity = self._identity(tool, rule, path, material)
        self._findings.append(
            Finding(
                tool=tool,
                rule=rule,
                severity=severity,
                tool_severity=share(tool_severity, tool_severity),
                path=path,
                line=line,
                message="",
                fingerprint=identity[0],
                suppression=suppression,
                baseline_state=baseline_state,
                content=identity[1],
            )
        )

    def findings(self) -> tuple[Finding, ...]:
        """Every finding in report order, the first ones in detail."""
        findings = self._findings
        for *_, index, message, suppression in (*self._active_details, *self._suppressed_details):
            findings[index] = replace(findings[index], message=message, suppression=suppression)
        self._active_details, self._suppressed_details = [], []
        return tuple(findings)

    def _identity(self, tool: str, rule: str, path: str, text: str) -> tuple[str, bytes]:
        """The finding's fingerprint and content; the n-th with the same fingerprint material is the n-th
        with the same content in the same file, and gets n into both."""
        base = fingerprint(tool, rule, path, text)
        occurrence = self._seen.get(base, 0)
        self._seen[base] = occurrence + 1
        found = content(tool, rule, text, occurrence)
        if occurrence == 0:
            return base, found
        return hashlib.sha256(f"{base}#{occurrence}".encode("ascii")).hexdigest()[:32], found


def digest(secret: str) -> str:
    """A secret's stand-in for fingerprint material: the secret itself never leaves the parser."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def short_message(text: str) -> str:
    """A message for people: stripped, and cut at MESSAGE_LIMIT characters."""
    text = text.strip()
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:([\\/]|$)")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def normalise_path(path: str) -> str:
    """Report paths compare equal across tools and OSes: forward slashes, no leading './' or 'file://'."""
    if path.startswith("file:"):
        return uri_to_path(path)
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def uri_to_path(uri: str) -> str:
    """A SARIF artifact URI as a path: `file:///abs` -> `/abs` (`file:///C:/x` -> `C:/x`), relative
    references (with or without a `uriBaseId` such as %SRCROOT%) stay relative, %-escapes decoded.

    Windows paths written where a URI belongs (`C:\\src\\a.py`) are taken as paths.
    """
    if _WINDOWS_DRIVE.match(uri):
        return normalise_path(uri)
    if uri.startswith("file:"):
        try:
            parts = urlsplit(uri)
        except ValueError:  # e.g. an unclosed "[" in the host part
            return normalise_path(unquote(re.sub(r"^file:/*", "/", uri)))
        path = unquote(parts.path)
        if re.match(r"^/[A-Za-z]:", path):
            path = path[1:]  # file:///C:/src -> C:/src
        elif parts.netloc and parts.netloc != "localhost":
            path = f"//{parts.netloc}{path}"  # a UNC share: file://server/share/x
        return path.replace("\\", "/")
    if _URI_SCHEME.match(uri):
        return uri  # another scheme (https:, git:): not a file path, kept as the tool wrote it
    return normalise_path(unquote(uri))


# -- streaming, and telling an empty report from the wrong kind of file ------------------------------


def not_a(path: Path, title: str, why: str) -> InputError:
    """The one-line error for a file forced to a format it is not."""
    return InputError(path, f"not a {title} report: {why}")


def stream(path: Path, prefix: str) -> Generator[Any, None, None]:
    """`_json.items`: streamed, nesting depth guarded, a BOM skipped, its errors already one line."""
    from gatekeeper.parsers import _json

    yield from _json.items(path, prefix)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


_SNIFF_BYTES = 256
_BOM = b"\xef\xbb\xbf"


def json_root(path: Path) -> str:
    """What the document at `path` starts as, from its first bytes: "object", "array", "null", "xml",
    "empty" or "other" -- enough to reject a file of the wrong kind before streaming it."""
    with open_report(path) as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    head = head.lstrip()
    if not head:
        return "empty"
    return {b"{": "object", b"[": "array", b"<": "xml"}.get(head[:1]) or (
        "null" if head.startswith(b"null") else "other"
    )


_ROOT_DESCRIPTIONS = {
    "object": "a JSON object",
    "array": "a JSON array",
    "null": "the JSON literal null",
    "xml": "an XML document",
    "empty": "an empty file",
    "other": "not JSON",
}


def expect_root(path: Path, title: str, *allowed: str) -> str:
    """The root kind of the document, or the one-line "not a … report" error if it is not allowed."""
    root = json_root(path)
    if root not in allowed:
        raise not_a(path, title, f"the file is {_ROOT_DESCRIPTIONS[root]}")
    return root


@dataclass(frozen=True, slots=True)
class Shape:
    """The top level of a JSON document: root kind, each top-level key's value kind, and how many
    entries the array under `counted` holds."""

    root: str
    keys: dict[str, str]
    counted: int = 0


_VALUE_KINDS = {"start_map": "object", "start_array": "array"}


def shape(path: Path, counted: str | None = None) -> Shape:
    """Stream the whole document once (no values built) and describe its top level.

    Only called when a format's main pass found nothing, to confirm that an empty report is a real one;
    so its cost falls on small files or on files of the wrong kind.
    """
    import ijson

    keys: dict[str, str] = {}
    root = ""
    count = 0
    pending: str | None = None
    item_prefix = f"{counted}.item" if counted else None
    with open_report(path) as handle:
        if handle.read(len(_BOM)) != _BOM:
            handle.seek(0)
        try:
            for prefix, event, _value in ijson.parse(handle):
                if not root:
                    root = _VALUE_KINDS.get(event, event)
                if pending is not None:
                    keys[pending] = _VALUE_KINDS.get(event, event)
                    pending = None
                elif event == "map_key" and prefix == "":
                    pending = _value
                elif prefix == item_prefix and event not in ("end_map", "end_array", "map_key"):
                    count += 1
        except ijson.JSONError as error:
            raise InputError(path, f"malformed JSON: {_first_line(str(error))}") from None
    return Shape(root=root, keys=keys, counted=count)


def require_array(path: Path, title: str, found: Shape, key: str) -> None:
    """The one-line error unless the document is an object with an array under `key`."""
    if found.root != "object":
        raise not_a(path, title, f"the file is {_ROOT_DESCRIPTIONS.get(found.root, 'not a JSON object')}")
    kind = found.keys.get(key)
    if kind is None:
        raise not_a(path, title, f'no top-level "{key}"')
    if kind != "array":
        raise not_a(path, title, f'top-level "{key}" is {_KIND_ARTICLES.get(kind, kind)}, not an array')


_KIND_ARTICLES = {
    "object": "an object",
    "string": "a string",
    "number": "a number",
    "null": "null",
    "boolean": "a boolean",
}


# -- reading untyped JSON values without tripping over a wrong type -----------------------------------


def as_dict(value: object) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """The value if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_str(value: object) -> str:
    """The value if it is a string, else ""."""
    return value if isinstance(value, str) else ""


def as_index(value: object) -> int | None:
    """The value if it is a whole number >= 0 (a line, an array index), else None."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
