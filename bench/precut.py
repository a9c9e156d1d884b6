"""Is the C `<properties>` pre-cut worth its own XML tokenizer?  The real CLI, with and without it.

    .venv/bin/python bench/generate.py --only surefire     # bench/data/surefire-reports: 2,000 files, 22 MB
    .venv/bin/python bench/precut.py                       # ~3 min: 15 timed runs each, then callgrind

`_junit_speedups.c` could cut a strictly well-formed Surefire `<properties>` block out of a file's bytes
before expat saw them (issue 14, item 6: kept only if `gatekeeper metrics` is at least 25% faster with
it).  This script builds the extension of revision REV (the last one that had the pre-cut) twice with
setuptools' `build_ext` (the compiler flags `pip install` uses): as it is, and with
`-DGK_NO_PROPERTIES_PRECUT`, which parses every document whole.  Each build goes into its own copy of
that revision's package (`git archive`, bytecode compiled), and `gatekeeper metrics --format json DIR`
runs with the copy first on `PYTHONPATH`.  `--tree` adds a third copy: the working tree's package and
extension as they are (after the removal: the same as "without").

Measured: wall time and user + system CPU time of the whole process (`wait4`), the variants interleaved
with the order rotating, the page cache warm, the 1-minute load average before each run; then the
instructions of one run each under valgrind's callgrind (`PYTHONHASHSEED=0`), which no neighbour's load
moves.  Every variant must print the same JSON, byte for byte.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: The last revision with the pre-cut and its switch (`GK_NO_PROPERTIES_PRECUT`).
REVISION = "2eab8ce09b9aad9739d1cff1bd9da7487194a536"
SOURCE = "gatekeeper/parsers/_junit_speedups.c"
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


@dataclass(slots=True)
class Variant:
    """One copy of the package with its own build of the extension, and what its runs measured."""

    name: str
    root: Path
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    instructions: int = 0

    def environment(self) -> dict[str, str]:
        return os.environ | {"PYTHONPATH": str(self.root), "PYTHONHASHSEED": "0"}


def build(variant: Variant, source: Path, macros: list[tuple[str, str | None]]) -> None:
    """Build `source` as the package's `_junit_speedups` into the variant's copy, as `pip install` would."""
    from setuptools import Distribution, Extension

    extension = Extension("gatekeeper.parsers._junit_speedups", [str(source)], define_macros=macros)
    command = Distribution({"ext_modules": [extension]}).get_command_obj("build_ext")
    command.build_lib = str(variant.root)  # type: ignore[attr-defined]
    command.build_temp = str(variant.root / "build-temp")  # type: ignore[attr-defined]
    command.ensure_finalized()
    command.run()


def prepare(work: Path, revision: str, tree: bool) -> list[Variant]:
    """The copies of the package: REV with and without the pre-cut, and the working tree's if asked."""
    variants = []
    for name, macros in (("with pre-cut", []), ("without", [("GK_NO_PROPERTIES_PRECUT", None)])):
        variant = Variant(name, work / name.split()[0])
        variant.root.mkdir()
        archive = subprocess.run(["git", "archive", revision, "gatekeeper"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(variant.root)], input=archive.stdout, check=True)
        for built in (variant.root / "gatekeeper" / "parsers").glob("*.so"):
            built.unlink()
        build(variant, variant.root / SOURCE, macros)
        variants.append(variant)
    if tree:
        variant = Variant("working tree", work / "tree")
        ignore = shutil.ignore_patterns("__pycache__", "_junit_speedups*.so")
        shutil.copytree(ROOT / "gatekeeper", variant.root / "gatekeeper", ignore=ignore)
        build(variant, variant.root / SOURCE, [])
        variants.append(variant)
    for variant in variants:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "checked-hash", str(variant.root)],
            check=True,
        )
        check = "import gatekeeper.parsers.junit as j, gatekeeper.parsers._junit_speedups as m; "
        check += "assert j.Scanner is m.Scanner; print(m.__file__)"
        where = subprocess.run(
            [sys.executable, "-P", "-c", check], env=variant.environment(), capture_output=True, text=True, check=True
        )
        if not where.stdout.startswith(str(variant.root)):
            raise SystemExit(f"{variant.name}: the extension came from {where.stdout.strip()}")
    return variants


def run(command: list[str], variant: Variant) -> bytes:
    """One timed run of the CLI: wall and user + system CPU time of the whole process."""
    variant.loads.append(os.getloadavg()[0])
    started = time.perf_counter()
    process = subprocess.Popen(command, env=variant.environment(), stdout=subprocess.PIPE)
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    variant.walls.append(time.perf_counter() - started)
    variant.cpus.append(usage.ru_utime + usage.ru_stime)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{variant.name}: exit {process.returncode}")
    return output


def callgrind(command: list[str], variant: Variant) -> int:
    """Instructions the whole CLI process executes (user space), counted by callgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (or pass --no-callgrind)")
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env=variant.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{variant.name} under callgrind: {done.stderr.strip().splitlines()[-1:]}")
    return int(found.group(1))


def hyperfine(command: list[str], variants: list[Variant], runs: int) -> None:
    """The same runs timed by hyperfine (its summary on stderr), as a cross-check of the loop's figures."""
    found = shutil.which("hyperfine")
    if found is None:
        raise SystemExit("hyperfine is not installed")
    timed = [shlex.join(["env", f"PYTHONPATH={v.root}", "PYTHONHASHSEED=0", *command]) for v in variants]
    names = [arg for v in variants for arg in ("-n", v.name)]
    subprocess.run([found, "-N", "--warmup", "2", "--runs", str(runs), *names, *timed], check=True, stdout=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=BENCH / "data" / "surefire-reports", help="the report directory")
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each variant (default 15)")
    parser.add_argument("--revision", default=REVISION, help=f"the revision with the pre-cut (default {REVISION})")
    parser.add_argument("--tree", action="store_true", help="also the working tree's package and extension")
    parser.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    parser.add_argument("--hyperfine", action="store_true", help="also time the variants with hyperfine")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"{args.data}: no such directory (bench/generate.py --only surefire writes it)")
    gatekeeper = str(Path(sys.executable).with_name("gatekeeper"))
    command = [gatekeeper, "metrics", "--format", "json", str(args.data.resolve())]
    with tempfile.TemporaryDirectory(prefix="gk-precut-") as work:
        variants = prepare(Path(work), args.revision, args.tree)
        outputs = {v.name: run(command, v) for v in variants}  # warms the page cache; not counted
        if len(set(outputs.values())) != 1:
            raise SystemExit("the variants' outputs differ")
        for v in variants:
            v.walls, v.cpus, v.loads = [], [], []
        for index in range(args.runs):
            shift = index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                run(command, variant)
        if args.hyperfine:
            hyperfine(command, variants, args.runs)
        if not args.no_callgrind:
            for variant in variants:
                variant.instructions = callgrind(command, variant)
    print(report(variants, args.runs))
    return 0


def report(variants: list[Variant], runs: int) -> str:
    """A Markdown table: medians and fastest runs, and each variant's ratio to the one with the pre-cut."""
    base = variants[0]
    lines = [
        f"`gatekeeper metrics --format json` on the Surefire directory, {runs} interleaved runs each "
        f"(1-minute load {min(min(v.loads) for v in variants):.1f} to {max(max(v.loads) for v in variants):.1f})",
        "",
        "| variant | wall s, median (fastest) | CPU s, median (fastest) | instructions | "
        "to with pre-cut: wall / CPU / instructions |",
        "|---|---:|---:|---:|---:|",
    ]
    for v in variants:
        wall, cpu = statistics.median(v.walls), statistics.median(v.cpus)
        ratio_instructions = f"{v.instructions / base.instructions:.3f}" if base.instructions else "-"
        lines.append(
            f"| {v.name} | {wall:.3f} ({min(v.walls):.3f}) | {cpu:.3f} ({min(v.cpus):.3f}) | "
            f"{v.instructions / 1e9:.3f} G | {wall / statistics.median(base.walls):.3f} / "
            f"{cpu / statistics.median(base.cpus):.3f} / {ratio_instructions} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
