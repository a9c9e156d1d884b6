"""coverage.py: its JSON report (`coverage json`) and its `.coverage` data file.

JSON reports from coverage 5.0 to 7.4.0 have no meta.format ("version 1"); 7.4.1 added format 2, and
format 3 added function and class regions (not read here).  All have meta.version and the same per-file
keys, so any of them is read; a newer format is read the same way, with a note.

JSON, per file: statements = executed_lines + missing_lines, covered = executed_lines (excluded_lines
are not statements).  With meta.branch_coverage, each arc of executed_branches / missing_branches is one
branch of its source line (the arc's first number): covered = executed arcs, total = all arcs.  Files
are streamed one at a time (`_json.kvitems`), so memory does not grow with the report.

The data file is read through coverage.py's own public API (`Coverage.load` + `json_report`), so its
numbers are exactly `coverage report`'s, with the project's coverage configuration (omit, exclude_lines,
[paths]) found the same way.  That needs the measured source files: run gatekeeper in the checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gatekeeper.errors import InputError, one_line
from gatekeeper.model import Coverage, Evidence, FileCoverage, line_mask
from gatekeeper.parsers._coverage import MAX_LINE
from gatekeeper.parsers._json import items, kvitems, no_cyclic_gc
from gatekeeper.parsers._security import normalise_path
from gatekeeper.words import plural

#: The newest JSON report format this module knows (coverage.py's jsonreport.FORMAT_VERSION).
KNOWN_FORMAT = 3
_INTS = {int}


def parse(path: Path) -> Evidence:
    """Line (and branch) coverage per source file of one coverage.py JSON report."""
    return _parse_json(path, path)


def _parse_json(path: Path, shown: Path) -> Evidence:
    """Read the JSON at `path`; errors name `shown` (the data file, when the JSON is our temp file)."""
    try:
        meta = _meta(path)
        if meta is None:
            raise InputError(shown, "not a coverage.py JSON report: no meta.version or meta.format")
        branch = meta.get("branch_coverage") is True
        with no_cyclic_gc():
            records = [_file(name, data, branch, shown) for name, data in kvitems(path, "files")]
    except InputError as error:
        if error.path == str(shown):
            raise
        raise InputError(shown, error.problem) from None
    fmt = meta.get("format")
    notes: tuple[str, ...] = ()
    if isinstance(fmt, int) and fmt > KNOWN_FORMAT:
        notes = (f"coverage.py JSON format {fmt} is newer than {KNOWN_FORMAT}: read as format {KNOWN_FORMAT}",)
    return Evidence(coverage=Coverage.of(records), notes=notes)


def _meta(path: Path) -> Mapping[str, Any] | None:
    for meta in items(path, "meta"):  # the first key coverage.py writes: this reads only the head
        if isinstance(meta, dict) and ("format" in meta or "version" in meta):
            return meta
        return None
    return None


def _lines(value: object, name: str, shown: Path) -> list[int]:
    """Line numbers of a list; other values are skipped, absurd numbers refuse the report."""
    if not isinstance(value, list):
        return []
    if value and set(map(type, value)) == _INTS and min(value) >= 0:
        numbers = value  # the usual list, checked at C speed: no call per number
    else:
        numbers = [n for n in value if isinstance(n, int) and not isinstance(n, bool) and n >= 0]
    if numbers and max(numbers) > MAX_LINE:
        raise InputError(shown, f"files[{name!r}]: line number {max(numbers)} is out of range: a corrupt report?")
    return numbers


def _file(name: str, data: object, branch: bool, shown: Path) -> FileCoverage:
    if not isinstance(data, dict):
        raise InputError(shown, f"not a coverage.py JSON report: files[{name!r}] is not an object")
    executed = _lines(data.get("executed_lines"), name, shown)
    missing = _lines(data.get("missing_lines"), name, shown)
    branches: dict[int, tuple[int, int]] | None = None
    if branch:
        counts: dict[int, list[int]] = {}
        for key, taken in (("executed_branches", 1), ("missing_branches", 0)):
            arcs = data.get(key)
            for arc in arcs if isinstance(arcs, list) else ():
                if isinstance(arc, list) and arc and type(arc[0]) is int and 0 <= arc[0] <= MAX_LINE:
                    line_counts = counts.setdefault(arc[0], [0, 0])
                    line_counts[0] += taken
                    line_counts[1] += 1
        branches = {line: (covered, total) for line, (covered, total) in counts.items()}
    covered = line_mask(executed)
    return FileCoverage(
        path=normalise_path(name),
        statements=covered | line_mask(missing),  # each list read once; OR on the masks is C speed
        covered=covered,
        branches=branches,
    )


def parse_data_file(path: Path) -> Evidence:
    """Line (and branch) coverage from a `.coverage` SQLite data file, via coverage.py itself."""
    import sqlite3
    import tempfile
    import warnings

    import coverage
    from coverage.exceptions import CoverageException, CoverageWarning

    _check_schema(path)
    with tempfile.TemporaryDirectory(prefix="gatekeeper-") as directory:
        report = Path(directory) / "coverage.json"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CoverageWarning)
            try:
                cov = coverage.Coverage(data_file=str(path))
                cov.load()
                measured = len(cov.get_data().measured_files())
                if measured == 0:
                    raise InputError(path, "the coverage.py data file holds no measured files")
                cov.json_report(outfile=str(report), ignore_errors=True)
            except CoverageException as error:
                raise InputError(path, f"cannot read as coverage.py data: {one_line(error)}") from None
            except sqlite3.Error as error:
                raise InputError(path, f"not a coverage.py data file: {one_line(error)}") from None
        evidence = _parse_json(report, path)
    messages = [one_line(w.message) for w in caught if issubclass(w.category, CoverageWarning)]
    unreadable = sum(1 for m in messages if "couldnt-parse" in m)
    reported = len(evidence.coverage.files) if evidence.coverage else 0
    if reported == 0 and unreadable:
        raise InputError(
            path,
            f"0 of {plural(measured, 'measured file')} could be analysed: source files not found "
            "(run gatekeeper in the checkout that was measured)",
        )
    if reported == 0:
        raise InputError(path, f"0 of {plural(measured, 'measured file')} reported (all omitted by configuration?)")
    notes = [f"coverage.py: {m}" for m in messages if "couldnt-parse" not in m]
    if unreadable:
        notes.insert(
            0,
            f"{unreadable} of {plural(measured, 'file')} measured in {path.name} could not be analysed "
            "(source not found): not counted",
        )
    return Evidence(coverage=evidence.coverage, notes=tuple(notes))


def _check_schema(path: Path) -> None:
    """Refuse an SQLite file without coverage.py's schema, reading it read-only: coverage.py itself would
    add its tables to any SQLite file it is handed, and reading a report must never change it."""
    import sqlite3

    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            connection.execute("select version from coverage_schema").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise InputError(path, f"not a coverage.py data file: {one_line(error)}") from None
