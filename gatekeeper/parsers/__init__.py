"""The parser registry: report formats, their families, and reading many report arguments at once.

Each format is one module with `parse(path) -> Evidence`, imported only when a file of that format is
read, so start-up stays fast.  Formats are recognised by content (`detect`), never by file name;
`FORMAT:PATH` forces one.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from gatekeeper.errors import InputError, UsageError
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
    fmt = FORMATS[format_name]
    module = importlib.import_module(f"gatekeeper.parsers.{fmt.module}")
    function_name = "parse_data_file" if format_name == "coverage-data" else "parse"
    parser: Parser = getattr(module, function_name)
    return parser


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
    if sep and looks_like_format and not Path(argument).exists():
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
    if path.is_dir():
        yield from _walk(path, forced)
    elif path.exists() or not glob.has_magic(pattern):
        yield ReportArgument(path, forced, explicit=True)
    else:
        matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True))]
        if not any(m.is_file() or m.is_dir() for m in matches):
            raise InputError(pattern, "no files match this pattern")
        for match in matches:
            if match.is_dir():
                yield from _walk(match, forced)
            elif match.is_file():
                yield ReportArgument(match, forced, explicit=True)


def _walk(directory: Path, forced: str | None) -> Iterator[ReportArgument]:
    """Regular files under `directory`, sorted; hidden directories, pipes and broken links are skipped."""
    for root, subdirectories, files in os.walk(directory):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if path.is_file():
                yield ReportArgument(path, forced, explicit=False)


def pieces(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's bytes in pieces of at most CHUNK_SIZE; a file no larger than that in one exact read.

    `read(CHUNK_SIZE)` allocates CHUNK_SIZE before it reads: fresh pages from the kernel each time, whose
    page faults cost more than parsing on a directory of 2,000 small Surefire files (bench/README.md).
    """
    try:
        small = os.fstat(stream.fileno()).st_size <= CHUNK_SIZE
    except (AttributeError, OSError, ValueError):  # not a file (io.UnsupportedOperation is an OSError)
        small = False
    if small and (whole := stream.read()):
        yield whole
        return
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


def sha256_of(path: Path) -> str:
    import hashlib  # here, not at the top: OpenSSL's import is a tenth of the parsers' start-up

    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for piece in pieces(stream):
            digest.update(piece)
    return digest.hexdigest()


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
    """Detect (unless forced) and parse one report file."""
    from gatekeeper.parsers.detect import detect

    _check_readable(path)
    fmt = format_name
    try:
        fmt = fmt or detect(path)
        if fmt is None:
            raise InputError(path, "not a report gatekeeper can read (use FORMAT:PATH to force a format)")
        evidence = parser_for(fmt)(path)
        digest = sha256_of(path)
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
    return ReportInput(path=str(path), format=fmt, sha256=digest, evidence=evidence)


def _check_readable(path: Path) -> None:
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


def _detect_quietly(path: Path) -> str | None:
    """The format of a file found by a walk; anything unrecognisable is simply not a report."""
    from gatekeeper.parsers.detect import detect

    try:
        return detect(path)
    except (InputError, OSError):
        return None


def read_reports(arguments: Sequence[str]) -> list[ReportInput]:
    """Every report the arguments name (see `iter_reports`)."""
    return list(iter_reports(arguments))


def iter_reports(arguments: Sequence[str]) -> Iterator[ReportInput]:
    """Every report the arguments name, each file once, in argument order, read one at a time.

    A file named directly or matched by a glob must be a report.  Files found by walking a directory
    are skipped if unrecognised, but a directory with no report in it at all is an error, as a glob
    that matches nothing is: a gate must not pass because it was pointed at the wrong place.
    """
    seen: set[str] = set()
    directories: dict[str, str] = {}
    for argument in arguments:
        forced, pattern = split_forced_format(argument)
        looked_at = 0
        recognised = 0
        for candidate in _expand_one(pattern, forced):
            looked_at += 1
            fmt = candidate.forced_format
            if fmt is None and not candidate.explicit:
                fmt = _detect_quietly(candidate.path)
                if fmt is None:
                    continue
            recognised += 1
            identity = _identity(candidate.path, directories)
            if identity not in seen:
                seen.add(identity)
                yield read_report(candidate.path, fmt)
        if not recognised:
            files = f"{looked_at} file{'s' if looked_at != 1 else ''}"
            raise InputError(pattern, f"no report found here ({files} looked at, none is a report format)")


def merge(reports: Iterable[ReportInput]) -> Evidence:
    """All reports' evidence as one: counts added, coverage merged per file by line."""
    evidence = Evidence()
    for report in reports:
        evidence = evidence + report.evidence
    return evidence
