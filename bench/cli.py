"""What users run, end to end: `gatekeeper check` against gatekeeper's own parsers and against the peers.

For each generated report alone, and for a full CI job (the Surefire directory + Cobertura + SARIF +
bandit together), each of these runs in a fresh process, interleaved, the order rotating between
repetitions, medians taken:

- **library**: `parser_for(format)(path)` then `metrics.compute` (bench/contenders.py `gatekeeper`),
  timed inside its process from before the import (as bench/run.py times it) and, from outside, as the
  whole process a library user would start (interpreter start-up included, as the CLI's is);
- **check --no-store** and **check, embedded store**: the installed console script with the starter
  policy (`rules/starter.yaml`), text on standard output, as a CI job runs it; timed from outside, the
  whole process; the store is one SQLite file kept across the run, as a CI cache keeps it;
- **the peer**: junitparser, diff-cover or `json.load` (bench/contenders.py), timed inside its process.

For the job, the library and peer figures are the sums of the four parts' medians of the same run.
Before timing, every check is run once with `--format json` and its metrics compared with what the
generator wrote (bench/data/manifest.json).

    .venv/bin/python bench/cli.py --repeat 3          # ~10 minutes: bench/results/cli.{md,json}
    .venv/bin/python bench/cli.py --cases surefire,job --repeat 5 --name cli-surefire

With `--instructions`, nothing is timed: each contender runs once under valgrind's callgrind
(`PYTHONHASHSEED=0`) and its instructions are counted, on the chosen reports (default: the Surefire
directory) and on a one-case JUnit report (check's fixed cost), beside `python -c pass`.  No neighbour
moves a count; a count misses what a child process does (callgrind does not follow `git`, which
`check` runs to trace commits) and what memory costs (page faults, cache misses), so it backs the
timed ratios, it does not replace them.

    .venv/bin/python bench/cli.py --instructions      # ~10 minutes: bench/results/cli-instructions.{md,json}
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import compile_bytecode, machine, warm_page_cache

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
PYTHON = sys.executable
GATEKEEPER = str(Path(sys.executable).parent / "gatekeeper")
POLICY = ROOT / "rules" / "starter.yaml"
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
CHILD_TIMEOUT = 900.0

#: Each report's peer (bench/contenders.py), and the count every reader must agree on.
PEERS = {
    "junit": ("junitparser", "junitparser", "tests.total"),
    "junit-100k": ("junitparser", "junitparser", "tests.total"),
    "surefire": ("junitparser", "junitparser", "tests.total"),
    "cobertura": ("diff-cover", "diff-cover-cobertura", "coverage.lines.total"),
    "lcov": ("diff-cover", "diff-cover-lcov", "coverage.lines.total"),
    "coverage-json": ("json.load", "json.load-coverage", "coverage.lines.total"),
    "sarif": ("json.load", "json.load-sarif", "findings.total"),
    "bandit": ("json.load", "json.load-bandit", "findings.total"),
}
#: The full job: what a Java service's pipeline hands the gate.
JOB = ("surefire", "cobertura", "sarif", "bandit")
#: Targets: CLI time at most this many times the library's (each report), the job's at most this many times
#: the sum of the library parses, and the CLI on the Surefire directory at least this much faster than junitparser.
CLI_OVER_LIBRARY = 1.25
JOB_OVER_LIBRARIES = 1.2
SUREFIRE_OVER_JUNITPARSER = 2.0


@dataclass(slots=True, kw_only=True)
class Run:
    wall: float  # the whole process, from outside
    cpu: float  # user + system of the whole process
    peak_mib: float
    inside_wall: float | None = None  # the library's and the peer's own figures, from inside
    inside_cpu: float | None = None
    load: float = 0.0


def launch(argv: list[str], accept: tuple[int, ...] = (0,)) -> tuple[Run, str]:
    """Run `argv` in a fresh process; its wall and CPU time and peak RSS (GNU time's `%M`), and its stdout."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as output, tempfile.NamedTemporaryFile("r") as stats:
        command = [GNU_TIME, "-f", "%M %U %S", "-o", stats.name, *argv] if GNU_TIME else argv
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        code = os.waitstatus_to_exitcode(status)  # GNU time exits with the command's status
        if code not in accept:
            last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}"
            raise RuntimeError(f"{' '.join(argv[:3])} …: {last}")
        if GNU_TIME:
            kib, user, system = stats.read().split()[-3:]
            peak, cpu = int(kib) / 1024, float(user) + float(system)
        else:
            peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    return Run(wall=wall, cpu=cpu, peak_mib=peak, load=load), text


def inside(argv: list[str]) -> Run:
    """A bench/contenders.py child: the whole process from outside, and its own figures from inside."""
    run, text = launch(argv)
    report = json.loads(text)
    run.inside_wall, run.inside_cpu = report["seconds"], report["cpu_seconds"]
    return run


@dataclass(frozen=True, slots=True)
class Contender:
    label: str
    argv: tuple[str, ...]
    kind: str  # "library" | "cli" | "peer"


def check_argv(paths: list[Path], store: Path | None) -> tuple[str, ...]:
    where = ("--store", str(store)) if store is not None else ("--no-store",)
    return (GATEKEEPER, "check", "--policy", str(POLICY), *where, "--project", "bench/cli", *map(str, paths))


def contenders(case: str, paths: list[Path], formats: list[str], store: Path) -> list[Contender]:
    found = [
        Contender("check --no-store", check_argv(paths, None), "cli"),
        Contender("check, embedded store", check_argv(paths, store), "cli"),
    ]
    if case != "job":
        contenders_py = (PYTHON, str(BENCH / "contenders.py"))
        label, name, _ = PEERS[case]
        found.insert(0, Contender("library", (*contenders_py, "gatekeeper", str(paths[0]), formats[0]), "library"))
        found.append(Contender(label, (*contenders_py, name, str(paths[0]), ""), "peer"))
    return found


def verify(case: str, paths: list[Path], expected: dict[str, int]) -> list[str]:
    """`check --format json`'s metrics against what the generator wrote (keys both know)."""
    _, text = launch([*check_argv(paths, None), "--format", "json"], accept=(0, 1))
    metrics = json.loads(text)["metrics"]
    return [
        f"{case}: {key} = {metrics.get(key)}, the reports hold {value}"
        for key, value in expected.items()
        if key != "files" and metrics.get(key) != value
    ]


@dataclass(slots=True, kw_only=True)
class Summary:
    label: str
    kind: str
    wall: float = 0.0
    cpu: float = 0.0
    peak_mib: float = 0.0
    inside_wall: float | None = None
    inside_cpu: float | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)


def summarise(label: str, kind: str, runs: list[Run]) -> Summary:
    def median(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    return Summary(
        label=label,
        kind=kind,
        wall=statistics.median(r.wall for r in runs),
        cpu=statistics.median(r.cpu for r in runs),
        peak_mib=statistics.median(r.peak_mib for r in runs),
        inside_wall=median([r.inside_wall for r in runs]),
        inside_cpu=median([r.inside_cpu for r in runs]),
        runs=[asdict(r) for r in runs],
    )


def measure(
    cases: list[str], inputs: dict[str, tuple[list[Path], list[str]]], repeat: int, store: Path
) -> dict[str, dict[str, Summary]]:
    runs: dict[tuple[str, str], list[Run]] = {}
    plan = {case: contenders(case, *inputs[case], store) for case in cases}
    for repetition in range(repeat):
        for case in cases:
            order = plan[case][repetition % len(plan[case]) :] + plan[case][: repetition % len(plan[case])]
            for contender in order:
                if contender.kind == "cli":
                    run, _ = launch(list(contender.argv), accept=(0, 1))  # 1: the starter policy's gates fail
                else:
                    run = inside(list(contender.argv))
                runs.setdefault((case, contender.label), []).append(run)
                print(
                    f"[{repetition + 1}/{repeat}] {case:<14} {contender.label:<22} {run.wall:6.2f} s "
                    f"cpu {run.cpu:6.2f} s  load {run.load:4.1f}",
                    file=sys.stderr,
                )
    return {case: {c.label: summarise(c.label, c.kind, runs[(case, c.label)]) for c in plan[case]} for case in cases}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def targets(results: dict[str, dict[str, Summary]]) -> list[dict[str, Any]]:
    """Every target as (wall, CPU) ratios: the library timed from inside (as bench/run.py does) and, for
    the per-report target, also as a whole process."""
    rows: list[dict[str, Any]] = []
    for case, found in results.items():
        if case == "job":
            continue
        library = found["library"]
        for label in ("check --no-store", "check, embedded store"):
            cli = found[label]
            rows.append(
                {
                    "case": case,
                    "target": f"{label} ≤ {CLI_OVER_LIBRARY:g}x the library",
                    "wall": ratio(cli.wall, library.inside_wall),
                    "cpu": ratio(cli.cpu, library.inside_cpu),
                    "process_wall": ratio(cli.wall, library.wall),
                    "process_cpu": ratio(cli.cpu, library.cpu),
                    "bound": CLI_OVER_LIBRARY,
                    "kind": "at most",
                }
            )
        if case == "surefire":
            peer = found["junitparser"]
            for label in ("check --no-store", "check, embedded store"):
                cli = found[label]
                rows.append(
                    {
                        "case": case,
                        "target": f"{label} ≥ {SUREFIRE_OVER_JUNITPARSER:g}x faster than junitparser",
                        "wall": ratio(peer.inside_wall, cli.wall),
                        "cpu": ratio(peer.inside_cpu, cli.cpu),
                        "bound": SUREFIRE_OVER_JUNITPARSER,
                        "kind": "at least",
                    }
                )
    if "job" in results and all(part in results for part in JOB):
        library_wall = sum(results[part]["library"].inside_wall or 0.0 for part in JOB)
        library_cpu = sum(results[part]["library"].inside_cpu or 0.0 for part in JOB)
        for label in ("check --no-store", "check, embedded store"):
            cli = results["job"][label]
            rows.append(
                {
                    "case": "job",
                    "target": f"{label} ≤ {JOB_OVER_LIBRARIES:g}x the sum of the library parses",
                    "wall": ratio(cli.wall, library_wall),
                    "cpu": ratio(cli.cpu, library_cpu),
                    "bound": JOB_OVER_LIBRARIES,
                    "kind": "at most",
                }
            )
    for row in rows:
        row["met"] = _met(row["wall"], row["bound"], row["kind"])
        row["cpu_met"] = _met(row["cpu"], row["bound"], row["kind"])
    return rows


def _met(value: float | None, bound: float, kind: str) -> bool | None:
    if value is None:
        return None
    return value <= bound if kind == "at most" else value >= bound


def markdown(document: dict[str, Any]) -> str:
    info = document["machine"]
    lines = [
        f"# gatekeeper check, end to end: {document['started']}",
        "",
        f"Scale {document['scale']:g}, {document['repeat']} repetitions (medians); 1-minute load average "
        f"{document['load_range'][0]:.1f} to {document['load_range'][1]:.1f} while contenders ran.  "
        f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}.  "
        f"Bytecode: {document['bytecode']}.",
        "",
        'Library and peers: timed inside their process ("in-process", as bench/run.py) and as the whole '
        "process; the CLI: the whole process.  Ratios are to the library's in-process time (the job's: to "
        "the sum of its parts').",
        "",
        "| reports | contender | wall s | CPU s | whole process wall s | peak MiB | wall / library | CPU / library |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for case in document["cases"]:
        found = case["contenders"]
        base_wall = case.get("library_wall")
        base_cpu = case.get("library_cpu")
        title = case["name"]
        rows = list(found.values())
        if case["name"] == "job":
            lines.append(f"| job | sum of the library parses | {base_wall:.2f} | {base_cpu:.2f} | | | 1.00 | 1.00 |")
            lines.append(
                f"| | sum of the peers | {case['peers_wall']:.2f} | {case['peers_cpu']:.2f} | | | "
                f"{case['peers_wall'] / base_wall:.2f} | {case['peers_cpu'] / base_cpu:.2f} |"
            )
            title = ""
        for summary in rows:
            timed_inside = summary["inside_wall"] is not None
            wall = summary["inside_wall"] if timed_inside else summary["wall"]
            cpu = summary["inside_cpu"] if timed_inside else summary["cpu"]
            whole = f"{summary['wall']:.2f}" if timed_inside else ""
            lines.append(
                f"| {title} | {summary['label']} | {wall:.2f} | {cpu:.2f} | {whole} | {summary['peak_mib']:.1f} | "
                f"{wall / base_wall:.2f} | {cpu / base_cpu:.2f} |"
            )
            title = ""
    lines += [
        "",
        "## Targets",
        "",
        "| reports | target | wall | CPU | whole processes: wall, CPU | result |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in document["targets"]:
        result = {True: "met", False: "**missed**", None: "n/a"}[row["met"]]
        if row["cpu_met"] is not None and row["cpu_met"] != row["met"]:
            result += f" (by CPU time: {'met' if row['cpu_met'] else 'missed'})"
        process = f"{row['process_wall']:.2f}x, {row['process_cpu']:.2f}x" if "process_wall" in row else ""
        lines.append(
            f"| {row['case']} | {row['target']} | {row['wall']:.2f}x | {row['cpu']:.2f}x | {process} | {result} |"
        )
    if document["problems"]:
        lines += ["", "## Counts that differ from the generated reports", "", *(f"- {p}" for p in document["problems"])]
    return "\n".join(lines) + "\n"


_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
#: One passing test: what `check` costs whatever the report (start-up, imports, policy, verdict, output).
ONE_CASE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="s" tests="1" failures="0" errors="0" skipped="0" '
    'time="0.1"><testcase classname="a.B" name="t" time="0.1"/></testsuite>\n'
)


def count_instructions(argv: list[str]) -> int:
    """Instructions the whole process `argv` executes (callgrind's `Collected`), its children not included."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed")
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv]
    environment = os.environ | {"PYTHONHASHSEED": "0"}  # the same dict layouts, run after run
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=environment, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode not in (0, 1) or found is None:  # 1: the starter policy's gates fail
        raise SystemExit(f"{' '.join(argv[:3])} …: {done.stderr.strip().splitlines()[-1:]}")
    return int(found.group(1))


def instruction_counts(cases: list[str], inputs: dict[str, tuple[list[Path], list[str]]], name: str) -> int:
    """`--instructions`: every contender of each case once under callgrind, and the one-case report."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gatekeeper-bench-cli-") as scratch:
        one = Path(scratch) / "one-case.xml"
        one.write_text(ONE_CASE, encoding="utf-8")
        store = Path(scratch) / "verdicts.db"
        plan = [("python -c pass", [PYTHON, "-c", "pass"], "")]
        for case in ("one case", *cases):
            paths, formats = ([one], ["junit"]) if case == "one case" else inputs[case]
            launch(list(check_argv(paths, store)), accept=(0, 1))  # the store exists from here on
            for contender in contenders(case if case != "one case" else "junit", paths, formats, store):
                plan.append((contender.label, list(contender.argv), case))
        for label, argv, case in plan:
            counted = count_instructions(argv)
            rows.append({"case": case, "contender": label, "instructions": counted})
            print(f"{case or '-':<14} {label:<22} {counted / 1e6:10.1f} M", file=sys.stderr)
    document = {
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "rows": rows,
    }
    lines = [
        f"# gatekeeper check, instructions (callgrind): {document['started']}",
        "",
        "Each contender once, the whole process (`git`, which check runs to trace commits, not included).",
        "",
        "| reports | contender | M instructions | / library | target |",
        "|---|---|---:|---:|---|",
    ]
    for case in dict.fromkeys(row["case"] for row in rows):
        found = {row["contender"]: row["instructions"] for row in rows if row["case"] == case}
        library = found.get("library")
        for label, counted in found.items():
            share = f"{counted / library:.2f}" if library else ""
            target = ""
            if library and label.startswith("check"):
                met = "met" if counted <= CLI_OVER_LIBRARY * library else "missed"
                target = f"≤ {CLI_OVER_LIBRARY:g}x the library: {met}"
            if case == "surefire" and label.startswith("check") and "junitparser" in found:
                faster = found["junitparser"] / counted
                met = "met" if faster >= SUREFIRE_OVER_JUNITPARSER else "missed"
                target += f"; junitparser / check {faster:.2f}x (≥ {SUREFIRE_OVER_JUNITPARSER:g}x: {met})"
            lines.append(f"| {case} | {label} | {counted / 1e6:,.1f} | {share} | {target} |")
    RESULTS.mkdir(exist_ok=True)
    text = "\n".join(lines) + "\n"
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per contender (median taken)")
    parser.add_argument("--cases", help="comma-separated: " + ", ".join([*PEERS, "job"]))
    parser.add_argument("--name", default=None, help="results file name under bench/results/ (default cli)")
    parser.add_argument("--data", type=Path, default=DATA, help="generated reports (default bench/data)")
    parser.add_argument("--instructions", action="store_true", help="count instructions (callgrind) instead of timing")
    args = parser.parse_args(argv)
    manifest = json.loads((args.data / "manifest.json").read_text(encoding="utf-8"))
    reports = manifest["reports"]
    if args.instructions:
        chosen = [c for c in (args.cases or "surefire").split(",") if c in PEERS and c in reports]
        found = {c: ([args.data / reports[c]["path"]], [reports[c]["format"]]) for c in chosen}
        compile_bytecode()
        return instruction_counts(chosen, found, args.name or "cli-instructions")
    args.name = args.name or "cli"
    wanted = args.cases.split(",") if args.cases else [*PEERS, "job"]
    cases = [c for c in [*PEERS, "job"] if c in wanted and (c in reports or (c == "job" and set(JOB) <= set(reports)))]
    if "job" in cases:  # the job's ratios need its parts' library and peer figures of the same run
        cases = [*dict.fromkeys([*(c for c in cases if c != "job"), *JOB, "job"])]
    if not cases:
        parser.error("no case to run: generate the reports first (bench/generate.py)")
    inputs: dict[str, tuple[list[Path], list[str]]] = {}
    for case in cases:
        parts = JOB if case == "job" else (case,)
        inputs[case] = ([args.data / reports[p]["path"] for p in parts], [reports[p]["format"] for p in parts])
        for path in inputs[case][0]:
            warm_page_cache(path)
    bytecode = compile_bytecode()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gatekeeper-bench-cli-") as scratch:
        store = Path(scratch) / "verdicts.db"
        for case in cases:
            expected: dict[str, int] = {}
            for part in JOB if case == "job" else (case,):
                for key, value in reports[part]["expected"].items():
                    expected[key] = expected.get(key, 0) + value
            problems += verify(case, inputs[case][0], expected)
            launch(list(check_argv(inputs[case][0], store)), accept=(0, 1))  # the store exists from here on
        started = datetime.now(timezone.utc)
        results = measure(cases, inputs, args.repeat, store)
    document: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "scale": manifest["scale"],
        "repeat": args.repeat,
        "bytecode": bytecode,
        "machine": machine(),
        "problems": problems,
        "cases": [],
        "targets": targets(results),
    }
    for case, found in results.items():
        entry: dict[str, Any] = {"name": case, "contenders": {label: asdict(s) for label, s in found.items()}}
        if case == "job":
            entry["library_wall"] = sum(results[p]["library"].inside_wall or 0.0 for p in JOB)
            entry["library_cpu"] = sum(results[p]["library"].inside_cpu or 0.0 for p in JOB)
            peers = [next(s for s in results[p].values() if s.kind == "peer") for p in JOB]
            entry["peers_wall"] = sum(s.inside_wall or 0.0 for s in peers)
            entry["peers_cpu"] = sum(s.inside_cpu or 0.0 for s in peers)
        else:
            entry["library_wall"] = found["library"].inside_wall
            entry["library_cpu"] = found["library"].inside_cpu
        document["cases"].append(entry)
    loads = [run["load"] for case in results.values() for s in case.values() for run in s.runs]
    document["load_range"] = (min(loads), max(loads))
    RESULTS.mkdir(exist_ok=True)
    text = markdown(document)
    (RESULTS / f"{args.name}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"{args.name}.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
