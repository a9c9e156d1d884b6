"""Generate large, realistic CI reports for the benchmarks, deterministically (same seed, same bytes).

Each report has the shape its real producer writes (pytest, Maven Surefire, coverage.py/istanbul
Cobertura, lcov/istanbul LCOV, coverage.py JSON format 3, semgrep/CodeQL-style SARIF 2.1.0), at the
sizes the performance issue names.  Alongside the reports, `manifest.json` records what each one
contains (counted while writing), so `run.py` can check every contender read it completely.

    .venv/bin/python bench/generate.py              # full sizes (~550 MB, ~1.5 minutes)
    .venv/bin/python bench/generate.py --scale 0.1  # a tenth, for quick runs
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from xml.sax.saxutils import quoteattr

BENCH = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH / "data"
DEFAULT_SEED = 20240611
#: Bytes collected before each write: large writes, bounded memory.
FLUSH_AT = 1 << 20

WORDS = [
    "order",
    "invoice",
    "payment",
    "account",
    "customer",
    "ledger",
    "refund",
    "basket",
    "catalog",
    "price",
    "stock",
    "shipment",
    "report",
    "session",
    "token",
    "cache",
    "queue",
    "worker",
    "schedule",
    "export",
    "import",
    "parser",
    "render",
    "search",
    "index",
    "user",
    "group",
    "role",
    "permission",
    "audit",
    "event",
    "metric",
    "alert",
    "notify",
    "webhook",
    "tenant",
    "region",
    "billing",
    "coupon",
    "discount",
    "tax",
    "currency",
    "address",
    "profile",
    "config",
    "feature",
    "flag",
    "upload",
    "storage",
    "archive",
]
VERBS = [
    "create",
    "update",
    "delete",
    "fetch",
    "list",
    "validate",
    "reject",
    "retry",
    "merge",
    "split",
    "compute",
    "render",
    "parse",
]
QUALIFIERS = [
    "empty",
    "missing",
    "invalid",
    "expired",
    "duplicate",
    "large",
    "unicode",
    "concurrent",
    "partial",
    "nested",
]


class Writer:
    """Buffers text and writes it in large chunks; counts bytes written."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.parts: list[str] = []
        self.pending = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.pending += len(text)
        if self.pending >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        self.stream.write("".join(self.parts))
        self.parts.clear()
        self.pending = 0


@dataclass(slots=True)
class Expected:
    """What a generated report contains, counted while writing it."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, value: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + value


def _module_path(rng: random.Random, depth: int = 3) -> list[str]:
    return [rng.choice(WORDS) for _ in range(depth)]


def _pytest_classname(rng: random.Random) -> str:
    """pytest's classname: dotted module path, then the test class if there is one."""
    kind = rng.choice(("unit", "integration", "functional", "contract"))
    parts = [
        "tests",
        kind,
        *_module_path(rng, rng.randrange(1, 3)),
        f"test_{rng.choice(WORDS)}_{rng.choice(WORDS)}",
    ]
    if rng.random() < 0.6:
        parts.append(f"Test{rng.choice(WORDS).title()}{rng.choice(WORDS).title()}{rng.choice(VERBS).title()}")
    return ".".join(parts)


def _test_name(rng: random.Random) -> str:
    name = f"test_{rng.choice(VERBS)}_{rng.choice(WORDS)}_{rng.choice(WORDS)}_when_{rng.choice(QUALIFIERS)}"
    if rng.random() < 0.5:
        name += f"[{rng.choice(WORDS)}-{rng.choice(QUALIFIERS)}-{rng.choice(WORDS)}-{rng.randrange(100)}]"
    return name


def _python_traceback(rng: random.Random, module: str, test: str) -> tuple[str, str]:
    """A pytest failure: the message attribute and the body pytest writes (the long repr)."""
    left, right = rng.randrange(1000), rng.randrange(1000)
    message = f"AssertionError: assert {left} == {right}"
    body_lines = [f"def {test.split('[')[0]}(client, db):"]
    for _ in range(rng.randrange(4, 14)):
        body_lines.append(f"        response = client.{rng.choice(VERBS)}_{rng.choice(WORDS)}(id={left})")
    body_lines += [
        f">       assert response.{rng.choice(WORDS)}_count == {right}",
        f"E       {message}",
        f"E        +  where {left} = <Response {rng.choice(WORDS)}>.{rng.choice(WORDS)}_count",
        "",
        f"{module.replace('.', '/')}.py:{rng.randrange(10, 900)}: AssertionError",
    ]
    return message, "\n".join(body_lines)


# --------------------------------------------------------------------------------------------- JUnit
#: Cumulative outcome thresholds of a pytest case: 1.5% failed, 0.3% errors, 3% skipped.
FAILED, ERRORED, SKIPPED = 0.015, 0.018, 0.048


def write_pytest_junit(path: Path, cases: int, rng: random.Random) -> Expected:
    """One pytest JUnit file (pytest writes it on one line): ~1.5% failed, 0.3% errors, 3% skipped."""
    expected = Expected()
    modules = [_pytest_classname(rng) for _ in range(max(cases // 40, 1))]
    # Outcomes are drawn first, so the header can carry the counts up front as pytest writes them.
    rolls = [rng.random() for _ in range(cases)]
    failures = sum(1 for roll in rolls if roll < FAILED)
    errors = sum(1 for roll in rolls if FAILED <= roll < ERRORED)
    skipped = sum(1 for roll in rolls if ERRORED <= roll < SKIPPED)
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        out.write('<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">')
        out.write(
            f'<testsuite name="pytest" errors="{errors}" failures="{failures}" skipped="{skipped}" '
            f'tests="{cases}" time="{cases * 0.004:.3f}" timestamp="2024-06-11T09:30:00.000000+00:00" '
            'hostname="runner-7f9c4d-build">'
        )
        module_index = 0
        for index, roll in enumerate(rolls):
            if index % 40 == 0:
                module_index = rng.randrange(len(modules))
            module = modules[module_index]
            name = _test_name(rng)
            duration = f"{rng.expovariate(250):.3f}"
            attrs = f'<testcase classname="{module}" name="{name}" time="{duration}"'
            expected.add("tests.total")
            if roll < FAILED:
                message, body = _python_traceback(rng, module, name)
                out.write(f"{attrs}><failure message={quoteattr(message)}>{_text(body)}</failure></testcase>")
                expected.add("tests.failed")
            elif roll < ERRORED:
                message = f"failed on setup with \"fixture '{rng.choice(WORDS)}_db' not found\""
                where = f"file {module.replace('.', '/')}.py, line {rng.randrange(900)}"
                body = f"{where}\n  def {name}(x):\nE  fixture not found"
                out.write(f"{attrs}><error message={quoteattr(message)}>{_text(body)}</error></testcase>")
                expected.add("tests.errors")
            elif roll < SKIPPED:
                reason = f"requires {rng.choice(WORDS)} service"
                out.write(
                    f'{attrs}><skipped type="pytest.skip" message="{reason}">'
                    f"{module.replace('.', '/')}.py:{rng.randrange(900)}: {reason}</skipped></testcase>"
                )
                expected.add("tests.skipped")
            else:
                out.write(f"{attrs} />")
                expected.add("tests.passed")
        out.write("</testsuite></testsuites>")
        out.flush()
    return expected


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_JAVA_PROPERTIES = [
    ("java.specification.version", "17"),
    ("sun.jnu.encoding", "UTF-8"),
    ("java.vm.vendor", "Eclipse Adoptium"),
    ("sun.arch.data.model", "64"),
    ("java.vendor.url", "https://adoptium.net/"),
    ("os.name", "Linux"),
    ("java.vm.specification.version", "17"),
    ("sun.java.launcher", "SUN_STANDARD"),
    ("user.country", "US"),
    ("sun.boot.library.path", "/opt/java/openjdk/lib"),
    ("jdk.debug", "release"),
    ("sun.cpu.endian", "little"),
    ("user.home", "/home/runner"),
    ("user.language", "en"),
    ("java.specification.vendor", "Oracle Corporation"),
    ("java.version.date", "2024-04-16"),
    ("java.home", "/opt/java/openjdk"),
    ("file.separator", "/"),
    ("basedir", "/builds/acme/platform"),
    ("java.vm.compressedOopsMode", "Zero based"),
    ("line.separator", "&#10;"),
    ("java.vm.specification.vendor", "Oracle Corporation"),
    ("java.specification.name", "Java Platform API Specification"),
    ("sun.management.compiler", "HotSpot 64-Bit Tiered Compilers"),
    ("java.runtime.version", "17.0.11+9"),
    ("user.name", "runner"),
    ("path.separator", ":"),
    ("os.version", "6.1.0-21-cloud-amd64"),
    ("java.runtime.name", "OpenJDK Runtime Environment"),
    ("file.encoding", "UTF-8"),
    ("java.vm.name", "OpenJDK 64-Bit Server VM"),
    ("java.vendor.version", "Temurin-17.0.11+9"),
    ("localRepository", "/builds/acme/platform/.m2/repository"),
    ("java.vendor.url.bug", "https://github.com/adoptium/adoptium-support/issues"),
    ("java.io.tmpdir", "/tmp"),
    ("java.version", "17.0.11"),
    ("user.dir", "/builds/acme/platform"),
    ("os.arch", "amd64"),
    ("java.vm.specification.name", "Java Virtual Machine Specification"),
    ("native.encoding", "UTF-8"),
    ("java.library.path", "/usr/java/packages/lib:/usr/lib64:/lib64:/lib:/usr/lib"),
    ("java.vm.info", "mixed mode, sharing"),
    ("java.vendor", "Eclipse Adoptium"),
    ("java.vm.version", "17.0.11+9"),
    ("sun.io.unicode.encoding", "UnicodeLittle"),
    ("java.class.version", "61.0"),
]


def _java_stack(rng: random.Random, classname: str, method: str, message: str) -> str:
    frames = [f"org.opentest4j.AssertionFailedError: {message}"]
    frames += [
        "\tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)",
        "\tat org.junit.jupiter.api.AssertEquals.failNotEqual(AssertEquals.java:197)",
        f"\tat {classname}.{method}({classname.rsplit('.', 1)[-1]}.java:{rng.randrange(20, 400)})",
    ]
    frames += [
        f"\tat org.junit.platform.engine.support.hierarchical.NodeTestTask.execute(NodeTestTask.java:{n})"
        for n in rng.sample(range(60, 200), rng.randrange(8, 20))
    ]
    return "\n".join(frames) + "\n"


def write_surefire_dir(directory: Path, files: int, cases: int, rng: random.Random) -> Expected:
    """Maven Surefire's target/surefire-reports: one TEST-*.xml per class, each with its properties."""
    expected = Expected()
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    # Split `cases` over `files`, unevenly as real classes are (1 to ~2x the mean).
    weights = [rng.random() + 0.02 for _ in range(files)]
    scale = cases / sum(weights)
    sizes = [max(1, round(w * scale)) for w in weights]
    sizes[-1] = max(1, sizes[-1] + cases - sum(sizes))
    used: set[str] = set()
    for size in sizes:
        package = "com.acme." + ".".join(_module_path(rng, 2))
        classname = f"{package}.{rng.choice(WORDS).title()}{rng.choice(WORDS).title()}Test"
        while classname in used:
            classname += "X"
        used.add(classname)
        body: list[str] = []
        counts = {"tests": size, "failures": 0, "errors": 0, "skipped": 0}
        for _ in range(size):
            method = f"{rng.choice(VERBS)}{rng.choice(WORDS).title()}When{rng.choice(QUALIFIERS).title()}"
            duration = f"{rng.expovariate(40):.3f}"
            head = f'  <testcase name="{method}" classname="{classname}" time="{duration}"'
            roll = rng.random()
            expected.add("tests.total")
            if roll < 0.012:
                message = f"expected: &lt;{rng.randrange(99)}&gt; but was: &lt;{rng.randrange(99)}&gt;"
                stack = _java_stack(rng, classname, method, message)
                body.append(
                    f'{head}>\n    <failure message="{message}" type="org.opentest4j.AssertionFailedError">'
                    f"<![CDATA[{stack}]]></failure>\n"
                    f"    <system-out><![CDATA[INFO  {classname} - running {method}\n]]></system-out>\n"
                    "  </testcase>\n"
                )
                counts["failures"] += 1
                expected.add("tests.failed")
            elif roll < 0.015:
                message = f"Connection refused: localhost/127.0.0.1:{rng.randrange(1024, 65535)}"
                body.append(
                    f'{head}>\n    <error message="{message}" type="java.net.ConnectException">'
                    f"<![CDATA[java.net.ConnectException: {message}\n\tat java.base/sun.nio.ch.Net.connect0"
                    "(Native Method)\n]]></error>\n  </testcase>\n"
                )
                counts["errors"] += 1
                expected.add("tests.errors")
            elif roll < 0.017:
                message = "timing-dependent assertion"
                stack = _java_stack(rng, classname, method, message)
                body.append(
                    f'{head}>\n    <flakyFailure message="{message}" '
                    'type="org.opentest4j.AssertionFailedError">\n'
                    f"      <stackTrace><![CDATA[{stack}]]></stackTrace>\n"
                    "    </flakyFailure>\n  </testcase>\n"
                )
                expected.add("tests.passed")
                expected.add("tests.flaky")
            elif roll < 0.040:
                body.append(f'{head}>\n    <skipped message="@Disabled: flaky on CI"/>\n  </testcase>\n')
                counts["skipped"] += 1
                expected.add("tests.skipped")
            else:
                body.append(f"{head}/>\n")
                expected.add("tests.passed")
        jars = [
            f"/root/.m2/repository/org/{w}/{w}-core/1.{i}/{w}-core-1.{i}.jar"
            for i, w in enumerate(rng.sample(WORDS, 12))
        ]
        properties = "".join(f'    <property name="{name}" value="{value}"/>\n' for name, value in _JAVA_PROPERTIES)
        properties += (
            f'    <property name="surefire.test.class.path" value="/builds/acme/platform/target/test-classes:'
            f'/builds/acme/platform/target/classes:{":".join(jars)}"/>\n'
        )
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/'
            f'surefire-test-report-3.0.xsd" version="3.0" name="{classname}" time="{size * 0.02:.3f}" '
            f'tests="{counts["tests"]}" errors="{counts["errors"]}" skipped="{counts["skipped"]}" '
            f'failures="{counts["failures"]}">\n'
            f"  <properties>\n{properties}  </properties>\n{''.join(body)}</testsuite>\n"
        )
        (directory / f"TEST-{classname}.xml").write_text(text, encoding="utf-8")
        expected.add("files")
    return expected


# ------------------------------------------------------------------------------------------ coverage
@dataclass(slots=True)
class SourceFile:
    """A source file's coverage, the same data rendered in each coverage format."""

    path: str
    lines: list[tuple[int, int]]  # (line number, hits), ascending
    branches: dict[int, tuple[int, int]]  # line -> (covered, total)
    functions: list[tuple[str, int, int]]  # (name, first line, hits)


def source_files(rng: random.Random, count: int, mean_lines: int, extension: str) -> Iterator[SourceFile]:
    """Plausible per-file coverage: ~80% of statements hit, ~10% of them branch lines."""
    used: set[str] = set()
    for _ in range(count):
        path = "src/" + "/".join(_module_path(rng, rng.randrange(1, 4))) + f"_{rng.choice(WORDS)}{extension}"
        while path in used:
            path = path.replace(extension, f"_{rng.randrange(10)}{extension}")
        used.add(path)
        statements = max(3, int(rng.triangular(3, mean_lines * 2, mean_lines)))
        covered_ratio = min(1.0, max(0.0, rng.gauss(0.8, 0.15)))
        number = 0
        lines: list[tuple[int, int]] = []
        branches: dict[int, tuple[int, int]] = {}
        functions: list[tuple[str, int, int]] = []
        for _ in range(statements):
            number += rng.choice((1, 1, 1, 2, 2, 3, 5))
            hits = rng.choice((1, 1, 2, 3, 7, 12, 40)) if rng.random() < covered_ratio else 0
            lines.append((number, hits))
            if rng.random() < 0.10:
                total = 2 if rng.random() < 0.85 else 4
                branches[number] = (0 if hits == 0 else rng.randrange(1, total + 1), total)
            if rng.random() < 0.08:
                functions.append((f"{rng.choice(VERBS)}_{rng.choice(WORDS)}_{len(functions)}", number, hits))
        yield SourceFile(path=path, lines=lines, branches=branches, functions=functions)


def _count_coverage(expected: Expected, source: SourceFile) -> None:
    expected.add("files")
    expected.add("coverage.lines.total", len(source.lines))
    expected.add("coverage.lines.covered", sum(1 for _, hits in source.lines if hits))
    expected.add("coverage.branches.total", sum(total for _, total in source.branches.values()))
    expected.add("coverage.branches.covered", sum(covered for covered, _ in source.branches.values()))


def write_cobertura(path: Path, files: int, rng: random.Random) -> Expected:
    """Cobertura as coverage.py lays it out (tabs, branch lines with condition-coverage and
    missing-branches) with istanbul's `<methods>` blocks, which repeat lines of the class."""
    expected = Expected()
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        out.write(
            '<?xml version="1.0" ?>\n'
            '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">\n'
            '<coverage version="7.6.1" timestamp="1718098200000" lines-valid="0" lines-covered="0" '
            'line-rate="0" branches-valid="0" branches-covered="0" branch-rate="0" complexity="0">\n'
            "\t<!-- Generated by coverage.py: https://coverage.readthedocs.io/en/7.6.1 -->\n"
            "\t<sources>\n\t\t<source>/builds/acme/platform</source>\n\t</sources>\n\t<packages>\n"
        )
        package = None
        tabs = "\t" * 6
        for source in source_files(rng, files, 300, ".py"):
            _count_coverage(expected, source)
            directory = source.path.rsplit("/", 1)[0]
            if directory != package:
                if package is not None:
                    out.write("\t\t\t</classes>\n\t\t</package>\n")
                package = directory
                name = directory.replace("/", ".")
                out.write(f'\t\t<package name="{name}" line-rate="0.8" branch-rate="0.7" complexity="0">\n')
                out.write("\t\t\t<classes>\n")
            name = source.path.rsplit("/", 1)[1]
            out.write(
                f'\t\t\t\t<class name="{name}" filename="{source.path}" complexity="0" line-rate="0.8" '
                'branch-rate="0.7">\n\t\t\t\t\t<methods>\n'
            )
            for function, first, hits in source.functions:
                out.write(
                    f'{tabs}<method name="{function}" hits="{hits}" signature="()V">'
                    f'<lines><line number="{first}" hits="{hits}"/></lines></method>\n'
                )
            out.write("\t\t\t\t\t</methods>\n\t\t\t\t\t<lines>\n")
            for number, hits in source.lines:
                branch = source.branches.get(number)
                if branch is None:
                    out.write(f'{tabs}<line number="{number}" hits="{hits}"/>\n')
                else:
                    covered, total = branch
                    missing = ",".join(str(number + k + 1) for k in range(total - covered))
                    missing_attr = f' missing-branches="{missing}"' if missing else ""
                    coverage = f"{covered * 100 // total}% ({covered}/{total})"
                    out.write(
                        f'{tabs}<line number="{number}" hits="{hits}" branch="true" '
                        f'condition-coverage="{coverage}"{missing_attr}/>\n'
                    )
            out.write("\t\t\t\t\t</lines>\n\t\t\t\t</class>\n")
        if package is not None:
            out.write("\t\t\t</classes>\n\t\t</package>\n")
        out.write("\t</packages>\n</coverage>\n")
        out.flush()
    return expected


def write_lcov(path: Path, files: int, rng: random.Random) -> Expected:
    """An LCOV tracefile as lcov 2.x / istanbul write it: FN/FNDA, DA, BRDA and the summary records."""
    expected = Expected()
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        for source in source_files(rng, files, 420, ".c"):
            _count_coverage(expected, source)
            out.write(f"TN:\nSF:/builds/acme/platform/{source.path}\n")
            for function, first, _ in source.functions:
                out.write(f"FN:{first},{function}\n")
            for function, _, hits in source.functions:
                out.write(f"FNDA:{hits},{function}\n")
            out.write(f"FNF:{len(source.functions)}\nFNH:{sum(1 for f in source.functions if f[2])}\n")
            for number, hits in source.lines:
                out.write(f"DA:{number},{hits}\n")
            brf = brh = 0
            hits_of = dict(source.lines)
            for block, (number, (covered, total)) in enumerate(source.branches.items()):
                for branch in range(total):
                    if not hits_of[number]:
                        taken = "-"  # the line never ran: its branches were never evaluated
                    elif branch < covered:
                        taken = str(rng.randrange(1, 30))
                    else:
                        taken = "0"
                    out.write(f"BRDA:{number},{block},{branch},{taken}\n")
                brf += total
                brh += covered
            hit = sum(1 for _, hits in source.lines if hits)
            out.write(f"BRF:{brf}\nBRH:{brh}\nLF:{len(source.lines)}\nLH:{hit}\nend_of_record\n")
        out.flush()
    return expected


def _summary(executed: int, missing: int, excluded: int, branches: tuple[int, int, int] | None) -> dict[str, Any]:
    """coverage.py's summary block; `branches` is (covered, total, partial lines)."""
    statements = executed + missing
    summary: dict[str, Any] = {"covered_lines": executed, "num_statements": statements}
    if branches is not None:
        covered, total, partial = branches
        summary |= {
            "num_branches": total,
            "num_partial_branches": partial,
            "covered_branches": covered,
            "missing_branches": total - covered,
        }
        whole = statements + total
        percent = (executed + covered) * 100.0 / whole if whole else 100.0
    else:
        percent = executed * 100.0 / statements if statements else 100.0
    summary |= {
        "percent_covered": percent,
        "percent_covered_display": f"{percent:.0f}",
        "missing_lines": missing,
        "excluded_lines": excluded,
        "percent_statements_covered": executed * 100.0 / statements if statements else 100.0,
        "percent_statements_covered_display": f"{executed * 100.0 / statements if statements else 100:.0f}",
    }
    return summary


def write_coverage_json(path: Path, files: int, rng: random.Random) -> Expected:
    """coverage.py's `coverage json` (format 3, branch coverage on): per file, per function, per class."""
    expected = Expected()
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        meta = {
            "format": 3,
            "version": "7.6.1",
            "timestamp": "2024-06-11T09:30:00.000000",
            "branch_coverage": True,
            "show_contexts": False,
        }
        out.write(f'{{"meta": {json.dumps(meta)}, "files": {{')
        totals = [0, 0, 0, 0, 0]
        for index, source in enumerate(source_files(rng, files, 250, ".py")):
            _count_coverage(expected, source)
            record = _coverage_json_file(source, rng)
            executed = len(record["executed_lines"])
            totals[0] += executed
            totals[1] += executed + len(record["missing_lines"])
            totals[2] += record["summary"]["covered_branches"]
            totals[3] += record["summary"]["num_branches"]
            totals[4] += record["summary"]["num_partial_branches"]
            out.write(("" if index == 0 else ", ") + f"{json.dumps(source.path)}: {json.dumps(record)}")
        summary = _summary(totals[0], totals[1] - totals[0], 0, (totals[2], totals[3], totals[4]))
        out.write(f'}}, "totals": {json.dumps(summary)}}}')
        out.flush()
    return expected


def _coverage_json_file(source: SourceFile, rng: random.Random) -> dict[str, Any]:
    executed = [n for n, hits in source.lines if hits]
    missing = [n for n, hits in source.lines if not hits]
    excluded = [source.lines[-1][0] + 2] if rng.random() < 0.1 else []
    executed_branches: list[list[int]] = []
    missing_branches: list[list[int]] = []
    for number, (covered, total) in source.branches.items():
        targets = [number + k + 1 for k in range(total)]
        executed_branches += [[number, t] for t in targets[:covered]]
        missing_branches += [[number, t] for t in targets[covered:]]

    def branch_counts(branches: list[tuple[int, int]]) -> tuple[int, int, int]:
        return (
            sum(c for c, _ in branches),
            sum(t for _, t in branches),
            sum(1 for c, t in branches if 0 < c < t),
        )

    def region(lines: list[tuple[int, int]], start: int) -> dict[str, Any]:
        numbers = {n for n, _ in lines}
        region_executed = [n for n, hits in lines if hits]
        region_missing = [n for n, hits in lines if not hits]
        region_branches = [source.branches[n] for n in numbers if n in source.branches]
        return {
            "executed_lines": region_executed,
            "summary": _summary(len(region_executed), len(region_missing), 0, branch_counts(region_branches)),
            "missing_lines": region_missing,
            "excluded_lines": [],
            "executed_branches": [b for b in executed_branches if b[0] in numbers],
            "missing_branches": [b for b in missing_branches if b[0] in numbers],
            "start_line": start,
        }

    # Functions split the file's lines at their first lines; the rest is module level ("").
    starts = [first for _, first, _ in source.functions]
    functions: dict[str, Any] = {}
    bounds = [*starts, source.lines[-1][0] + 1]
    for (name, first, _), end in zip(source.functions, bounds[1:], strict=True):
        functions[name] = region([(n, h) for n, h in source.lines if first <= n < end], first)
    module_lines = [(n, h) for n, h in source.lines if not starts or n < starts[0]]
    functions[""] = region(module_lines, 1)
    classes = {"": region(source.lines, 1)}
    return {
        "executed_lines": executed,
        "summary": _summary(len(executed), len(missing), len(excluded), branch_counts(list(source.branches.values()))),
        "missing_lines": missing,
        "excluded_lines": excluded,
        "executed_branches": executed_branches,
        "missing_branches": missing_branches,
        "functions": functions,
        "classes": classes,
    }


# -------------------------------------------------------------------------------------------- SARIF
_LEVELS = ("error", "warning", "note", None)  # None: omitted, the spec's default ("warning")
_CWES = ("CWE-22", "CWE-78", "CWE-79", "CWE-89", "CWE-327", "CWE-346", "CWE-502", "CWE-798", "CWE-918")


def write_sarif(path: Path, results: int, rng: random.Random) -> Expected:
    """SARIF 2.1.0 as semgrep/CodeQL write it: rules in tool.driver, long messages, snippets, some flows."""
    expected = Expected()
    rules = []
    for index in range(600):
        level = _LEVELS[index % 3]
        text = f"{rng.choice(WORDS).title()} {rng.choice(VERBS)} with untrusted {rng.choice(WORDS)} input"
        rules.append(
            {
                "id": f"acme.rules.{rng.choice(WORDS)}.{rng.choice(VERBS)}-{rng.choice(WORDS)}-{index}",
                "name": f"{rng.choice(WORDS)}-{rng.choice(VERBS)}-{index}",
                "shortDescription": {"text": text},
                "fullDescription": {"text": " ".join(rng.choice(WORDS) for _ in range(60))},
                "help": {"text": " ".join(rng.choice(WORDS) for _ in range(120)), "markdown": text},
                "defaultConfiguration": {"level": level},
                "properties": {
                    "precision": rng.choice(("high", "very-high", "medium")),
                    "security-severity": f"{rng.uniform(1, 10):.1f}",
                    "tags": [rng.choice(_CWES), "security", f"OWASP-A0{rng.randrange(1, 10)}:2021"],
                },
            }
        )
    uris = ["src/" + "/".join(_module_path(rng, rng.randrange(1, 4))) + ".js" for _ in range(4000)]
    head = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
    }
    driver = {
        "name": "Semgrep OSS",
        "semanticVersion": "1.69.0",
        "informationUri": "https://semgrep.dev",
        "rules": rules,
    }
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        out.write(json.dumps(head)[:-1] + ', "runs": [{"tool": {"driver": ' + json.dumps(driver) + "}, ")
        out.write('"invocations": [{"executionSuccessful": true, "toolExecutionNotifications": []}], ')
        out.write('"results": [')
        for index in range(results):
            rule_index = rng.randrange(len(rules))
            rule = rules[rule_index]
            uri = rng.choice(uris)
            line = rng.randrange(1, 3000)
            call = f"{rng.choice(VERBS)}({rng.choice(WORDS)}, req.query.{rng.choice(WORDS)})"
            snippet = f"      const {rng.choice(WORDS)} = {call}"
            message = "\n".join(
                " ".join(rng.choice(WORDS) for _ in range(rng.randrange(8, 16))) for _ in range(rng.randrange(9, 23))
            )
            result: dict[str, Any] = {
                "ruleId": rule["id"],
                "ruleIndex": rule_index,
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                            "region": {
                                "startLine": line,
                                "startColumn": rng.randrange(1, 40),
                                "endLine": line,
                                "endColumn": rng.randrange(40, 120),
                                "snippet": {"text": snippet},
                            },
                        }
                    }
                ],
                "fingerprints": {"matchBasedId/v1": f"{rng.getrandbits(256):064x}_0"},
                "partialFingerprints": {"primaryLocationLineHash": f"{rng.getrandbits(64):016x}:1"},
                "properties": {},
            }
            level = _LEVELS[rng.randrange(4)]
            if level is not None:
                result["level"] = level
            if rng.random() < 0.1:
                result["codeFlows"] = [
                    {
                        "threadFlows": [
                            {
                                "locations": [
                                    {
                                        "location": {
                                            "physicalLocation": {
                                                "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                                                "region": {
                                                    "startLine": step,
                                                    "startColumn": 3,
                                                    "endColumn": 30,
                                                },
                                            },
                                            "message": {"text": f"ControlFlowNode for {rng.choice(WORDS)}"},
                                        }
                                    }
                                    for step in sorted(rng.sample(range(1, line + 5), 4))
                                ]
                            }
                        ]
                    }
                ]
            out.write(("" if index == 0 else ", ") + json.dumps(result))
            expected.add("findings.total")
        out.write('], "columnKind": "utf16CodeUnits"}]}\n')
        out.flush()
    return expected


# ------------------------------------------------------------------------------------------- bandit
#: (test_id, test_name, severity, CWE, issue_text) as bandit 1.8 writes them.
_BANDIT_TESTS = (
    ("B105", "hardcoded_password_string", "LOW", 259, "Possible hardcoded password: '{word}'"),
    ("B108", "hardcoded_tmp_directory", "MEDIUM", 377, "Probable insecure usage of temp file/directory."),
    ("B301", "blacklist", "MEDIUM", 502, "Pickle and modules that wrap it can be unsafe when used to deserialize."),
    ("B311", "blacklist", "LOW", 330, "Standard pseudo-random generators are not suitable for security purposes."),
    ("B324", "hashlib", "HIGH", 327, "Use of weak MD5 hash for security. Consider usedforsecurity=False"),
    ("B602", "subprocess_popen_with_shell_equals_true", "HIGH", 78, "subprocess call with shell=True identified."),
    ("B608", "hardcoded_sql_expressions", "MEDIUM", 89, "Possible SQL injection vector through string query."),
)


def write_bandit(path: Path, results: int, rng: random.Random) -> Expected:
    """bandit 1.8 JSON: many small results (~700 bytes each), per-file metrics, as `bandit -f json` writes."""
    expected = Expected()
    files = ["src/" + "/".join(_module_path(rng, rng.randrange(1, 4))) + ".py" for _ in range(3000)]
    metrics = {
        name: {"CONFIDENCE.HIGH": 0, "SEVERITY.LOW": 0, "loc": rng.randrange(20, 900), "nosec": 0, "skipped_tests": 0}
        for name in files
    }
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        out.write('{\n  "errors": [],\n  "generated_at": "2026-11-25T12:00:00Z",\n  "metrics": ')
        out.write(json.dumps(metrics, indent=2) + ',\n  "results": [')
        for index in range(results):
            test_id, test_name, severity, cwe, text = rng.choice(_BANDIT_TESTS)
            line = rng.randrange(2, 3000)
            code = "".join(
                f"{n} {' ' * rng.randrange(0, 12)}{rng.choice(WORDS)} = {rng.choice(VERBS)}({rng.choice(WORDS)})\n"
                for n in range(line - 1, line + 2)
            )
            result = {
                "code": code,
                "col_offset": rng.randrange(0, 40),
                "end_col_offset": rng.randrange(40, 90),
                "filename": rng.choice(files),
                "issue_confidence": rng.choice(("HIGH", "MEDIUM", "LOW")),
                "issue_cwe": {"id": cwe, "link": f"https://cwe.mitre.org/data/definitions/{cwe}.html"},
                "issue_severity": severity,
                "issue_text": text.format(word=rng.choice(WORDS)),
                "line_number": line,
                "line_range": [line],
                "more_info": f"https://bandit.readthedocs.io/en/1.8.3/plugins/{test_id.lower()}_{test_name}.html",
                "test_id": test_id,
                "test_name": test_name,
            }
            out.write(("" if index == 0 else ",") + "\n    " + json.dumps(result))
            expected.add("findings.total")
        out.write("\n  ]\n}\n")
        out.flush()
    return expected


# ------------------------------------------------------------------------------------------ semgrep
_SEMGREP_SEVERITIES = ("ERROR", "WARNING", "INFO")


def write_semgrep(path: Path, results: int, rng: random.Random) -> Expected:
    """semgrep 1.x JSON (`semgrep --json`): 400 rules, each result with its rule's message and metadata,
    the matched lines (or "requires login"), positions with offsets, as semgrep writes them."""
    expected = Expected()
    rules = []
    for index in range(400):
        cwe = rng.choice(_CWES)
        rules.append(
            {
                "check_id": f"javascript.{rng.choice(WORDS)}.security.{rng.choice(VERBS)}-{rng.choice(WORDS)}-{index}",
                "severity": rng.choice(_SEMGREP_SEVERITIES),
                "message": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(20, 60))),
                "metadata": {
                    "cwe": [f"{cwe}: {' '.join(rng.choice(WORDS) for _ in range(6))}"],
                    "owasp": [f"A0{rng.randrange(1, 10)}:2021 - {rng.choice(WORDS).title()}"],
                    "category": "security",
                    "technology": ["express", "javascript"],
                    "confidence": rng.choice(("LOW", "MEDIUM", "HIGH")),
                    "likelihood": rng.choice(("LOW", "MEDIUM", "HIGH")),
                    "impact": rng.choice(("LOW", "MEDIUM", "HIGH")),
                    "references": [f"https://owasp.org/Top10/{rng.choice(WORDS)}"],
                    "source": f"https://semgrep.dev/r/javascript.{rng.choice(WORDS)}.{index}",
                },
            }
        )
    files = ["src/" + "/".join(_module_path(rng, rng.randrange(1, 4))) + ".js" for _ in range(4000)]
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        out.write('{"version": "1.69.0", "results": [')
        for index in range(results):
            rule = rng.choice(rules)
            line = rng.randrange(1, 3000)
            code = f"    const {rng.choice(WORDS)} = {rng.choice(VERBS)}(req.query.{rng.choice(WORDS)})"
            result = {
                "check_id": rule["check_id"],
                "path": rng.choice(files),
                "start": {"line": line, "col": 5, "offset": line * 40},
                "end": {"line": line, "col": len(code) + 1, "offset": line * 40 + len(code)},
                "extra": {
                    "message": rule["message"],
                    "metadata": rule["metadata"],
                    "severity": rule["severity"],
                    "fingerprint": "requires login",
                    "lines": code if rng.random() < 0.5 else "requires login",
                    "metavars": {"$X": {"start": {"line": line, "col": 11}, "abstract_content": rng.choice(WORDS)}},
                    "is_ignored": False,
                    "validation_state": "NO_VALIDATOR",
                    "engine_kind": "OSS",
                },
            }
            out.write(("" if index == 0 else ", ") + json.dumps(result))
            expected.add("findings.total")
        out.write('], "errors": [], "paths": {"scanned": []}, "skipped_rules": []}\n')
        out.flush()
    return expected


# ------------------------------------------------------------------------------------- GitLab SAST
_GITLAB_SEVERITIES = ("Critical", "High", "Medium", "Low", "Info", "Unknown")


def write_gitlab(path: Path, results: int, rng: random.Random) -> Expected:
    """A GitLab SAST report (schema 15, as the semgrep analyzer writes it): 300 rules, each vulnerability
    with its rule's name and description, identifiers, location, and the scan section last."""
    expected = Expected()
    rules = []
    for index in range(300):
        cwe = rng.choice(_CWES)
        rules.append(
            {
                "name": f"{rng.choice(WORDS).title()} {rng.choice(VERBS)} with untrusted {rng.choice(WORDS)}",
                "description": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(30, 90))),
                "severity": rng.choice(_GITLAB_SEVERITIES),
                "identifiers": [
                    {
                        "type": "semgrep_id",
                        "name": f"bandit.B{index:03d}-1",
                        "value": f"bandit.B{index:03d}-1",
                        "url": f"https://semgrep.dev/r/gitlab.bandit.B{index:03d}-1",
                    },
                    {"type": "cwe", "name": cwe, "value": cwe.split("-")[1], "url": "https://cwe.mitre.org/"},
                ],
            }
        )
    files = ["src/" + "/".join(_module_path(rng, rng.randrange(1, 4))) + ".py" for _ in range(3000)]
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        out = Writer(stream)
        out.write('{"version": "15.0.7", "vulnerabilities": [')
        for index in range(results):
            rule = rng.choice(rules)
            line = rng.randrange(1, 3000)
            vulnerability = {
                "id": f"{rng.getrandbits(128):032x}",
                "category": "sast",
                "name": rule["name"],
                "description": rule["description"],
                "cve": f"semgrep_id:{rule['identifiers'][0]['value']}:{line}:{line}",
                "severity": rule["severity"],
                "scanner": {"id": "semgrep", "name": "Semgrep"},
                "location": {"file": rng.choice(files), "start_line": line, "end_line": line + rng.randrange(0, 3)},
                "identifiers": rule["identifiers"],
            }
            out.write(("" if index == 0 else ", ") + json.dumps(vulnerability))
            expected.add("findings.total")
        scan = {
            "analyzer": {"id": "semgrep", "name": "Semgrep", "version": "5.0.0", "vendor": {"name": "GitLab"}},
            "scanner": {"id": "semgrep", "name": "Semgrep", "version": "1.69.0", "vendor": {"name": "GitLab"}},
            "type": "sast",
            "start_time": "2026-12-07T12:00:00",
            "end_time": "2026-12-07T12:05:00",
            "status": "success",
        }
        out.write('], "scan": ' + json.dumps(scan) + "}\n")
        out.flush()
    return expected


# ------------------------------------------------------------------------------------------- driver
@dataclass(frozen=True, slots=True)
class Report:
    """One report to generate: its name in the manifest, path under the output directory, format."""

    name: str
    path: str
    format: str
    write: Callable[[Path, float, random.Random], Expected]


REPORTS = (
    Report("junit", "junit-pytest.xml", "junit", lambda p, s, r: write_pytest_junit(p, round(1_000_000 * s), r)),
    Report(
        "junit-100k",
        "junit-pytest-100k.xml",
        "junit",
        lambda p, s, r: write_pytest_junit(p, round(100_000 * s), r),
    ),
    Report(
        "surefire",
        "surefire-reports",
        "junit",
        lambda p, s, r: write_surefire_dir(p, max(1, round(2_000 * s)), round(100_000 * s), r),
    ),
    Report(
        "cobertura",
        "cobertura.xml",
        "cobertura",
        lambda p, s, r: write_cobertura(p, max(1, round(3_100 * s)), r),
    ),
    Report("lcov", "lcov.info", "lcov", lambda p, s, r: write_lcov(p, max(1, round(4_200 * s)), r)),
    Report(
        "coverage-json",
        "coverage.json",
        "coverage-json",
        lambda p, s, r: write_coverage_json(p, max(1, round(5_400 * s)), r),
    ),
    Report("sarif", "results.sarif", "sarif", lambda p, s, r: write_sarif(p, round(100_000 * s), r)),
    Report("bandit", "bandit.json", "bandit", lambda p, s, r: write_bandit(p, round(100_000 * s), r)),
    Report("semgrep", "semgrep.json", "semgrep", lambda p, s, r: write_semgrep(p, round(100_000 * s), r)),
    Report("gitlab", "gl-sast-report.json", "gitlab-security", lambda p, s, r: write_gitlab(p, round(100_000 * s), r)),
)


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (default 1: the issue's sizes)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default bench/data)")
    parser.add_argument("--only", help="comma-separated report names: " + ", ".join(r.name for r in REPORTS))
    args = parser.parse_args(argv)
    wanted = set(args.only.split(",")) if args.only else {r.name for r in REPORTS}
    unknown = wanted - {r.name for r in REPORTS}
    if unknown:
        parser.error(f"unknown report(s): {', '.join(sorted(unknown))}")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        # Entries of another scale or seed describe other files: keep only matching ones.
        if previous.get("scale") == args.scale and previous.get("seed") == args.seed:
            manifest = previous
    manifest |= {"scale": args.scale, "seed": args.seed}
    reports = manifest.setdefault("reports", {})
    for index, report in enumerate(REPORTS):
        if report.name not in wanted:
            continue
        started = time.perf_counter()
        # Each report has its own stream of random numbers, so `--only` reproduces the same bytes.
        rng = random.Random(args.seed * 100 + index)
        path = out / report.path
        expected = report.write(path, args.scale, rng)
        size = size_of(path)
        reports[report.name] = {
            "path": report.path,
            "format": report.format,
            "bytes": size,
            "expected": expected.counts,
        }
        print(
            f"{report.name:<14} {size / 1e6:8.1f} MB  {time.perf_counter() - started:5.1f} s  {path}",
            file=sys.stderr,
        )
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
