"""The parser registry: report formats, their families, and reading many report arguments at once.

Each format is one module with `parse(path) -> Evidence`, imported only when a file of that format is
read, so start-up stays fast.  Formats are recognised by content (`detect`), never by file name;
`FORMAT:PATH` forces one.
"""

from __future__ import annotations

import importlib
import io
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO, cast

from gatekeeper.errors import InputError, UsageError, path_status
from gatekeeper.model import Evidence, ReportInput

#: How much of a report is read at a time (see `pieces`).
CHUNK_SIZE = 1 << 20


class Parser(Protocol):
    def __call__(self, path: Path) -> Evidence: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Format:
    name: str
    family: str  # "tests" | "coverage" | "security"
    module: str
    title: str


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(name="junit", family="tests", module="junit", title="JUnit XML (any dialect)"),
        Format(name="cobertura", family="coverage", module="cobertura", title="Cobertura XML"),
        Format(name="jacoco", family="coverage", module="jacoco", title="JaCoCo XML"),
        Format(name="clover", family="coverage", module="clover", title="Clover XML"),
        Format(name="lcov", family="coverage", module="lcov", title="LCOV tracefile"),
        Format(name="coverprofile", family="coverage", module="coverprofile", title="Go coverprofile"),
        Format(name="coverage-json", family="coverage", module="coveragepy", title="coverage.py JSON report"),
        Format(name="coverage-data", family="coverage", module="coveragepy", title="coverage.py data file"),
        Format(name="sarif", family="security", module="sarif", title="SARIF 2.1.0"),
        Format(name="bandit", family="security", module="bandit", title="bandit JSON"),
        Format(name="semgrep", family="security", module="semgrep", title="semgrep JSON"),
        Format(name="gitlab-security", family="security", module="gitlab", title="GitLab SAST / secret detection"),
        Format(name="gitleaks", family="security", module="gitleaks", title="gitleaks JSON"),
    )
}


def parser_for(format_name: str) -> Parser:
    """The parse function of a format, importing its module on first use."""
    parser = _PARSERS.get(format_name)
    if parser is None:
        fmt = FORMATS[format_name]
        module = importlib.import_module(f"gatekeeper.parsers.{fmt.module}")
        function_name = "parse_data_file" if format_name == "coverage-data" else "parse"
        parser = _PARSERS[format_name] = getattr(module, function_name)
    return parser


#: Parse functions already looked up: a directory of 2,000 reports asks 2,000 times.
_PARSERS: dict[str, Parser] = {}


@dataclass(frozen=True, slots=True)
class ReportArgument:
    """One file to read, with its format if the user forced one."""

    path: Path
    forced_format: str | None
    explicit: bool  # named directly (an error if unrecognised) rather than found by a directory walk


def split_forced_format(argument: str) -> tuple[str | None, str]:
    """`junit:out/results.xml` -> ("junit", "out/results.xml"); a Windows drive letter is not a format."""
    prefix, sep, rest = argument.partition(":")
    if sep and prefix in FORMATS:
        return prefix, rest
    looks_like_format = prefix.replace("-", "").isalpha() and len(prefix) > 1
    if sep and looks_like_format and path_status(argument) is None:
        known = ", ".join(FORMATS)
        raise UsageError(f"{argument}: unknown format '{prefix}' (known formats: {known})")
    return None, argument


def expand(arguments: Iterable[str]) -> list[ReportArgument]:
    """Files as given, directories walked, globs (incl. `**`) expanded; order kept, duplicates dropped."""
    found: dict[str, ReportArgument] = {}
    directories: dict[str, str] = {}
    for argument in arguments:
        forced, pattern = split_forced_format(argument)
        for report in _expand_one(pattern, forced):
            found.setdefault(_identity(report.path, directories), report)
    return list(found.values())


def _identity(path: Path, directories: dict[str, str]) -> str:
    """The same file named two ways (`a.xml`, `./x/../a.xml`, a symlink) is read once.

    Its real path; each directory's is worked out once (`directories`), since resolving a path costs a
    system call per directory on the way, and a Surefire directory holds thousands of files.
    """
    name = os.fspath(path)
    try:
        if os.path.islink(name):
            return os.path.realpath(name)
        parent, base = os.path.split(name)
        real = directories.get(parent)
        if real is None:
            real = directories[parent] = os.path.realpath(parent or ".")
        return os.path.join(real, base)
    except (OSError, RuntimeError, ValueError):
        return name


def _expand_one(pattern: str, forced: str | None) -> Iterator[ReportArgument]:
    import glob  # here, not at the top: only arguments need it, not `parser_for`

    path = Path(pattern)
    status = path_status(path)  # a name too long, a symlink loop: exit 2 naming it, as for a missing file
    if status is not None and stat.S_ISDIR(status.st_mode):
        yield from _walk(path, forced)
    elif status is not None or not glob.has_magic(pattern):
        yield ReportArgument(path, forced, explicit=True)
    else:
        matches = [(Path(m), path_status(m)) for m in sorted(glob.glob(pattern, recursive=True))]
        kinds = [(match, _kind(status)) for match, status in matches]
        if not any(kind for _match, kind in kinds):
            raise InputError(pattern, "no files match this pattern")
        for match, kind in kinds:
            if kind == "directory":
                yield from _walk(match, forced)
            elif kind == "file":
                yield ReportArgument(match, forced, explicit=True)


def _kind(status: os.stat_result | None) -> str | None:
    """What a glob's match is when it may be read: a file or a directory; None for a pipe or a broken link."""
    if status is None:
        return None
    if stat.S_ISDIR(status.st_mode):
        return "directory"
    return "file" if stat.S_ISREG(status.st_mode) else None


def _walk(directory: Path, forced: str | None) -> Iterator[ReportArgument]:
    """Regular files under `directory`, sorted, each directory's own before its subdirectories';
    hidden directories, links to directories, pipes and broken links are skipped, as are unreadable
    directories.  `os.scandir` tells files from directories without a `stat` per file."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    subdirectories = []
    for entry in entries:
        try:
            if entry.is_dir():
                if not entry.name.startswith(".") and not entry.is_symlink():
                    subdirectories.append(entry)
            elif entry.is_file():
                yield ReportArgument(Path(entry.path), forced, explicit=False)
        except OSError:
            continue
    for subdirectory in subdirectories:
        yield from _walk(Path(subdirectory.path), forced)


def pieces(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's bytes in pieces of at most CHUNK_SIZE; a file no larger than that in one exact read.

    `read(CHUNK_SIZE)` allocates CHUNK_SIZE before it reads: fresh pages from the kernel each time, whose
    page faults cost more than parsing on a directory of 2,000 small Surefire files (bench/README.md).
    A report opened by `open_report` is already read that way (`Source`).
    """
    if isinstance(stream, _Stream):
        yield from stream.pieces()
        return
    try:
        small = os.fstat(stream.fileno()).st_size <= CHUNK_SIZE
    except (AttributeError, OSError, ValueError):  # not a file (io.UnsupportedOperation is an OSError)
        small = False
    if small and (whole := stream.read()):
        yield whole
        return
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


class Source:
    """One report file, read once for its detection, its parse and its sha256 (`read_report`).

    Its first piece (the whole file, up to CHUNK_SIZE) is read when it is opened and serves detection;
    each stream `open_report` then hands a parser reads from that piece, then from the file by offset,
    so streams open side by side (SARIF's results and artifacts) never disturb each other.  The sha256
    takes each byte once, as a stream first reads past what is hashed; `sha256` reads only what no
    parser read (one that stops early, or coverage.py's data file, which SQLite reads).
    """

    __slots__ = ("_end", "_fd", "_hash", "_hashed", "head", "identity", "path")

    def __init__(self, path: Path, fd: int, status: os.stat_result) -> None:
        import hashlib  # here, not at the top: OpenSSL's import is a tenth of the parsers' start-up

        self.path = path
        self.identity = (status.st_dev, status.st_ino)  # the same file however it is named
        self._fd = fd
        # A file up to CHUNK_SIZE is read whole in one exact read: a short read of a regular file is its end.
        wanted = status.st_size + 1 if status.st_size < CHUNK_SIZE else CHUNK_SIZE
        self.head = os.read(fd, wanted)
        self._end: int | None = len(self.head) if len(self.head) < wanted else None
        self._hash = hashlib.sha256(self.head)
        self._hashed = len(self.head)

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes from `offset`: fewer only at the end of the file."""
        head = self.head
        if offset < len(head):
            part = head[offset : offset + size]  # the head itself, not a copy, when it is all wanted
            if len(part) == size or self._end is not None:
                return part
            return part + self._read(size - len(part), len(head))
        if self._end is not None and offset >= self._end:
            return b""
        return self._read(size, offset)

    def _read(self, size: int, offset: int) -> bytes:
        if _PREAD:
            data = os.pread(self._fd, size, offset)
        else:  # Windows: no pread; the descriptor is this Source's own
            os.lseek(self._fd, offset, os.SEEK_SET)
            data = os.read(self._fd, size)
        if len(data) < size:
            self._end = offset + len(data)
        if offset <= self._hashed < offset + len(data):
            self._hash.update(memoryview(data)[self._hashed - offset :])
            self._hashed = offset + len(data)
        return data

    def sha256(self) -> str:
        """The file's SHA-256, reading whatever the parser did not."""
        while self._end is None or self._hashed < self._end:
            if not self._read(CHUNK_SIZE, self._hashed):
                break
        return self._hash.hexdigest()

    def size(self) -> int:
        """The file's size now."""
        return os.fstat(self._fd).st_size

    def close(self) -> None:
        os.close(self._fd)


_PREAD = hasattr(os, "pread")


class _Stream:
    """A binary file object over a `Source`, at a position of its own (what parsers, ijson, json and
    `io.TextIOWrapper` call of one); plain and slotted, since a directory of small reports opens thousands."""

    __slots__ = ("_at", "_source", "closed")

    def __init__(self, source: Source) -> None:
        self._source = source
        self._at = 0
        self.closed = False

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *_: object) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_SIZE), b""))
        data = self._source.read_at(self._at, size)
        self._at += len(data)
        return data

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        if whence == io.SEEK_CUR:
            offset += self._at
        elif whence == io.SEEK_END:
            offset += self._source.size()
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        self._at = offset
        return offset

    def tell(self) -> int:
        return self._at

    def pieces(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk


#: The report `read_report` is reading: `open_report` reads its file through it.
_READING: ContextVar[Source | None] = ContextVar("gatekeeper_report_source", default=None)


def open_report(path: Path) -> BinaryIO:
    """`open(path, "rb")` for a parser or for detection: the one way they open a report.

    While `read_report` reads `path` this is a stream over its `Source`, so detection, parsing (in any
    number of passes and streams) and the sha256 share one read of each byte; otherwise a plain file.
    """
    source = _READING.get()
    if source is not None and (path is source.path or path == source.path):
        return cast(BinaryIO, _Stream(source))
    return open(path, "rb")


def open_report_text(path: Path) -> TextIO:
    """`open_report` as UTF-8 text, undecodable bytes replaced (the text formats: LCOV, coverprofile)."""
    return io.TextIOWrapper(open_report(path), encoding="utf-8", errors="replace")


def json_depth_problem(data: bytes) -> str | None:
    """Why a UTF-8 JSON text read whole (a verdict, a request body) is refused for its nesting, or None.

    Deeper than the readers' MAX_DEPTH, `json.loads` would hit Python's recursion limit; the guard
    counts brackets first, without building anything."""
    from gatekeeper.parsers._json import CHUNK_SIZE, MAX_DEPTH, DepthGuard

    guard = DepthGuard(MAX_DEPTH)
    if all(guard.feed(data[start : start + CHUNK_SIZE]) for start in range(0, len(data), CHUNK_SIZE)):
        return None
    return f"JSON nested deeper than {MAX_DEPTH} levels"


def read_report(path: Path, format_name: str | None = None) -> ReportInput:
    """Detect (unless forced) and parse one report file, and take its sha256, reading it once."""
    source = _open(path, quiet=False)
    assert source is not None
    try:
        report = _read(source, format_name, quiet=False)
    finally:
        source.close()
    assert report is not None
    return report


def _open(path: Path, quiet: bool) -> Source | None:
    """The file as a `Source`, or the one-line reason it cannot be read (None instead, when `quiet`).

    Only a regular file with something in it is opened: a pipe would block, opening some devices does
    something, and an empty file is no report.
    """
    try:
        status = os.stat(path)
        if stat.S_ISREG(status.st_mode) and status.st_size:
            fd = os.open(path, _OPEN_FLAGS)
            try:
                return Source(path, fd, status)
            except BaseException:
                os.close(fd)
                raise
        problem = "cannot read"  # it was readable a moment ago (`_check_readable` says otherwise)
    except OSError as error:
        problem = f"cannot read: {error.strerror or error}"
    if quiet:
        return None
    _check_readable(path)  # no such file, a directory, a pipe, permission denied, empty: as always
    raise InputError(path, problem)


#: Non-blocking: should the regular file become a pipe between `stat` and `open`, opening it returns.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _read(source: Source, format_name: str | None, quiet: bool) -> ReportInput | None:
    """Detect (unless forced), parse and hash an open report; None when `quiet` and it is no report."""
    from gatekeeper.parsers.detect import detect

    path = source.path
    fmt = format_name
    reading = _READING.set(source)
    try:
        if fmt is None:
            try:
                fmt = detect(path, source.head)
            except (InputError, OSError):
                if quiet:
                    return None
                raise
            if fmt is None:
                if quiet:
                    return None
                raise InputError(path, "not a report gatekeeper can read (use FORMAT:PATH to force a format)")
        evidence = parser_for(fmt)(path)
        digest = source.sha256()
    except InputError as error:
        if "\n" not in error.problem:
            raise
        # Errors are one line for the user; a library's multi-line message keeps its first line.
        first = next((line.strip() for line in error.problem.splitlines() if line.strip()), "unreadable")
        raise InputError(error.path, first) from None
    except (UnicodeDecodeError, ValueError) as error:
        first = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
        raise InputError(path, f"cannot read as {fmt or 'a report'}: {first}") from None
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror or error}") from None
    finally:
        _READING.reset(reading)
    return ReportInput(path=str(path), format=fmt, sha256=digest, evidence=evidence)


def _check_readable(path: Path) -> None:
    """Why `path` cannot be read, as one line."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError(path, "is a directory, not a report")
    if not stat.S_ISREG(status.st_mode):
        raise InputError(path, "not a regular file (pipes and devices cannot be read twice)")
    if not os.access(path, os.R_OK):
        raise InputError(path, "cannot read: permission denied")
    if status.st_size == 0:
        raise InputError(path, "is empty (0 bytes): no report was written")


def read_reports(arguments: Sequence[str]) -> list[ReportInput]:
    """Every report the arguments name (see `iter_reports`)."""
    return list(iter_reports(arguments))


def iter_reports(arguments: Sequence[str]) -> Iterator[ReportInput]:
    """Every report the arguments name, each file once, in argument order, read one at a time.

    A file named directly or matched by a glob must be a report.  Files found by walking a directory
    are skipped if unrecognised, but a directory with no report in it at all is an error, as a glob
    that matches nothing is: a gate must not pass because it was pointed at the wrong place.
    """
    seen: set[tuple[int, int]] = set()  # (device, inode): a file named two ways, or linked, is read once
    for argument in arguments:
        forced, pattern = split_forced_format(argument)
        looked_at = 0
        recognised = 0
        for candidate in _expand_one(pattern, forced):
            looked_at += 1
            quiet = candidate.forced_format is None and not candidate.explicit
            source = _open(candidate.path, quiet)
            if source is None:
                continue
            try:
                if source.identity in seen:  # read already, so a report
                    recognised += 1
                    continue
                report = _read(source, candidate.forced_format, quiet)
            finally:
                source.close()
            if report is None:
                continue
            recognised += 1
            seen.add(source.identity)
            yield report
        if not recognised:
            files = f"{looked_at} file{'s' if looked_at != 1 else ''}"
            raise InputError(pattern, f"no report found here ({files} looked at, none is a report format)")


def merge(reports: Iterable[ReportInput]) -> Evidence:
    """All reports' evidence as one: counts added, coverage merged per file by line."""
    evidence = Evidence()
    for report in reports:
        evidence = evidence + report.evidence
    return evidence
