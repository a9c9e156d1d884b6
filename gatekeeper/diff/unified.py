"""Read a unified diff — git's own output, or a file given with `--diff-file` — into its changed files.

One parser for both, so a change computed here and the same change saved with `git diff > x.diff`
count the same lines.  Paths in git's headers are C-quoted when unusual (`"a/sp\\303\\251c.py"`); a
path with a space ends with a TAB.  Hunks carry their own line counts, so a body cut short is an
error, never a silently smaller change.  unidiff would parse this too, but builds an object per diff
line; here a 5,000-file change is one pass over bytes keeping only line numbers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gatekeeper.change import ChangedFile, FileStatus
from gatekeeper.model import line_mask

_HUNK = re.compile(rb"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}
_DEV_NULL = "/dev/null"


class DiffError(Exception):
    """The text is not a unified diff, or is a cut one; `line` is where that showed (1-based)."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}" if line else problem)


@dataclass(slots=True)
class FileDiff:
    """One file's section of a diff, as its headers and hunks say."""

    header_old: str | None = None  # from `diff --git` or `rename from`: for sections with no ---/+++ lines
    header_new: str | None = None
    old_path: str | None = None  # from `---`/`+++`
    new_path: str | None = None
    from_null: bool = False  # `--- /dev/null`: an added file
    to_null: bool = False  # `+++ /dev/null`: a deleted file
    status: FileStatus | None = None  # as the extended headers say, if they do
    binary: bool = False
    added: list[int] = field(default_factory=list)
    removed: int = 0
    git: bool = False
    paths_seen: bool = False

    def changed_file(self) -> ChangedFile:
        new = self.new_path or (None if self.to_null else self.header_new)
        old = self.old_path or (None if self.from_null else self.header_old)
        status = self.status
        if status is None:
            status = FileStatus.ADDED if self.from_null else FileStatus.DELETED if self.to_null else FileStatus.MODIFIED
        path = (old if status is FileStatus.DELETED else new) or old or new or ""
        return ChangedFile(
            path=path,
            status=status,
            added=line_mask(self.added),
            lines_added=len(self.added),
            lines_removed=self.removed,
            old_path=old if status in (FileStatus.RENAMED, FileStatus.COPIED) else None,
            binary=self.binary,
        )


def unquote(raw: bytes) -> str:
    """A path as git writes it in a header: C-quoted (`"a\\tb\\303\\251"`) or bare; bytes kept via fsdecode."""
    if not raw.startswith(b'"') or not raw.endswith(b'"') or len(raw) < 2:
        return os.fsdecode(raw)
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i : i + 1]
        if char != b"\\":
            out += char
            i += 1
            continue
        following = body[i + 1 : i + 2]
        if following in _ESCAPES:
            out.append(_ESCAPES[following])
            i += 2
        elif body[i + 1 : i + 4].isdigit() and len(body[i + 1 : i + 4]) == 3:
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:  # not an escape git writes: keep the backslash
            out += char
            i += 1
    return os.fsdecode(bytes(out))


def _header_path(raw: bytes, prefix: bytes | None) -> str | None:
    """The path of a `---`/`+++` line's rest: timestamp or TAB cut, quotes undone, `a/`/`b/` stripped."""
    raw = raw.rstrip(b"\r\n")
    # `diff -u` writes a timestamp after a TAB, git a TAB after a name with a space; a quoted name ends at its quote
    raw = raw[: _closing_quote(raw) + 1] if raw.startswith(b'"') else raw.split(b"\t", 1)[0]
    path = unquote(raw)
    if path == _DEV_NULL:
        return None
    if prefix is not None and path.startswith(os.fsdecode(prefix)):
        path = path[len(prefix) :]
    return path


def _closing_quote(raw: bytes) -> int:
    """Where the C-quoted string `raw` starts with ends (its closing quote), or its last byte if unclosed."""
    i = 1
    while i < len(raw):
        if raw[i : i + 1] == b"\\":
            i += 2
        elif raw[i : i + 1] == b'"':
            return i
        else:
            i += 1
    return len(raw) - 1


def _git_header_paths(rest: bytes) -> tuple[str | None, str | None]:
    """`a/x b/y` of a `diff --git` line; only trusted for identical names (a space makes it ambiguous)."""
    rest = rest.rstrip(b"\r\n")
    if rest.startswith(b'"'):
        end = _closing_quote(rest)
        old, new = rest[: end + 1], rest[end + 2 :]
    else:
        half = (len(rest) - 1) // 2
        old, new = rest[:half], rest[half + 1 :]
        if not (old.startswith(b"a/") and new.startswith(b"b/") and old[2:] == new[2:]):
            space = rest.find(b" b/")
            if space < 0:
                return None, None
            old, new = rest[:space], rest[space + 1 :]
    first, second = unquote(old), unquote(new)
    return (first[2:] if first.startswith("a/") else first), (second[2:] if second.startswith("b/") else second)


def sections(lines: Iterable[bytes]) -> Iterator[FileDiff]:
    """Each file's section of a unified diff, in order; a DiffError where the text is no diff or is cut.

    Lines outside any section (a mail header, `Only in …`, a commit message) are skipped, as `patch` does.
    """
    current: FileDiff | None = None
    old_left = new_left = 0  # lines of the open hunk still to come
    new_line = 0
    number = 0
    pending_old: bytes | None = None  # a `---` line waiting for its `+++`
    for number, line in enumerate(lines, 1):  # `number` names the line of an error
        if old_left or new_left:
            first = line[:1]
            if first == b"+":
                current.added.append(new_line)  # type: ignore[union-attr]
                new_line += 1
                new_left -= 1
            elif first == b"-":
                current.removed += 1  # type: ignore[union-attr]
                old_left -= 1
            elif first == b" " or line in (b"\n", b"\r\n", b""):  # some tools strip a context line's space
                new_line += 1
                new_left -= 1
                old_left -= 1
            elif first == b"\\":
                continue
            else:
                raise DiffError(number, f"hunk cut short: {old_left} old and {new_left} new lines still expected")
            if old_left < 0 or new_left < 0:
                raise DiffError(number, "hunk longer than its @@ header says")
            continue
        if line.startswith(b"@@"):
            match = _HUNK.match(line)
            if match is None or current is None:
                raise DiffError(number, "hunk header outside a file section or not `@@ -a,b +c,d @@`")
            old_left = int(match[2]) if match[2] is not None else 1
            new_left = int(match[4]) if match[4] is not None else 1
            new_line = int(match[3])
            continue
        if line.startswith(b"diff --git "):
            if current is not None:
                yield current
            current = FileDiff(git=True)
            current.header_old, current.header_new = _git_header_paths(line[11:])
            pending_old = None
            continue
        if line.startswith(b"--- "):
            pending_old = line[4:]
            continue
        if line.startswith(b"+++ ") and pending_old is not None:
            if current is None or current.paths_seen or not current.git:
                if current is not None:
                    yield current
                current = FileDiff()
            git_style = current.git or (pending_old.startswith(b"a/") and line[4:].startswith(b"b/"))
            current.old_path = _header_path(pending_old, b"a/" if git_style else None)
            current.new_path = _header_path(line[4:], b"b/" if git_style else None)
            current.from_null, current.to_null = current.old_path is None, current.new_path is None
            current.paths_seen = True
            pending_old = None
            continue
        if current is None:
            continue
        if current.paths_seen and line[:1] in (b"+", b"-") and line.rstrip() != b"--":  # `-- ` opens a mail's signature
            raise DiffError(number, "a changed line outside any hunk: the hunk is longer than its @@ header says")
        if line.startswith((b"Binary files ", b"GIT binary patch")):
            current.binary = True
        elif line.startswith(b"new file mode"):
            current.status = FileStatus.ADDED
        elif line.startswith(b"deleted file mode"):
            current.status = FileStatus.DELETED
        elif line.startswith(b"rename from "):
            current.status, current.header_old = FileStatus.RENAMED, _header_path(line[12:], None)
        elif line.startswith(b"rename to "):
            current.header_new = _header_path(line[10:], None)
        elif line.startswith(b"copy from "):
            current.status, current.header_old = FileStatus.COPIED, _header_path(line[10:], None)
        elif line.startswith(b"copy to "):
            current.header_new = _header_path(line[8:], None)
    if old_left or new_left:
        raise DiffError(number, f"the diff ends inside a hunk: {old_left} old and {new_left} new lines missing")
    if pending_old is not None:
        raise DiffError(number, "a `---` header with no `+++` after it")
    if current is not None:
        yield current


def changed_files(lines: Iterable[bytes]) -> list[ChangedFile]:
    """The files a unified diff changes; a DiffError if it has no file section at all."""
    files = [section.changed_file() for section in sections(lines)]
    return files
