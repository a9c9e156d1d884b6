"""Instruction counts of the speed targets' contenders: a ratio that the neighbours' load cannot move.

    .venv/bin/python bench/generate.py --scale 0.1 --out bench/data/small
    .venv/bin/python bench/generate.py --scale 0.01 --out bench/data/tiny
    .venv/bin/python bench/instructions.py          # ~10 min: bench/results/instructions.{md,json}

Wall and CPU times on a shared 2-core machine move with whatever else runs; the number of instructions
a process executes does not.  Each contender of a speed target runs under valgrind's callgrind (`Ir`,
instructions executed, user space) on the same report at two scales, and the difference is taken:
interpreter start-up and imports cancel out, what is left is the work that grows with the report.
Targets are then checked as ratios of those differences.  Instructions are not time (a cache miss or
a slow division costs more than an add), so this supports the timed runs, it does not replace them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from run import BENCH, CASES, RESULTS, Case, Contender

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Count:
    """Instructions of one contender on one case: at both scales, and what grows with the report."""

    case: str
    contender: str
    large: int
    small: int

    @property
    def marginal(self) -> int:
        return self.large - self.small


def instructions(contender: Contender, path: Path) -> int:
    """Instructions the contender's whole process executes on `path`, counted by callgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed")
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *contender.argv(path)]
    environment = os.environ | {"PYTHONHASHSEED": "0"}  # the same dict layouts, run after run
    done = subprocess.run(command, capture_output=True, text=True, cwd=BENCH.parent, env=environment, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{contender.label} on {path}: {done.stderr.strip().splitlines()[-1:]}")
    return int(found.group(1))


def measured(case: Case) -> list[Contender]:
    """The contenders a speed target compares (the CLI is not the subject of any)."""
    names = {"gatekeeper"} | {t.reference for t in case.targets if t.kind in ("faster", "within") and t.reference}
    return [c for c in case.contenders if c.label in names]


def report_path(data: Path, case: Case) -> Path:
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    return data / str(manifest["reports"][case.name]["path"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", type=Path, default=BENCH / "data" / "small", help="the larger reports")
    parser.add_argument("--small", type=Path, default=BENCH / "data" / "tiny", help="the same, smaller")
    parser.add_argument("--cases", help="comma-separated cases (default: every case with a speed target)")
    args = parser.parse_args(argv)
    wanted = set(args.cases.split(",")) if args.cases else None
    cases = [
        c
        for c in CASES
        if any(t.kind in ("faster", "within") for t in c.targets) and (wanted is None or c.name in wanted)
    ]
    counts: list[Count] = []
    for case in cases:
        large, small = report_path(args.large, case), report_path(args.small, case)
        for contender in measured(case):
            count = Count(
                case=case.name,
                contender=contender.label,
                large=instructions(contender, large),
                small=instructions(contender, small),
            )
            print(f"{case.name:<14} {contender.label:<15} {count.marginal:>16,}", file=sys.stderr)
            counts.append(count)
    lines = [
        f"# Instruction counts: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"callgrind `Ir`, reports of {args.large.name} minus the same reports of {args.small.name}.",
        "",
        "| report | target | instructions (millions), subject / reference | ratio | result |",
        "|---|---|---:|---:|---|",
    ]
    by_key = {(c.case, c.contender): c for c in counts}
    verdicts: list[dict[str, Any]] = []
    for case in cases:
        for target in case.targets:
            if target.kind not in ("faster", "within") or target.reference is None:
                continue
            subject, reference = by_key[(case.name, target.subject)], by_key[(case.name, target.reference)]
            if target.kind == "faster":
                ratio = reference.marginal / subject.marginal
                met = ratio >= target.bound
            else:
                ratio = subject.marginal / reference.marginal
                met = ratio <= target.bound
            verdicts.append({"case": case.name, "target": target.text, "ratio": ratio, "met": met})
            lines.append(
                f"| {case.name} | {target.text} | {subject.marginal / 1e6:,.0f} / {reference.marginal / 1e6:,.0f} "
                f"| {ratio:.2f}x | {'met' if met else '**missed**'} |"
            )
    RESULTS.mkdir(exist_ok=True)
    text = "\n".join(lines) + "\n"
    (RESULTS / "instructions.md").write_text(text, encoding="utf-8")
    document = {
        "counts": [{"case": c.case, "contender": c.contender, "large": c.large, "small": c.small} for c in counts],
        "targets": verdicts,
    }
    (RESULTS / "instructions.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
