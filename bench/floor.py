"""The start-up floor of any CLI built like ours, and which CLI targets it leaves reachable (issue 16).

`gatekeeper check` is a click command that reads a YAML policy: whatever it does, its process pays the
interpreter's start-up and importing click and PyYAML.  This script measures that floor beside what
`check` pays on a one-case report, each a fresh process, interleaved, CPU (user + system) from `wait4`,
medians; then, from a `bench/cli.py` result (the library's in-process CPU time on each report, and
junitparser's), it works out the fastest `check` could possibly be -- the library's parse, the floor and
the SHA-256 of the report's bytes that the verdict must carry (`inputs[].sha256`, ../shared/DESIGN.md),
at this machine's hashlib speed; nothing else: no detection, policy, decision or output -- and whether
each CLI target is within reach at all.

    .venv/bin/python bench/floor.py --cli bench/results/s8-cli-after.json    # ~1 min: results/floor.{md,json}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The same interpreter, console script, policy, one-case report and targets as bench/cli.py measures.
from cli import (
    CLI_OVER_LIBRARY,
    DATA,
    GATEKEEPER,
    ONE_CASE,
    POLICY,
    PYTHON,
    RESULTS,
    ROOT,
    SUREFIRE_OVER_JUNITPARSER,
)


def commands(report: Path) -> dict[str, list[str]]:
    """The floor's steps, then `check` itself on one test case (no store, so nothing is kept between runs)."""
    return {
        "python -c pass": [PYTHON, "-c", "pass"],
        "python -c 'import click'": [PYTHON, "-c", "import click"],
        "python -c 'import click, yaml'": [PYTHON, "-c", "import click, yaml"],
        "gatekeeper --version": [GATEKEEPER, "--version"],
        "check --no-store, one case": [GATEKEEPER, "check", "--policy", str(POLICY), "--no-store", str(report)],
    }


def cpu_seconds(argv: list[str]) -> float:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_utime + usage.ru_stime


def measure(runs: int, report: Path) -> dict[str, float]:
    """Median CPU seconds of each command, interleaved so that a slow minute touches all of them alike."""
    plan = commands(report)
    for argv in plan.values():
        cpu_seconds(argv)  # warm the page cache and bytecode
    times: dict[str, list[float]] = {label: [] for label in plan}
    for _ in range(runs):
        for label, argv in plan.items():
            times[label].append(cpu_seconds(argv))
    return {label: statistics.median(values) for label, values in times.items()}


def sha256_seconds_per_byte() -> float:
    """CPU seconds hashlib's SHA-256 takes per byte here (OpenSSL; the CPU's SHA extensions where it has them)."""
    block = os.urandom(1 << 20)
    started = time.process_time()
    digest = hashlib.sha256()
    for _ in range(256):
        digest.update(block)
    return (time.process_time() - started) / (256 << 20)


def report_bytes(data: Path) -> dict[str, int]:
    """Each generated report's size in bytes (a directory: its files'), from bench/data/manifest.json."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    sizes: dict[str, int] = {}
    for case, report in manifest["reports"].items():
        path = data / report["path"]
        files = [f for f in path.iterdir() if f.is_file()] if path.is_dir() else [path]
        sizes[case] = sum(f.stat().st_size for f in files)
    return sizes


def reach(floor: float, per_byte: float, sizes: dict[str, int], cli_result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per report: the fastest possible `check` (parse + floor + SHA-256) against each target's bound."""
    rows: list[dict[str, Any]] = []
    for case in cli_result["cases"]:
        contenders = case["contenders"]
        library = contenders.get("library", {}).get("inside_cpu")
        if library is None or case["name"] not in sizes:
            continue
        best = library + floor + per_byte * sizes[case["name"]]
        measured = contenders.get("check --no-store", {}).get("cpu")
        rows.append(
            {
                "case": case["name"],
                "library": library,
                "best possible check": best,
                "check --no-store": measured,
                "target": f"check ≤ {CLI_OVER_LIBRARY}x the library ({CLI_OVER_LIBRARY * library:.3f} s)",
                "best ratio": best / library,
                "reachable": best <= CLI_OVER_LIBRARY * library,
            }
        )
        peer = contenders.get("junitparser", {}).get("inside_cpu")
        if case["name"] == "surefire" and peer is not None:
            bound = peer / SUREFIRE_OVER_JUNITPARSER
            rows.append(
                {
                    "case": "surefire",
                    "library": library,
                    "best possible check": best,
                    "check --no-store": measured,
                    "target": f"check ≥ {SUREFIRE_OVER_JUNITPARSER}x faster than junitparser (≤ {bound:.3f} s)",
                    "best ratio": peer / best,
                    "reachable": best <= bound,
                }
            )
    return rows


def markdown(medians: dict[str, float], floor: float, per_byte: float, rows: list[dict[str, Any]], source: str) -> str:
    load = os.getloadavg()[0]
    lines = [
        "# Start-up floor (bench/floor.py)",
        "",
        f"CPU seconds (user + system), medians of interleaved fresh processes; 1-minute load {load:.2f} at the end.",
        "",
        "| command | CPU ms |",
        "|---|---:|",
        *(f"| `{label}` | {seconds * 1000:.1f} |" for label, seconds in medians.items()),
        "",
        "Floor over the library's in-process figure (interpreter start-up + click + PyYAML): "
        f"**{floor * 1000:.1f} ms**.",
        "",
        f"SHA-256: {1 / per_byte / 1e9:.2f} GB of report per CPU second.  Against `{source}`: the fastest "
        "`check` could be is the library's parse, that floor and the report's SHA-256.",
        "",
        "| report | target | library s | best possible check s | check --no-store s | best ratio | reachable |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        measured = row["check --no-store"]
        lines.append(
            f"| {row['case']} | {row['target']} | {row['library']:.3f} | {row['best possible check']:.3f} | "
            f"{measured:.3f} | {row['best ratio']:.2f}x | {'yes' if row['reachable'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", type=Path, required=True, help="a bench/cli.py result (.json)")
    parser.add_argument("--runs", type=int, default=30, help="runs of each command [30]")
    parser.add_argument("--name", default="floor", help="results/NAME.{md,json}")
    parser.add_argument("--data", type=Path, default=DATA, help="the reports bench/cli.py read [bench/data]")
    args = parser.parse_args()
    cli_result = json.loads(args.cli.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "one.xml"
        report.write_text(ONE_CASE, encoding="utf-8")
        medians = measure(args.runs, report)
    floor = medians["python -c 'import click, yaml'"]
    per_byte = sha256_seconds_per_byte()
    rows = reach(floor, per_byte, report_bytes(args.data), cli_result)
    RESULTS.mkdir(exist_ok=True)
    text = markdown(medians, floor, per_byte, rows, args.cli.name)
    (RESULTS / f"{args.name}.md").write_text(text, encoding="utf-8")
    summary = {"medians": medians, "floor": floor, "sha256_seconds_per_byte": per_byte, "rows": rows}
    (RESULTS / f"{args.name}.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
