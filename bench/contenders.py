"""The contenders of the benchmark, each run alone in a fresh process by `run.py`.

    python bench/contenders.py CONTENDER PATH [ARG]
    python bench/contenders.py --launch COMMAND...   (the CLI: measured from outside, by its parent)

prints one JSON line: the wall and CPU time of the work (from before the contender imports its library to
after it has counted), its own peak RSS, and what it counted, so `run.py` can check that every
contender read the whole report.  A gatekeeper parser that does not exist yet exits with status 3
("n/a") instead of failing.

Every reference contender does what a user of that library would write for a whole report, no more:
junitparser iterates every case and reads its result; diff-cover builds its reporter the way
`diff-cover` does and asks it about every file in the report; `json.load` loads and counts.  The bare
loops only count elements or lines: the floor any Python reader of the format can reach.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: Exit status meaning "this contender cannot run here (yet)": reported as n/a, not as a failure.
NOT_AVAILABLE = 3
CHUNK_SIZE = 1 << 20

Counts = dict[str, Any]


class NotAvailable(Exception):
    """The contender's module is missing (a gatekeeper parser not written yet, a library not installed)."""


def _files(path: Path) -> Iterator[Path]:
    """A report, or every file of a report directory (Surefire's one file per test class), in order."""
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.is_file())
    else:
        yield path


# ----------------------------------------------------------------------------------------- gatekeeper
def gatekeeper(path: Path, format_name: str) -> Counts:
    """gatekeeper's own parser for the format, then its metrics: what `gatekeeper check` computes."""
    from gatekeeper.metrics import compute
    from gatekeeper.model import Evidence
    from gatekeeper.parsers import FORMATS, parser_for

    try:
        parse = parser_for(format_name)
    except ModuleNotFoundError as error:
        if error.name == f"gatekeeper.parsers.{FORMATS[format_name].module}":
            raise NotAvailable(f"gatekeeper/parsers/{FORMATS[format_name].module}.py does not exist yet") from None
        raise
    evidence = Evidence()
    for file in _files(path):
        evidence = evidence + parse(file)
    return dict(compute(evidence))


def gatekeeper_pure_python(path: Path, format_name: str) -> Counts:
    """gatekeeper as installed without a C compiler: JUnit read by the streaming pyexpat parser alone."""
    from gatekeeper.parsers import junit

    junit.Scanner = None
    return gatekeeper(path, format_name)


# ----------------------------------------------------------------------------------------- JUnit
def junitparser(path: Path, _: str) -> Counts:
    """junitparser as its README shows: load each file, iterate every case, read its result."""
    from junitparser import Error, Failure, JUnitXml, Skipped

    counts: Counter[str] = Counter()
    for file in _files(path):
        xml = JUnitXml.fromfile(str(file))
        for suite in xml:
            for case in suite:
                result = case.result
                counts["tests.total"] += 1
                if not result:
                    counts["tests.passed"] += 1
                elif any(isinstance(r, Error) for r in result):
                    counts["tests.errors"] += 1
                elif any(isinstance(r, Failure) for r in result):
                    counts["tests.failed"] += 1
                elif any(isinstance(r, Skipped) for r in result):
                    counts["tests.skipped"] += 1
    return dict(counts)


# ----------------------------------------------------------------------------------------- diff-cover
def _diff_cover_paths() -> None:
    """What `GitPathTool.set_cwd` sets up in `diff-cover`, without running git: paths relative to here."""
    from diff_cover.git_path import GitPathTool

    GitPathTool._cwd = os.getcwd()
    GitPathTool._root = os.getcwd()


def diff_cover_cobertura(path: Path, _: str) -> Counts:
    """diff-cover on a Cobertura report: `etree.parse` + `XmlCoverageReporter`, asked about every file."""
    import xml.etree.ElementTree as etree

    from diff_cover.violationsreporters.violations_reporter import XmlCoverageReporter

    _diff_cover_paths()
    tree = etree.parse(path)  # what diff_cover_tool.generate_coverage_report does
    reporter = XmlCoverageReporter([tree])
    files = sorted({name for c in tree.iter("class") if (name := c.get("filename"))})
    measured = uncovered = 0
    for name in files:
        uncovered += len(reporter.violations(name))
        measured += len(reporter.measured_lines(name))
    return {
        "files": len(files),
        "coverage.lines.total": measured,
        "coverage.lines.covered": measured - uncovered,
    }


def diff_cover_lcov(path: Path, _: str) -> Counts:
    """diff-cover on an LCOV report: `LcovCoverageReporter.parse` + the reporter, asked about every file."""
    from diff_cover.violationsreporters.violations_reporter import LcovCoverageReporter

    _diff_cover_paths()
    report = LcovCoverageReporter.parse(str(path))
    reporter = LcovCoverageReporter([report])
    measured = uncovered = 0
    for name in list(report):
        uncovered += len(reporter.violations(name))
        measured += len(reporter.measured_lines(name))
    return {
        "files": len(report),
        "coverage.lines.total": measured,
        "coverage.lines.covered": measured - uncovered,
    }


# ----------------------------------------------------------------------------------------- json.load
def json_load_coverage(path: Path, _: str) -> Counts:
    """`json.load` of a coverage.py JSON report, then the line counts a user would add up."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    total = covered = 0
    for record in document["files"].values():
        executed = len(record["executed_lines"])
        covered += executed
        total += executed + len(record["missing_lines"])
    return {"files": len(document["files"]), "coverage.lines.total": total, "coverage.lines.covered": covered}


def json_load_sarif(path: Path, _: str) -> Counts:
    """`json.load` of a SARIF log, then the results counted per level across runs."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    counts: Counter[str] = Counter()
    for run in document.get("runs") or ():
        for result in run.get("results") or ():
            counts["findings.total"] += 1
            counts[f"level.{result.get('level', 'warning')}"] += 1
    return dict(counts)


def json_load_bandit(path: Path, _: str) -> Counts:
    """`json.load` of a bandit report, then its results counted."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    return {"findings.total": len(document["results"])}


def json_load_semgrep(path: Path, _: str) -> Counts:
    """`json.load` of a semgrep report, then its results not ignored in source counted."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    return {"findings.total": sum(not r["extra"].get("is_ignored") for r in document["results"])}


def json_load_gitlab(path: Path, _: str) -> Counts:
    """`json.load` of a GitLab security report, then its vulnerabilities counted."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    return {"findings.total": len(document["vulnerabilities"])}


# ----------------------------------------------------------------------------------------- bare loops
def pyexpat_count(path: Path, tag: str) -> Counts:
    """The floor for XML: expat with one Python start handler that counts `tag`, fed 1 MiB chunks."""
    from xml.parsers import expat

    count = 0

    def start(name: str, _: dict[str, str]) -> None:
        nonlocal count
        if name == tag:
            count += 1

    for file in _files(path):
        parser = expat.ParserCreate()
        parser.StartElementHandler = start
        with open(file, "rb") as stream:
            while chunk := stream.read(CHUNK_SIZE):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    return {f"<{tag}> elements": count}


def line_loop_lcov(path: Path, _: str) -> Counts:
    """The floor for LCOV: read the text line by line and count `DA:` records."""
    count = 0
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if line.startswith("DA:"):
                count += 1
    return {"DA records": count}


def peak_kib() -> int:
    """This process's own peak RSS (VmHWM).

    Not `ru_maxrss`: Linux carries the peak RSS of the spawning process over fork and exec into it, so
    every child of a 40 MiB harness would report at least 40 MiB.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def launch(argv: list[str]) -> int:
    """Run a command (the CLI) and report its wall time, CPU time and peak RSS from outside.

    The command runs under GNU time (`%M`), whose own ~2 MiB is all a child can inherit; without it,
    as this process's child, whose `ru_maxrss` then starts from this process's ~13 MiB (still less
    than the CLI needs), never from the harness's.  Its stdout is passed on inside the JSON line.
    """
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    with tempfile.TemporaryFile() as output, tempfile.NamedTemporaryFile("r") as stats:
        command = [gnu_time, "-f", "%M %U %S", "-o", stats.name, *argv] if gnu_time else argv
        started = time.perf_counter()
        pid = os.posix_spawn(command[0], command, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, output.fileno(), 1)])
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            return code
        if gnu_time:
            kib, user, system = stats.read().split()[-3:]
            peak, cpu = int(kib), float(user) + float(system)
        else:
            peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_kib": peak, "stdout": text}))
    return 0


CONTENDERS: dict[str, Callable[[Path, str], Counts]] = {
    "gatekeeper": gatekeeper,
    "gatekeeper-pure-python": gatekeeper_pure_python,
    "junitparser": junitparser,
    "diff-cover-cobertura": diff_cover_cobertura,
    "diff-cover-lcov": diff_cover_lcov,
    "json.load-coverage": json_load_coverage,
    "json.load-sarif": json_load_sarif,
    "json.load-bandit": json_load_bandit,
    "json.load-semgrep": json_load_semgrep,
    "json.load-gitlab": json_load_gitlab,
    "pyexpat-count": pyexpat_count,
    "line-loop-lcov": line_loop_lcov,
}


def main(argv: list[str]) -> int:
    if argv[0] == "--launch":
        return launch(argv[1:])
    name, path, argument = argv[0], Path(argv[1]), argv[2] if len(argv) > 2 else ""
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        counts = CONTENDERS[name](path, argument)
    except NotAvailable as missing:
        print(json.dumps({"not_available": str(missing)}))
        return NOT_AVAILABLE
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_kib": peak_kib(), "counts": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
