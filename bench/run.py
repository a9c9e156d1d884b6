"""Run gatekeeper and what users would otherwise run on the generated reports, side by side.

Every contender runs in its own fresh process, so each peak RSS is that contender's alone (its VmHWM,
or GNU time's figure for the CLI; contenders.py says why not `ru_maxrss`); contenders are interleaved
and their order rotates between repetitions, so drift in the machine's load spreads over all of them;
each figure is the median of the repetitions.  The targets
are checked as ratios measured in the same run, never against absolute numbers from elsewhere.

    .venv/bin/python bench/generate.py            # once: writes bench/data/ (~550 MB)
    .venv/bin/python bench/run.py                 # ~8 minutes; bench/results/latest.{md,json}

Options: --repeat N, --cases junit,lcov, --data DIR, --no-cold-start, --cold-start-only, --name NAME.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
PYTHON = sys.executable
GATEKEEPER = str(Path(sys.executable).parent / "gatekeeper")
CHILD_TIMEOUT = 900.0
NOT_AVAILABLE = 3  # contenders.NOT_AVAILABLE
MIB = 1024 * 1024

Role = Literal["gatekeeper", "cli", "reference", "floor"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Contender:
    """One way of reading a report; `{path}` in the command is replaced by the report's path."""

    label: str
    role: Role
    command: tuple[str, ...]

    def argv(self, path: Path) -> list[str]:
        return [part.replace("{path}", str(path)) for part in self.command]


def child(label: str, role: Role, name: str, argument: str = "") -> Contender:
    """A contender measured from inside its process by bench/contenders.py."""
    return Contender(label=label, role=role, command=(PYTHON, str(BENCH / "contenders.py"), name, "{path}", argument))


def gatekeeper_contenders(format_name: str) -> tuple[Contender, ...]:
    """gatekeeper's parser, and its CLI (which also detects the format and hashes the file)."""
    return (
        child("gatekeeper", "gatekeeper", "gatekeeper", format_name),
        Contender(
            label="gatekeeper CLI",
            role="cli",
            command=(
                PYTHON,
                str(BENCH / "contenders.py"),
                "--launch",
                GATEKEEPER,
                "metrics",
                "--format",
                "json",
                "{path}",
            ),
        ),
    )


TargetKind = Literal["faster", "within", "peak_mib", "peak_below_file", "peak_per_finding"]
#: The findings memory bound (issue 16): peak RSS < FIXED_MIB + PER_FINDING_KIB per finding of the report.
FIXED_MIB, PER_FINDING_KIB = 64, 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One target of the issue, as a ratio (or bound) between two contenders of the same case."""

    kind: TargetKind
    bound: float
    subject: str = "gatekeeper"
    reference: str | None = None

    @property
    def text(self) -> str:
        if self.kind == "faster":
            return f"{self.subject} ≥ {self.bound:g}x faster than {self.reference}"
        if self.kind == "within":
            if self.bound == 1.0:
                return f"{self.subject} no slower than {self.reference}"
            return f"{self.subject} within {self.bound:g}x of {self.reference}"
        if self.kind == "peak_mib":
            return f"{self.subject} peak memory < {self.bound:g} MiB"
        if self.kind == "peak_per_finding":
            return f"{self.subject} peak memory < {FIXED_MIB} MiB + {PER_FINDING_KIB:g} KiB per finding"
        return f"{self.subject} peak memory < file size"


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """A generated report (by its manifest name) and who reads it, checked against which targets."""

    name: str
    format: str
    title: str
    key: str  # the count every contender that reports it must agree on
    contenders: tuple[Contender, ...]
    targets: tuple[Target, ...]


def _xml_targets(reference: str, speedup: float, floor: str | None) -> tuple[Target, ...]:
    targets = [Target(kind="faster", bound=speedup, reference=reference)]
    if floor is not None:
        targets.append(Target(kind="within", bound=1.3, reference=floor))
    targets += [
        Target(kind="peak_mib", bound=64),
        Target(kind="peak_mib", bound=64, subject="gatekeeper CLI"),
    ]
    return tuple(targets)


def _json_targets() -> tuple[Target, ...]:
    return (
        Target(kind="within", bound=1.0, reference="json.load"),
        Target(kind="peak_below_file", bound=1.0),
        Target(kind="peak_below_file", bound=1.0, subject="gatekeeper CLI"),
    )


def _junit_case(name: str, title: str) -> Case:
    """Every JUnit report is read by the same contenders against the same targets."""
    return Case(
        name=name,
        format="junit",
        title=title,
        key="tests.total",
        contenders=(
            *gatekeeper_contenders("junit"),
            # The same parser where the C hot path is not built (no compiler at install): shown, not a target.
            child("gatekeeper, pure Python", "gatekeeper", "gatekeeper-pure-python", "junit"),
            child("junitparser", "reference", "junitparser"),
            child("pyexpat count", "floor", "pyexpat-count", "testcase"),
        ),
        targets=_xml_targets("junitparser", 2.0, "pyexpat count"),
    )


def _findings_case(name: str, title: str, targets: tuple[Target, ...], format_name: str = "") -> Case:
    """A security report, read by gatekeeper and by `json.load`; every one is held to the findings memory
    bound, by the library and by the CLI."""
    return Case(
        name=name,
        format=format_name or name,
        title=title,
        key="findings.total",
        contenders=(*gatekeeper_contenders(format_name or name), child("json.load", "reference", f"json.load-{name}")),
        targets=(
            *targets,
            Target(kind="peak_per_finding", bound=1.0),
            Target(kind="peak_per_finding", bound=1.0, subject="gatekeeper CLI"),
        ),
    )


CASES = (
    _junit_case("junit", "pytest JUnit, 1,000,000 cases"),
    _junit_case("junit-100k", "pytest JUnit, 100,000 cases"),
    _junit_case("surefire", "Surefire directory, 100,000 cases"),
    Case(
        name="cobertura",
        format="cobertura",
        title="Cobertura XML",
        key="coverage.lines.total",
        contenders=(
            *gatekeeper_contenders("cobertura"),
            child("diff-cover", "reference", "diff-cover-cobertura"),
            child("pyexpat count", "floor", "pyexpat-count", "line"),
        ),
        targets=_xml_targets("diff-cover", 1.8, None),
    ),
    Case(
        name="lcov",
        format="lcov",
        title="LCOV tracefile",
        key="coverage.lines.total",
        contenders=(
            *gatekeeper_contenders("lcov"),
            child("diff-cover", "reference", "diff-cover-lcov"),
            child("line loop", "floor", "line-loop-lcov"),
        ),
        targets=(
            # Issue 16: "LCOV at the floor".
            Target(kind="faster", bound=3.0, reference="diff-cover"),
            Target(kind="within", bound=3.0, reference="line loop"),
            Target(kind="peak_mib", bound=64),
            Target(kind="peak_mib", bound=64, subject="gatekeeper CLI"),
        ),
    ),
    Case(
        name="coverage-json",
        format="coverage-json",
        title="coverage.py JSON",
        key="coverage.lines.total",
        contenders=(
            *gatekeeper_contenders("coverage-json"),
            child("json.load", "reference", "json.load-coverage"),
        ),
        targets=_json_targets(),
    ),
    _findings_case("sarif", "SARIF 2.1.0, 100,000 results", _json_targets()),
    # Not one of the reports: the small-result shape, where Python's work per finding outweighs
    # decoding.  Its time against json.load is shown, not a target; its memory is held to the same bound.
    _findings_case("bandit", "bandit JSON, 100,000 results", _json_targets()[1:]),
    # Held to the findings memory bound only (issue 16); their time against json.load is shown.
    _findings_case("semgrep", "semgrep JSON, 100,000 results", ()),
    _findings_case("gitlab", "GitLab SAST report, 100,000 vulnerabilities", (), "gitlab-security"),
)


# ------------------------------------------------------------------------------------------ running
@dataclass(slots=True, kw_only=True)
class Run:
    """One contender run: n/a and errors carry a reason instead of figures."""

    status: Literal["ok", "n/a", "error"]
    wall: float = 0.0  # seconds: the work inside the process, or the whole process for the CLI
    cpu: float = 0.0
    peak_mib: float = 0.0  # the process's own peak RSS
    counts: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    load: float = 0.0  # the 1-minute load average when it started: how busy the machine was


def run_once(contender: Contender, path: Path) -> Run:
    """Start the contender in a fresh process; it reports its own figures (see contenders.py)."""
    try:
        process = subprocess.run(
            contender.argv(path), capture_output=True, cwd=ROOT, timeout=CHILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return Run(status="error", reason=f"no result after {CHILD_TIMEOUT:.0f} s")
    if process.returncode == NOT_AVAILABLE:
        return Run(status="n/a", reason=json.loads(process.stdout)["not_available"])
    if process.returncode != 0:
        stderr = process.stderr.decode("utf-8", "replace").strip()
        last = stderr.splitlines()[-1] if stderr else f"exit status {process.returncode}"
        return Run(status="error", reason=last[:300])
    report = json.loads(process.stdout)
    counts = json.loads(report["stdout"])["metrics"] if contender.role == "cli" else report["counts"]
    return Run(
        status="ok",
        wall=report["seconds"],
        cpu=report["cpu_seconds"],
        peak_mib=report["peak_kib"] / 1024,
        counts=counts,
    )


def parser_exists(format_name: str) -> bool:
    from gatekeeper.parsers import FORMATS

    return importlib.util.find_spec(f"gatekeeper.parsers.{FORMATS[format_name].module}") is not None


def warm_page_cache(path: Path) -> None:
    """Read each file once, so every contender starts from a warm page cache, as in a CI job."""
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    for file in files:
        with open(file, "rb") as stream:
            while stream.read(1 << 24):
                pass


@dataclass(slots=True, kw_only=True)
class Summary:
    """A contender's medians over the repetitions, with every run kept for the JSON."""

    label: str
    role: Role
    status: str
    wall: float | None = None
    cpu: float | None = None
    peak_mib: float | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)


def summarise(contender: Contender, runs: list[Run]) -> Summary:
    good = [r for r in runs if r.status == "ok"]
    summary = Summary(label=contender.label, role=contender.role, status="ok" if good else runs[0].status)
    summary.runs = [asdict(r) for r in runs]
    if not good:
        summary.reason = runs[0].reason
        return summary
    summary.wall = statistics.median(r.wall for r in good)
    summary.cpu = statistics.median(r.cpu for r in good)
    summary.peak_mib = statistics.median(r.peak_mib for r in good)
    summary.counts = good[0].counts
    if len(good) < len(runs):
        summary.reason = f"{len(runs) - len(good)} run(s) failed: {next(r.reason for r in runs if r.status != 'ok')}"
    return summary


def run_cases(
    cases: Sequence[Case], data: Path, manifest: dict[str, Any], repeat: int
) -> dict[str, dict[str, Summary]]:
    runs: dict[tuple[str, str], list[Run]] = {}
    unavailable: dict[tuple[str, str], Run] = {}
    for case in cases:
        path = data / manifest["reports"][case.name]["path"]
        warm_page_cache(path)
        if not parser_exists(case.format):
            for contender in case.contenders:
                if contender.role in ("gatekeeper", "cli"):
                    reason = f"gatekeeper has no {case.format} parser yet"
                    unavailable[(case.name, contender.label)] = Run(status="n/a", reason=reason)
    for repetition in range(repeat):
        for case in cases:
            path = data / manifest["reports"][case.name]["path"]
            shift = repetition % len(case.contenders)
            order = case.contenders[shift:] + case.contenders[:shift]
            for contender in order:
                key = (case.name, contender.label)
                if key in unavailable:
                    continue
                load = os.getloadavg()[0]
                result = run_once(contender, path)
                result.load = load
                if result.status == "n/a":
                    unavailable[key] = result
                    continue
                runs.setdefault(key, []).append(result)
                shown = f"{result.wall:7.2f} s {result.peak_mib:7.1f} MiB" if result.status == "ok" else result.reason
                print(
                    f"[{repetition + 1}/{repeat}] {case.name:<14} {contender.label:<15} {shown}",
                    file=sys.stderr,
                )
    results: dict[str, dict[str, Summary]] = {}
    for case in cases:
        results[case.name] = {}
        for contender in case.contenders:
            key = (case.name, contender.label)
            results[case.name][contender.label] = summarise(contender, runs.get(key) or [unavailable[key]])
    return results


# ------------------------------------------------------------------------------------------ checking
def check_counts(case: Case, summary: Summary, expected: dict[str, int]) -> list[str]:
    """What a contender counted differently from what the generator wrote (only keys both know)."""
    if summary.status != "ok":
        return []
    keys = [case.key] if summary.role in ("reference", "floor") else [k for k in expected if k != "files"]
    problems = []
    for key in keys:
        if key in summary.counts and key in expected and summary.counts[key] != expected[key]:
            problems.append(f"{key} = {summary.counts[key]:,}, the report holds {expected[key]:,}")
        elif key == case.key and summary.role != "floor" and key not in summary.counts:
            problems.append(f"{key} missing from its counts")
    return problems


@dataclass(slots=True, kw_only=True)
class Verdict:
    """A target checked on wall time (as the issue states it) and, for speed, on CPU time as well:
    on a shared machine, wall time also measures the neighbours; where the two disagree, say so."""

    case: str
    target: str
    measured: str
    met: bool | None  # None: cannot tell (a contender is n/a or failed)
    cpu_measured: str = ""
    cpu_met: bool | None = None


def evaluate(
    case: Case, target: Target, summaries: dict[str, Summary], file_bytes: int, expected: dict[str, int] | None = None
) -> Verdict:
    subject = summaries.get(target.subject)
    reference = summaries.get(target.reference) if target.reference else None
    missing = target.reference is not None and (reference is None or reference.status != "ok")
    if subject is None or subject.status != "ok" or missing:
        return Verdict(case=case.name, target=target.text, measured="n/a", met=None)
    assert subject.wall is not None and subject.cpu is not None and subject.peak_mib is not None
    if target.kind in ("faster", "within"):
        assert reference is not None and reference.wall is not None and reference.cpu is not None
        if target.kind == "faster":
            wall, cpu = reference.wall / subject.wall, reference.cpu / subject.cpu
            wall_met, cpu_met = wall >= target.bound, cpu >= target.bound
        else:
            wall, cpu = subject.wall / reference.wall, subject.cpu / reference.cpu
            wall_met, cpu_met = wall <= target.bound, cpu <= target.bound
        return Verdict(
            case=case.name,
            target=target.text,
            measured=f"{wall:.2f}x",
            met=wall_met,
            cpu_measured=f"{cpu:.2f}x",
            cpu_met=cpu_met,
        )
    if target.kind == "peak_mib":
        return Verdict(
            case=case.name,
            target=target.text,
            measured=f"{subject.peak_mib:.1f} MiB",
            met=subject.peak_mib < target.bound,
        )
    if target.kind == "peak_per_finding":
        findings = (expected or {}).get("findings.total", 0)
        bound = FIXED_MIB + PER_FINDING_KIB * findings / 1024
        return Verdict(
            case=case.name,
            target=target.text,
            measured=f"{subject.peak_mib:.1f} of {bound:.1f} MiB",
            met=subject.peak_mib < bound,
        )
    file_mib = file_bytes / MIB
    return Verdict(
        case=case.name,
        target=target.text,
        measured=f"{subject.peak_mib:.0f} of {file_mib:.0f} MiB",
        met=subject.peak_mib < file_mib,
    )


# ------------------------------------------------------------------------------------------ cold start
COLD_COMMANDS = (
    ("python -c pass", (PYTHON, "-c", "pass")),
    ("gatekeeper --version", (GATEKEEPER, "--version")),
    ("gatekeeper metrics --help", (GATEKEEPER, "metrics", "--help")),
)
COLD_TARGET_MS = 150.0


def cold_start(runs: int) -> dict[str, Any]:
    """Median start-up of each command, the commands interleaved run by run.

    Interleaving (rather than hyperfine's all runs of one command, then the next) keeps a neighbour's
    burst of load from landing on one command only; CPU time (user + system, from wait4) is recorded
    too, since on a shared machine it moves less than wall time.  hyperfine, when installed, is run
    as well, as a cross-check.
    """
    wall: dict[str, list[float]] = {name: [] for name, _ in COLD_COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name, _ in COLD_COMMANDS}
    for _ in range(3):  # warm-up: page cache and .pyc files
        for _, argv in COLD_COMMANDS:
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    for _ in range(runs):
        for name, argv in COLD_COMMANDS:
            started = time.perf_counter()
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=ROOT)
            _, status, usage = os.wait4(process.pid, 0)
            wall[name].append((time.perf_counter() - started) * 1000)
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                raise RuntimeError(f"{name} exited with status {process.returncode}")
            cpu[name].append((usage.ru_utime + usage.ru_stime) * 1000)
    base, base_cpu = statistics.median(wall["python -c pass"]), statistics.median(cpu["python -c pass"])
    rows = []
    for name, _ in COLD_COMMANDS:
        added = statistics.median(wall[name]) - base
        rows.append(
            {
                "command": name,
                "median_ms": statistics.median(wall[name]),
                "added_ms": added,
                "cpu_ms": statistics.median(cpu[name]),
                "added_cpu_ms": statistics.median(cpu[name]) - base_cpu,
                "met": None if name == "python -c pass" else added < COLD_TARGET_MS,
            }
        )
    return {"tool": "interleaved subprocess loop", "runs": runs, "rows": rows, "hyperfine": _hyperfine(runs)}


def _hyperfine(runs: int) -> dict[str, float] | None:
    """hyperfine's medians (ms) for the same commands, if it is installed."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        export = Path(scratch) / "cold.json"
        command = [hyperfine, "-N", "--warmup", "5", "--runs", str(runs), "--export-json", str(export)]
        for name, argv in COLD_COMMANDS:
            command += ["--command-name", name, " ".join(argv)]
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        results = json.loads(export.read_text(encoding="utf-8"))["results"]
    return {result["command"]: result["median"] * 1000 for result in results}


# ------------------------------------------------------------------------------------------ reporting
def machine() -> dict[str, Any]:
    import pyexpat

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as stream:
        for line in stream:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    import ijson

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "expat": pyexpat.EXPAT_VERSION,
        "ijson_backend": ijson.backend,
        "versions": {p: version(p) for p in ("gatekeeper", "junitparser", "diff_cover", "ijson", "click")},
    }


def fmt_count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(document: dict[str, Any]) -> str:
    lines = [
        f"# gatekeeper benchmarks: {document['started']}",
        "",
        f"Scale {document['scale']:g}, {document['repeat']} repetitions (medians); 1-minute load average "
        f"{document['load_range'][0]:.1f} to {document['load_range'][1]:.1f} while contenders ran.  "
        f"{document['machine']['cpu']}, {document['machine']['cores']} cores, "
        f"{document['machine']['memory_gib']} GiB, Python {document['machine']['python']}, "
        f"{document['machine']['expat']}.  Bytecode: {document.get('bytecode', 'as found')}.",
        "",
        "| report | contender | wall s | CPU s | peak MiB | counted | time / gatekeeper's |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for case in document["cases"]:
        size = f"{case['bytes'] / 1e6:,.0f} MB" if case["bytes"] >= 1e6 else f"{case['bytes'] / 1e3:,.0f} kB"
        title = f"{case['name']} ({size})"
        contenders = case["contenders"]
        ours = contenders.get("gatekeeper", {})
        for label, summary in contenders.items():
            if summary["status"] != "ok":
                lines.append(f"| {title} | {label} | n/a | | | {summary['reason']} | |")
                title = ""
                continue
            counted = fmt_count(summary["counts"].get(case["key"], next(iter(summary["counts"].values()), "")))
            mark = " ✗" if case["problems"].get(label) else (" ✓" if case["key"] in summary["counts"] else "")
            ratio = f"{summary['wall'] / ours['wall']:.2f}" if ours.get("wall") else ""
            lines.append(
                f"| {title} | {label} | {summary['wall']:.2f} | {summary['cpu']:.2f} | "
                f"{summary['peak_mib']:.1f} | {counted}{mark} | {ratio} |"
            )
            title = ""
    lines += [
        "",
        "## Targets",
        "",
        "| report | target | measured (wall) | by CPU time | result |",
        "|---|---|---:|---:|---|",
    ]
    for verdict in document["targets"]:
        result = {True: "met", False: "**missed**", None: "n/a"}[verdict["met"]]
        if verdict["cpu_met"] is not None and verdict["cpu_met"] != verdict["met"]:
            result += f" (by CPU time: {'met' if verdict['cpu_met'] else 'missed'})"
        lines.append(
            f"| {verdict['case']} | {verdict['target']} | {verdict['measured']} | "
            f"{verdict['cpu_measured']} | {result} |"
        )
    cold = document.get("cold_start")
    if cold:
        lines += [
            "",
            f"## Cold start ({cold['tool']}, {cold['runs']} runs each, median)",
            "",
            "| command | wall ms | added ms | CPU ms | added CPU ms | hyperfine ms | target: added < 150 ms |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for row in cold["rows"]:
            result = {True: "met", False: "**missed**", None: ""}[row["met"]]
            checked = f"{cold['hyperfine'][row['command']]:.1f}" if cold.get("hyperfine") else ""
            lines.append(
                f"| `{row['command']}` | {row['median_ms']:.1f} | {row['added_ms']:.1f} | {row['cpu_ms']:.1f} | "
                f"{row['added_cpu_ms']:.1f} | {checked} | {result} |"
            )
    problems = [
        f"- {case['name']}, {label}: {problem}"
        for case in document["cases"]
        for label, found in case["problems"].items()
        for problem in found
    ]
    if problems:
        lines += ["", "## Counts that differ from the generated report", "", *problems]
    return "\n".join(lines) + "\n"


def compile_bytecode() -> str:
    """Give gatekeeper compiled bytecode, as an installed package has (pip compiles it at install).

    gatekeeper is installed editable, so its `.pyc` files are written on first import -- unless
    PYTHONDONTWRITEBYTECODE is set (it is on the machines this ran on): then every child compiled
    gatekeeper's source again inside its timed import (~6 ms of CPU), while the libraries it is
    compared with came precompiled from their wheels.  Python reads `__pycache__` even when told not
    to write it, so it is filled here, with hash-checked `.pyc` files (an edit is never masked by a
    stale one, whatever the timestamps).  Returns what was done, for the results.
    """
    import compileall
    import py_compile

    mode = py_compile.PycInvalidationMode.CHECKED_HASH
    if compileall.compile_dir(ROOT / "gatekeeper", quiet=1, invalidation_mode=mode):
        return "gatekeeper precompiled (hash-checked .pyc), as pip installs it"
    return "gatekeeper NOT fully precompiled (see compileall's errors): imports may include compiling"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per contender (median taken)")
    parser.add_argument("--cases", help="comma-separated cases: " + ", ".join(c.name for c in CASES))
    parser.add_argument("--cold-runs", type=int, default=30, help="runs per start-up command")
    parser.add_argument("--cold-start-only", action="store_true", help="only the start-up benchmark")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the start-up benchmark")
    parser.add_argument("--name", default="latest", help="results file name under bench/results/")
    parser.add_argument("--data", type=Path, default=DATA, help="generated reports (default bench/data)")
    args = parser.parse_args(argv)
    manifest_path = args.data / "manifest.json"
    if not manifest_path.exists():
        parser.error(f"no {manifest_path}: run bench/generate.py first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    wanted = set(args.cases.split(",")) if args.cases else {c.name for c in CASES}
    cases = [c for c in CASES if c.name in wanted and c.name in manifest["reports"]]
    if args.cold_start_only:
        cases, wanted = [], set()
    missing = wanted - {c.name for c in cases}
    if missing:
        print(f"skipped (not generated or unknown): {', '.join(sorted(missing))}", file=sys.stderr)

    bytecode = compile_bytecode()
    started = datetime.now(timezone.utc)
    load_before = os.getloadavg()
    results = run_cases(cases, args.data, manifest, args.repeat)
    document: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "scale": manifest["scale"],
        "seed": manifest["seed"],
        "repeat": args.repeat,
        "load_before": load_before,
        "bytecode": bytecode,
        "machine": machine(),
        "cases": [],
        "targets": [],
    }
    for case in cases:
        report = manifest["reports"][case.name]
        summaries = results[case.name]
        document["cases"].append(
            {
                "name": case.name,
                "title": case.title,
                "format": case.format,
                "bytes": report["bytes"],
                "key": case.key,
                "expected": report["expected"],
                "contenders": {label: asdict(s) for label, s in summaries.items()},
                "problems": {
                    label: found
                    for label, s in summaries.items()
                    if (found := check_counts(case, s, report["expected"]))
                },
            }
        )
        document["targets"] += [
            asdict(evaluate(case, t, summaries, report["bytes"], report["expected"])) for t in case.targets
        ]
    if not args.no_cold_start:
        document["cold_start"] = cold_start(args.cold_runs)
    document["load_after"] = os.getloadavg()
    loads = [
        run["load"]
        for case in document["cases"]
        for summary in case["contenders"].values()
        for run in summary["runs"]
        if run["status"] == "ok"
    ] or [0.0]
    document["load_range"] = (min(loads), max(loads))
    RESULTS.mkdir(exist_ok=True)
    text = markdown(document)
    (RESULTS / f"{args.name}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
