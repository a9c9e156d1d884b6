"""Map the paths reports give onto the repository's paths, so a report's file meets the change's file.

Reports name files their own way: Cobertura relative to its `<source>` roots, JaCoCo by package
(`org/acme/Foo.java` for `src/main/java/org/acme/Foo.java`), LCOV often absolute (and from another
machine's checkout), coverage.py relative to where it ran, SARIF relative to a `uriBaseId`.  Each is
tried in order: as given, under the repository root, under each `<source>`, then by whole path
components from the end — where exactly one repository file matches.  What maps to nothing (a
vendored or generated file, or an ambiguous `__init__.py`) is listed in the report's notes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from xml.parsers import expat

from gatekeeper.model import Coverage, Evidence, FileCoverage, ReportInput

_ABSOLUTE = re.compile(r"^(/|[A-Za-z]:/|//)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # `https:`, `git:` and the like (a drive is one letter)
#: Report files named in a note; the rest are counted.
NAMED_IN_NOTE = 10


@dataclass(frozen=True, slots=True)
class RepositoryPaths:
    """The repository's files, indexed by file name for matching by components from the end."""

    files: frozenset[str]
    roots: tuple[str, ...]  # the work tree's absolute path, as given and resolved (POSIX)
    by_name: dict[str, tuple[str, ...]]
    #: False when only the change's files are known (a --diff-file outside a clone): nothing to note then.
    complete: bool = True
    #: Where gatekeeper runs, relative to the root ("" at the root): relative report paths start there first.
    here: str = ""

    @classmethod
    def of(cls, files: Iterable[str], root: Path | None, *, complete: bool = True, here: str = "") -> RepositoryPaths:
        names: dict[str, list[str]] = {}
        unique = frozenset(files)
        for path in unique:
            names.setdefault(path.rsplit("/", 1)[-1], []).append(path)
        roots = () if root is None else tuple(dict.fromkeys((root.as_posix(), root.resolve().as_posix())))
        return cls(unique, roots, {name: tuple(paths) for name, paths in names.items()}, complete, here.strip("/"))


class _Mapper:
    """One report's path mapping, remembered per path (a report names the same files over and over)."""

    def __init__(self, repository: RepositoryPaths, sources: Sequence[str]) -> None:
        self.repository = repository
        self.sources = [_clean(source) for source in sources if source.strip()]
        self.known: dict[str, str | None] = {}
        self.unmapped: list[str] = []

    def __call__(self, path: str) -> str:
        if path in self.known:
            return self.known[path] or path
        mapped = self._map(path) if path and not _SCHEME.match(path) else path
        self.known[path] = mapped
        if mapped is None:
            self.unmapped.append(path)
        return mapped or path

    def _map(self, path: str) -> str | None:
        files = self.repository.files
        path = _clean(path)
        candidates = [path]
        if not _ABSOLUTE.match(path):
            here = self.repository.here
            candidates = [_clean(f"{here}/{path}")] if here else []
            candidates += [path, *(_clean(f"{source}/{path}") for source in self.sources)]
        for candidate in candidates:
            relative = self._under_root(candidate)
            if relative is not None and relative in files:
                return relative
        for candidate in candidates:
            match = self._by_suffix(candidate)
            if match is not None:
                return match
        return None

    def _under_root(self, path: str) -> str | None:
        if not _ABSOLUTE.match(path):
            return path
        for root in self.repository.roots:
            if path.startswith(root.rstrip("/") + "/"):
                return path[len(root.rstrip("/")) + 1 :]
        return None

    def _by_suffix(self, path: str) -> str | None:
        """The one repository file sharing the most trailing components with `path`, one a suffix of the other."""
        parts = path.strip("/").split("/")
        best: list[str] = []
        best_length = 0
        for candidate in self.repository.by_name.get(parts[-1], ()):
            other = candidate.split("/")
            shared = 0
            for mine, theirs in zip(reversed(parts), reversed(other), strict=False):
                if mine != theirs:
                    break
                shared += 1
            if shared not in (len(parts), len(other)):
                continue  # `a/x/f.py` is not `b/x/f.py`, however much they share
            if shared > best_length:
                best, best_length = [candidate], shared
            elif shared == best_length:
                best.append(candidate)
        return best[0] if len(best) == 1 else None


def _clean(path: str) -> str:
    """POSIX separators, `.`/`..` folded, no trailing slash; a Windows drive kept as is."""
    path = path.strip().replace("\\", "/")
    if not path:
        return path
    leading = "//" if path.startswith("//") else ""
    folded = posixpath.normpath(path)
    return leading + folded.lstrip("/") if leading else ("" if folded == "." else folded)


def align(evidence: Evidence, repository: RepositoryPaths, sources: Sequence[str] = ()) -> Evidence:
    """`evidence` with its coverage files and finding paths re-keyed onto repository paths.

    Files that map onto no repository path keep their report path, and one note lists them.
    Coverage of two report paths that map onto one file (two reports, or `./a.py` and `a.py`) merges.
    """
    mapper = _Mapper(repository, sources)
    coverage = evidence.coverage
    if coverage is not None and coverage.files:
        records = [_rekey(record, mapper) for record in coverage.files.values()]
        coverage = replace(coverage, files=Coverage.of(records).files)
    findings = evidence.findings
    if findings:
        findings = tuple(
            finding if not finding.path else replace(finding, path=mapper(finding.path)) for finding in findings
        )
    notes = evidence.notes
    if mapper.unmapped and repository.complete:
        notes = (*notes, _unmapped_note(mapper.unmapped))
    return replace(evidence, coverage=coverage, findings=findings, notes=notes)


def _rekey(record: FileCoverage, mapper: Callable[[str], str]) -> FileCoverage:
    path = mapper(record.path)
    return record if path == record.path else replace(record, path=path)


def _unmapped_note(paths: Sequence[str]) -> str:
    from gatekeeper.words import plural

    named = ", ".join(paths[:NAMED_IN_NOTE])
    more = f" and {len(paths) - NAMED_IN_NOTE:,} more" if len(paths) > NAMED_IN_NOTE else ""
    return f"not files of the repository, so not judged as changed code ({plural(len(paths), 'file')}): {named}{more}"


def align_inputs(inputs: Sequence[ReportInput], repository: RepositoryPaths) -> list[ReportInput]:
    """Every report aligned on its own (its own `<source>` roots, its own note of unmapped files)."""
    aligned = []
    for report in inputs:
        sources = cobertura_sources(Path(report.path)) if report.format == "cobertura" else ()
        evidence = align(report.evidence, repository, sources)
        aligned.append(replace(report, evidence=evidence))
    return aligned


class _SourcesRead(Exception):
    """The `<sources>` element is over: the rest of a 50 MB report need not be read."""


def cobertura_sources(path: Path) -> list[str]:
    """The `<source>` roots of a Cobertura report, read from its head (they precede `<packages>`)."""
    sources: list[str] = []
    text: list[str] = []
    parser = expat.ParserCreate()
    inside = False

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal inside
        if name in ("packages", "package", "class"):
            raise _SourcesRead
        inside = name == "source"
        text.clear()

    def end(name: str) -> None:
        nonlocal inside
        if name == "source" and inside:
            sources.append("".join(text).strip())
        elif name == "sources":
            raise _SourcesRead
        inside = False

    def characters(data: str) -> None:
        if inside:
            text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 16):
                parser.Parse(chunk, False)
    except (_SourcesRead, expat.ExpatError, OSError):
        pass  # the parser read the report already: any problem with it has been said there
    return [source for source in sources if source]
