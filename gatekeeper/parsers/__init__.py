"""The parser registry: report formats, their families, and reading many report arguments at once.

Each format is one module with `parse(path) -> Evidence`, imported only when a file of that format is
read, so start-up stays fast.  Formats are recognised by content (`detect`), never by file name;
`FORMAT:PATH` forces one.
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gatekeeper.errors import InputError, UsageError
from gatekeeper.model import Evidence, ReportInput


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
    if sep and prefix and prefix.replace("-", "").isalpha() and len(prefix) > 1 and not Path(argument).exists():
        known = ", ".join(FORMATS)
        raise UsageError(f"{argument}: unknown format '{prefix}' (known formats: {known})")
    return None, argument


def expand(arguments: Iterable[str]) -> list[ReportArgument]:
    """Files as given, directories walked, globs (incl. `**`) expanded; order kept, duplicates dropped."""
    found: dict[Path, ReportArgument] = {}
    for argument in arguments:
        forced, pattern = split_forced_format(argument)
        for report in _expand_one(pattern, forced):
            found.setdefault(report.path, report)
    return list(found.values())


def _expand_one(pattern: str, forced: str | None) -> Iterator[ReportArgument]:
    path = Path(pattern)
    if path.is_dir():
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
            for name in sorted(files):
                yield ReportArgument(Path(directory) / name, forced, explicit=False)
    elif path.exists() or not glob.has_magic(pattern):
        yield ReportArgument(path, forced, explicit=True)
    else:
        matches = sorted(glob.glob(pattern, recursive=True))
        files = [Path(m) for m in matches if Path(m).is_file()]
        if not files:
            raise InputError(pattern, "no files match this pattern")
        for file in files:
            yield ReportArgument(file, forced, explicit=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_report(path: Path, format_name: str | None = None) -> ReportInput:
    """Detect (unless forced) and parse one report file."""
    from gatekeeper.parsers.detect import detect

    _check_readable(path)
    fmt = format_name or detect(path)
    if fmt is None:
        raise InputError(path, "not a report gatekeeper can read (use FORMAT:PATH to force a format)")
    try:
        evidence = parser_for(fmt)(path)
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(path, f"cannot read as {fmt}: {error}") from None
    except OSError as error:
        raise InputError(path, f"cannot read: {error.strerror or error}") from None
    return ReportInput(path=str(path), format=fmt, sha256=sha256_of(path), evidence=evidence)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, not a report")
    if not os.access(path, os.R_OK):
        raise InputError(path, "cannot read: permission denied")


def read_reports(arguments: Sequence[str]) -> list[ReportInput]:
    """Every report the arguments name; files found by walking a directory are skipped if unrecognised."""
    from gatekeeper.parsers.detect import detect

    reports: list[ReportInput] = []
    for argument in expand(arguments):
        if argument.forced_format is None and not argument.explicit:
            try:
                detected = detect(argument.path)
            except InputError:
                continue
            if detected is None:
                continue
            reports.append(read_report(argument.path, detected))
        else:
            reports.append(read_report(argument.path, argument.forced_format))
    return reports


def merge(reports: Iterable[ReportInput]) -> Evidence:
    """All reports' evidence as one: counts added, coverage merged per file by line."""
    evidence = Evidence()
    for report in reports:
        evidence = evidence + report.evidence
    return evidence
