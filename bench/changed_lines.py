"""Changed-lines coverage of a large merge request: `gatekeeper check --diff-base` against diff-cover, end to end.

A generated repository (6,000 Python files of 230 lines on `main`) gets one merge request that changes 5,000 of them
(4,700 edited, 150 renamed with an edit, 100 added, 50 deleted), and a ~50 MB Cobertura report of the
branch's tree (one `<line>` per statement, 10% branch lines).  Both tools then run as users run them,
each in a fresh process under GNU time, in the clone, from the same base:

- gatekeeper: `gatekeeper check --policy P coverage.xml --diff-base main --diff-no-renames --no-store
  --format json` (the whole gate: the change from git, the report read and mapped onto repository
  paths, the metrics, the verdict);
- diff-cover: `diff-cover coverage.xml --compare-branch=main --json-report R --total-percent-float`,
  with git's `diff.renames=false`: it leaves rename detection to git's configuration, so both count a
  renamed file's lines as new here (like with like); gatekeeper's default (`-M -C`) is measured too.

Runs are interleaved, the order rotating; figures are medians.  The two tools' covered and total
changed lines must be equal, else the run fails.  `--scale 0.1` also runs, to show memory stays flat.

    .venv/bin/python bench/changed_lines.py                  # ~3 min: bench/results/changed_lines.{md,json}
    .venv/bin/python bench/changed_lines.py --repeat 5 --work /tmp/cl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
POLICY = "policy: bench\ngates:\n  - id: new-lines\n    metric: coverage.new_lines.percent\n    min: 0\n"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}
NO_RENAMES = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "diff.renames", "GIT_CONFIG_VALUE_0": "false"}


@dataclass(frozen=True, slots=True)
class Shape:
    """The generated merge request at a scale (1.0: 6,000 files, 5,000 changed, a ~50 MB report)."""

    files: int
    edited: int
    renamed: int
    added: int
    deleted: int
    lines: int = 230  # lines per file on main; an edited file gains 6

    @classmethod
    def at(cls, scale: float) -> Shape:
        def n(count: int) -> int:
            return max(1, round(count * scale))

        return cls(files=n(6000), edited=n(4700), renamed=n(150), added=n(100), deleted=n(50))

    @property
    def changed(self) -> int:
        return self.edited + self.renamed + self.added + self.deleted


def _source(i: int, count: int) -> list[str]:
    return [f"v{i}_{n} = {n}  # {'x' * (n % 23)}\n" for n in range(1, count + 1)]


def _edit(i: int, body: list[str]) -> list[str]:
    """Four lines rewritten, six inserted after line 100: ten changed lines per edited file."""
    edited = list(body)
    for n in (1 + i % 17, 20 + i % 13, 40, 60 + i % 29):
        edited[n - 1] = f"v{i}_{n} = {n} + 1  # edited\n"
    return edited[:100] + [f"w{i}_{k} = {k}\n" for k in range(6)] + edited[100:]


def _path(i: int) -> str:
    return f"pkg{i % 60:02d}/mod{i:05d}.py"


def _statement(n: int) -> bool:
    return n % 9 != 0


def _covered(i: int, n: int) -> bool:
    return (i * 31 + n * 17) % 10 < 8


def generate(work: Path, shape: Shape) -> tuple[Path, Path]:
    """The repository (main, and the merge request checked out) and its Cobertura report."""
    if work.exists():
        shutil.rmtree(work)
    repo = work / "repo"
    repo.mkdir(parents=True)
    env = {**os.environ, **GIT_ENV}

    def git(*arguments: str) -> None:
        subprocess.run(["git", *arguments], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    for i in range(shape.files):
        target = repo / _path(i)
        target.parent.mkdir(exist_ok=True)
        target.write_text("".join(_source(i, shape.lines)))
    git("add", "-A")
    git("commit", "-q", "-m", "main")
    git("checkout", "-q", "-b", "change")
    tree: dict[str, tuple[int, list[str]]] = {_path(i): (i, _source(i, shape.lines)) for i in range(shape.files)}
    index = 0
    for _ in range(shape.edited):
        path = _path(index)
        i, body = tree[path]
        tree[path] = (i, _edit(i, body))
        (repo / path).write_text("".join(tree[path][1]))
        index += 1
    for _ in range(shape.renamed):
        path = _path(index)
        i, body = tree.pop(path)
        moved = path.replace("/mod", "/renamed")
        body = list(body)
        body[-1] = f"v{i}_last = 'edited'\n"
        tree[moved] = (i, body)
        git("mv", path, moved)
        (repo / moved).write_text("".join(body))
        index += 1
    for _ in range(shape.deleted):
        path = _path(index)
        tree.pop(path)
        (repo / path).unlink()
        index += 1
    for k in range(shape.added):
        i = shape.files + k
        path = f"new/mod{i:05d}.py"
        tree[path] = (i, _source(i, shape.lines))
        (repo / path).parent.mkdir(exist_ok=True)
        (repo / path).write_text("".join(tree[path][1]))
    git("add", "-A")
    git("commit", "-q", "-m", "the merge request")
    report = work / "coverage.xml"
    _cobertura(report, repo, tree)
    (work / "policy.yaml").write_text(POLICY)
    return repo, report


def _cobertura(report: Path, repo: Path, tree: dict[str, tuple[int, list[str]]]) -> None:
    """coverage.py's layout: `<source>` the clone, a package per directory, one class per file."""
    packages: dict[str, list[str]] = {}
    for path in tree:
        packages.setdefault(path.rsplit("/", 1)[0], []).append(path)
    with open(report, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" ?>\n<coverage version="7.4.0" timestamp="0" line-rate="0.8" branch-rate="0.5"')
        out.write(' lines-covered="0" lines-valid="0" branches-covered="0" branches-valid="0" complexity="0">\n')
        out.write(f"\t<sources>\n\t\t<source>{repo}</source>\n\t</sources>\n\t<packages>\n")
        for package, paths in sorted(packages.items()):
            out.write(
                f'\t\t<package name="{package}" line-rate="0.8" branch-rate="0.5" complexity="0">\n\t\t\t<classes>\n'
            )
            for path in sorted(paths):
                i, body = tree[path]
                out.write(f'\t\t\t\t<class name="{path.rsplit("/", 1)[1]}" filename="{path}" complexity="0" ')
                out.write('line-rate="0.8" branch-rate="0.5">\n\t\t\t\t\t<methods/>\n\t\t\t\t\t<lines>\n')
                for n in range(1, len(body) + 1):
                    if not _statement(n):
                        continue
                    hits = int(_covered(i, n))
                    if n % 10 == 3:
                        half = "50% (1/2)" if hits else "0% (0/2)"
                        branch = f'branch="true" condition-coverage="{half}"'
                        out.write(f'\t\t\t\t\t\t<line number="{n}" hits="{hits}" {branch}/>\n')
                    else:
                        out.write(f'\t\t\t\t\t\t<line number="{n}" hits="{hits}"/>\n')
                out.write("\t\t\t\t\t</lines>\n\t\t\t\t</class>\n")
            out.write("\t\t\t</classes>\n\t\t</package>\n")
        out.write("\t</packages>\n</coverage>\n")


@dataclass(frozen=True, slots=True)
class Run:
    contender: str
    seconds: float
    cpu_seconds: float
    peak_mib: float
    covered: int
    total: int
    percent: float


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds and peak RSS (GNU time's %M, so no harness RSS is inherited) and stdout."""
    with tempfile.NamedTemporaryFile("r") as stats:
        started = time.perf_counter()
        completed = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", stats.name, *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            raise SystemExit(f"{argv[0]} failed ({completed.returncode}): {completed.stderr[-2000:]}")
        kib, user, system = stats.read().split()[-3:]
    return seconds, float(user) + float(system), int(kib) / 1024, completed.stdout


def run_gatekeeper(work: Path, repo: Path, renames: bool) -> Run:
    argv = [str(BIN / "gatekeeper"), "check", "--policy", str(work / "policy.yaml"), str(work / "coverage.xml")]
    argv += ["--diff-base", "main", "--no-store", "--project", "bench", "--format", "json"]
    argv += [] if renames else ["--diff-no-renames"]
    env = {**os.environ, **GIT_ENV}
    seconds, cpu, peak, stdout = _timed(argv, repo, env)
    metrics = json.loads(stdout)["metrics"]
    return Run(
        "gatekeeper" if not renames else "gatekeeper (renames on)",
        seconds,
        cpu,
        peak,
        metrics["coverage.new_lines.covered"],
        metrics["coverage.new_lines.total"],
        metrics["coverage.new_lines.percent"],
    )


def run_diff_cover(work: Path, repo: Path) -> Run:
    report = work / "diff-cover.json"
    argv = [str(BIN / "diff-cover"), str(work / "coverage.xml"), "--compare-branch=main", f"--json-report={report}"]
    argv += ["--total-percent-float", "--ignore-staged", "--ignore-unstaged"]
    seconds, cpu, peak, _ = _timed(argv, repo, {**os.environ, **GIT_ENV, **NO_RENAMES})
    figures = json.loads(report.read_text())
    total, violations = figures["total_num_lines"], figures["total_num_violations"]
    return Run("diff-cover", seconds, cpu, peak, total - violations, total, figures["total_percent_covered"])


def measure(work: Path, repo: Path, repeat: int) -> list[Run]:
    contenders = [
        lambda: run_gatekeeper(work, repo, renames=False),
        lambda: run_diff_cover(work, repo),
        lambda: run_gatekeeper(work, repo, renames=True),
    ]
    runs: list[Run] = []
    for round_ in range(repeat):
        order = contenders[round_ % len(contenders) :] + contenders[: round_ % len(contenders)]
        for contender in order:
            runs.append(contender())
            print(f"  {runs[-1].contender:<24} {runs[-1].seconds:6.2f} s  {runs[-1].peak_mib:6.0f} MiB", flush=True)
    return runs


def median(runs: list[Run], contender: str) -> dict[str, float]:
    mine = [r for r in runs if r.contender == contender]
    return {
        "seconds": statistics.median(r.seconds for r in mine),
        "cpu_seconds": statistics.median(r.cpu_seconds for r in mine),
        "peak_mib": statistics.median(r.peak_mib for r in mine),
        "covered": mine[0].covered,
        "total": mine[0].total,
        "percent": mine[0].percent,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "gatekeeper-bench-changed-lines")
    parser.add_argument("--scales", default="1,0.1", help="comma-separated scales (1: 5,000 changed files)")
    args = parser.parse_args()
    started = datetime.now(timezone.utc)
    results: dict[str, object] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": os.getloadavg()[0],
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout.strip(),
        "diff_cover": metadata.version("diff-cover"),
        "scales": {},
    }
    lines: list[str] = []
    for scale in (float(s) for s in args.scales.split(",")):
        shape = Shape.at(scale)
        work = args.work / f"scale-{scale:g}"
        print(f"scale {scale:g}: generating {shape.changed:,} changed files of {shape.files:,} …", flush=True)
        repo, report = generate(work, shape)
        size = report.stat().st_size
        print(f"  report {size / MIB:.1f} MiB", flush=True)
        runs = measure(work, repo, args.repeat)
        figures = {name: median(runs, name) for name in ("gatekeeper", "diff-cover", "gatekeeper (renames on)")}
        ours, theirs = figures["gatekeeper"], figures["diff-cover"]
        same = (ours["covered"], ours["total"]) == (theirs["covered"], theirs["total"])
        same = same and round(ours["percent"], 2) == theirs["percent"]
        speedup = theirs["seconds"] / ours["seconds"]
        results["scales"][f"{scale:g}"] = {  # type: ignore[index]
            "shape": asdict(shape),
            "report_bytes": size,
            "figures": figures,
            "speedup": speedup,
            "same_numbers": same,
            "runs": [asdict(r) for r in runs],
        }
        lines.append(_table(scale, shape, size, figures, speedup, same))
        if not same:
            print(f"DIFFERENT NUMBERS: {figures}", file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "changed_lines.json").write_text(json.dumps(results, indent=2) + "\n")
    header = (
        f"Changed-lines coverage, measured {results['started']} by `bench/changed_lines.py` "
        f"(median of {args.repeat}; {results['machine']}; {results['git']}; diff-cover {results['diff_cover']}; "
        f"1-minute load {results['load_average']:.2f} at the start).\n"
    )
    (RESULTS / "changed_lines.md").write_text(header + "\n" + "\n\n".join(lines) + "\n")
    print(header + "\n" + "\n\n".join(lines))
    all_same = all(s["same_numbers"] for s in results["scales"].values())  # type: ignore[attr-defined]
    return 0 if all_same else 1


def _table(
    scale: float, shape: Shape, size: int, figures: dict[str, dict[str, float]], speedup: float, same: bool
) -> str:
    rows = [
        f"**{shape.changed:,} changed files** of {shape.files:,} (scale {scale:g}), Cobertura {size / MIB:.1f} MiB: "
        f"gatekeeper {speedup:.1f}x faster, {'the same numbers' if same else 'DIFFERENT NUMBERS'}",
        "",
        "| contender | wall s | CPU s | peak MiB | covered / changed lines | percent |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, f in figures.items():
        rows.append(
            f"| {name} | {f['seconds']:.2f} | {f['cpu_seconds']:.2f} | {f['peak_mib']:.0f} | "
            f"{int(f['covered']):,} / {int(f['total']):,} | {f['percent']} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
