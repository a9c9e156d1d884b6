"""Pipeline parts (issue 18): merging 64 parts against reading the 64 reports they summarise.

A test suite split over 64 parallel jobs: each job writes a ~5 MB Cobertura report (coverage.py's layout,
as `generate.py` writes it) of the same source tree, each covering its own share of the lines, and records
it as a part (`gatekeeper.parts.part_from_inputs` + `encode_part`).  Then, side by side, interleaved:

- **reports**: what a final job would do without parts: read the 64 reports (`parsers.read_report`: detect,
  parse, sha256), merge them (`parsers.merge`) and compute the metrics;
- **parts**: what `check --pipeline-final` does: decode the 64 stored parts and merge them
  (`gatekeeper.parts.merge_parts`), merge the evidence (`parsers.merge`) and compute the metrics.

Both must give the same metrics (coverage merged by line either way), else the run fails.  Targets: the
parts side faster than the reports side; every part at most 10% of its report's bytes.

    .venv/bin/python bench/parts.py                      # ~2 min: 64 parts of ~5 MB, bench/results/parts.json
    .venv/bin/python bench/parts.py --parts 4 --files 5 --repeat 1 --out /tmp/p   # a smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from generate import SourceFile, Writer, source_files  # noqa: E402

from gatekeeper.context import Context  # noqa: E402
from gatekeeper.metrics import compute  # noqa: E402
from gatekeeper.parsers import merge, read_report  # noqa: E402
from gatekeeper.parts import encode_part, merge_parts, part_from_inputs  # noqa: E402
from gatekeeper.store.parts import StoredPart  # noqa: E402

SEED = 20261207
#: Source files in the tree: with ~300 statements each (and coverage.py's layout), a report of ~5 MB.
FILES = 350
#: The share of the tree's covered lines one job covers (the 64 jobs together cover nearly all of them).
SHARE = 0.35


def write_shard(path: Path, tree: list[SourceFile], rng: random.Random) -> None:
    """One job's Cobertura report: the tree's files, each covered line covered here with probability SHARE."""
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        out.write(
            '<?xml version="1.0" ?>\n'
            '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n'
            '<coverage version="7.6.1" timestamp="1718098200000" lines-valid="0" lines-covered="0" '
            'line-rate="0" branches-valid="0" branches-covered="0" branch-rate="0" complexity="0">\n'
            "\t<sources>\n\t\t<source>/builds/acme/platform</source>\n\t</sources>\n\t<packages>\n"
        )
        tabs = "\t" * 6
        for source in tree:
            name = source.path.rsplit("/", 1)[1]
            package = source.path.rsplit("/", 1)[0].replace("/", ".")
            out.write(
                f'\t\t<package name="{package}" line-rate="0.8" branch-rate="0.7" complexity="0">\n\t\t\t<classes>\n'
                f'\t\t\t\t<class name="{name}" filename="{source.path}" complexity="0" line-rate="0.8" '
                'branch-rate="0.7">\n\t\t\t\t\t<methods>\n'
            )
            hits_of = {number: (hits if hits and rng.random() < SHARE else 0) for number, hits in source.lines}
            for function, first, _ in source.functions:
                hits = hits_of[first]
                out.write(
                    f'{tabs}<method name="{function}" hits="{hits}" signature="()V">'
                    f'<lines><line number="{first}" hits="{hits}"/></lines></method>\n'
                )
            out.write("\t\t\t\t\t</methods>\n\t\t\t\t\t<lines>\n")
            for number, _ in source.lines:
                hits = hits_of[number]
                branch = source.branches.get(number)
                if branch is None:
                    out.write(f'{tabs}<line number="{number}" hits="{hits}"/>\n')
                    continue
                total = branch[1]
                covered = rng.randrange(1, total + 1) if hits else 0
                out.write(
                    f'{tabs}<line number="{number}" hits="{hits}" branch="true" '
                    f'condition-coverage="{covered * 100 // total}% ({covered}/{total})"/>\n'
                )
            out.write("\t\t\t\t\t</lines>\n\t\t\t\t</class>\n\t\t\t</classes>\n\t\t</package>\n")
        out.write("\t</packages>\n</coverage>\n")
        out.flush()


def record_parts(reports: list[Path]) -> list[StoredPart]:
    """Each report recorded as its job would (`check --part`), stored as the embedded store lists them."""
    context = Context(project="acme", pipeline="1", branch="main", commit="c0ffee")
    stored = []
    for index, report in enumerate(reports):
        name = f"test {index + 1}/{len(reports)}"
        part = part_from_inputs([read_report(report)], project="acme", pipeline="1", name=name, context=context)
        body = encode_part(part)
        received = f"2026-12-07T12:{index // 60:02d}:{index % 60:02d}.000000Z"
        stored.append(StoredPart("acme", "1", name, hashlib.sha256(body).hexdigest(), len(body), received, body))
    return stored


def read_reports(reports: list[Path]) -> dict[str, Any]:
    return compute(merge(read_report(report) for report in reports))


def merge_stored(stored: list[StoredPart]) -> dict[str, Any]:
    return compute(merge(merge_parts(stored).inputs))


def timed(function: Callable[[], dict[str, Any]]) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=64)
    parser.add_argument("--files", type=int, default=FILES, help="source files per report (350: ~5 MB)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "parts.json")
    parser.add_argument("--work", type=Path, default=None, help="where the reports are written (a temporary dir)")
    options = parser.parse_args(argv)

    work = options.work or Path(tempfile.mkdtemp(prefix="gatekeeper-parts-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        tree = list(source_files(random.Random(SEED), options.files, 300, ".py"))
        reports = []
        for index in range(options.parts):
            path = work / f"coverage-{index + 1}.xml"
            write_shard(path, tree, random.Random(SEED + 1 + index))
            reports.append(path)
        sizes = [path.stat().st_size for path in reports]
        started = time.perf_counter()
        stored = record_parts(reports)
        recording = time.perf_counter() - started
        ratios = [part.size / size for part, size in zip(stored, sizes, strict=True)]

        runs: dict[str, list[tuple[float, float]]] = {"reports": [], "parts": []}
        results: dict[str, dict[str, Any]] = {}
        for repeat in range(options.repeat):
            order = ["reports", "parts"] if repeat % 2 == 0 else ["parts", "reports"]
            for side in order:
                function = (lambda: read_reports(reports)) if side == "reports" else (lambda: merge_stored(stored))
                wall, cpu, metrics = timed(function)
                runs[side].append((wall, cpu))
                results[side] = metrics
        if results["reports"] != results["parts"]:
            differ = {k: (results["reports"].get(k), results["parts"].get(k)) for k in results["reports"]}
            print(f"FAIL: the merged parts and the reports disagree: {differ}", file=sys.stderr)
            return 1
        median = {side: tuple(statistics.median(run[i] for run in runs[side]) for i in (0, 1)) for side in runs}
        summary = {
            "parts": options.parts,
            "files_per_report": options.files,
            "report_bytes_median": statistics.median(sizes),
            "part_bytes_median": statistics.median(part.size for part in stored),
            "part_to_report_max": max(ratios),
            "part_to_report_median": statistics.median(ratios),
            "reports_wall_s": median["reports"][0],
            "reports_cpu_s": median["reports"][1],
            "parts_wall_s": median["parts"][0],
            "parts_cpu_s": median["parts"][1],
            "speedup_wall": median["reports"][0] / median["parts"][0],
            "speedup_cpu": median["reports"][1] / median["parts"][1],
            "recording_s_per_part": recording / options.parts,
            "coverage_lines_percent": results["parts"].get("coverage.lines.percent"),
            "repeat": options.repeat,
            "python": platform.python_version(),
            "targets_met": max(ratios) <= 0.10 and median["parts"][0] < median["reports"][0],
        }
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        mb = 1024 * 1024
        print(
            f"{options.parts} reports of {summary['report_bytes_median'] / mb:.2f} MB (median), "
            f"{options.files} files each; parts of {summary['part_bytes_median'] / 1024:.1f} KiB (median)\n"
            f"part / report: {summary['part_to_report_max']:.2%} at most, {summary['part_to_report_median']:.2%} "
            "median (target <= 10%)\n"
            f"read the {options.parts} reports: {summary['reports_wall_s']:.3f} s wall, "
            f"{summary['reports_cpu_s']:.3f} s CPU\n"
            f"merge the {options.parts} parts:  {summary['parts_wall_s']:.3f} s wall, "
            f"{summary['parts_cpu_s']:.3f} s CPU\n"
            f"parts / reports: {summary['speedup_wall']:.1f}x faster by wall, {summary['speedup_cpu']:.1f}x by CPU "
            "(target: faster)\n"
            f"recording a part (read + part_from_inputs + encode): {summary['recording_s_per_part']:.3f} s each\n"
            f"merged coverage.lines.percent {summary['coverage_lines_percent']} (reports and parts agree)\n"
            f"targets met: {summary['targets_met']}  ->  {options.out}"
        )
        return 0 if summary["targets_met"] else 3
    finally:
        if options.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
