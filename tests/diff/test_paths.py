"""Report paths mapped onto repository paths, for each way a report names its files (read by the real parsers)."""

from __future__ import annotations

import json
from pathlib import Path

from gatekeeper.diff.paths import RepositoryPaths, align, align_inputs, cobertura_sources
from gatekeeper.model import Coverage, Evidence, FileCoverage
from gatekeeper.parsers import read_report

FILES = [
    "src/pkg/mod.py",
    "src/pkg/__init__.py",
    "lib/pkg/__init__.py",
    "module-a/src/main/java/org/acme/Foo.java",
    "web/src/app.js",
    "tools/run.py",
]


def repository(root: Path, here: str = "") -> RepositoryPaths:
    return RepositoryPaths.of(FILES, root, here=here)


def aligned(report: Path, root: Path, here: str = "") -> tuple[list[str], list[str], tuple[str, ...]]:
    [result] = align_inputs([read_report(report)], repository(root, here))
    coverage = sorted(result.evidence.coverage.files) if result.evidence.coverage else []
    findings = sorted(f.path for f in result.evidence.findings or ())
    return coverage, findings, result.evidence.notes


def test_cobertura_source_roots_from_another_machine_and_an_unmapped_vendored_file(tmp_path: Path) -> None:
    report = tmp_path / "coverage.xml"
    report.write_text(
        '<?xml version="1.0" ?>\n<coverage version="7.4" line-rate="1"><sources>\n'
        '<source>/ci/builds/proj/src</source></sources><packages><package name="pkg"><classes>'
        '<class name="mod.py" filename="pkg/mod.py"><lines><line number="1" hits="1"/></lines></class>'
        '<class name="__init__.py" filename="pkg/__init__.py"><lines><line number="1" hits="1"/></lines></class>'
        '<class name="six.py" filename="vendor/six.py"><lines><line number="1" hits="1"/></lines></class>'
        "</classes></package></packages></coverage>\n"
    )
    assert cobertura_sources(report) == ["/ci/builds/proj/src"]
    coverage, _, notes = aligned(report, tmp_path)
    # pkg/__init__.py alone would match src/ and lib/: the <source> root says which
    assert coverage == ["src/pkg/__init__.py", "src/pkg/mod.py", "vendor/six.py"]
    assert notes == ("not files of the repository, so not judged as changed code (1 file): vendor/six.py",)


def test_jacoco_package_paths_lcov_absolute_paths_and_coverage_py_run_in_a_subdirectory(tmp_path: Path) -> None:
    jacoco = tmp_path / "jacoco.xml"
    jacoco.write_text(
        '<?xml version="1.0"?><report name="r"><package name="org/acme"><sourcefile name="Foo.java">'
        '<line nr="3" mi="0" ci="2" mb="0" cb="0"/><counter type="LINE" missed="0" covered="1"/>'
        "</sourcefile></package></report>"
    )
    assert aligned(jacoco, tmp_path)[0] == ["module-a/src/main/java/org/acme/Foo.java"]
    lcov = tmp_path / "lcov.info"
    lcov.write_text(
        f"TN:\nSF:{tmp_path}/web/src/app.js\nDA:1,1\nend_of_record\n"  # this clone's absolute path
        "SF:/home/someone/checkout/tools/run.py\nDA:1,0\nend_of_record\n"  # another machine's
    )
    assert aligned(lcov, tmp_path) == (["tools/run.py", "web/src/app.js"], [], ())
    coveragepy = tmp_path / "coverage.json"
    coveragepy.write_text(
        json.dumps(
            {
                "meta": {"format": 3, "version": "7.4.0", "branch_coverage": False, "show_contexts": False},
                "files": {"pkg/mod.py": {"executed_lines": [1], "missing_lines": [2], "excluded_lines": []}},
                "totals": {"covered_lines": 1, "num_statements": 2, "percent_covered": 50.0},
            }
        )
    )
    # coverage.py ran in src/ (where gatekeeper runs too): pkg/mod.py there is src/pkg/mod.py
    assert aligned(coveragepy, tmp_path, here="src")[0] == ["src/pkg/mod.py"]


def test_sarif_paths_relative_to_a_uri_base_are_mapped_and_fingerprints_kept(tmp_path: Path) -> None:
    sarif = tmp_path / "scan.sarif"
    result = {
        "ruleId": "r1",
        "level": "error",
        "message": {"text": "bad"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "pkg/mod.py", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": 3},
                }
            }
        ],
    }
    sarif.write_text(
        json.dumps(
            {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t", "rules": []}}, "results": [result]}]}
        )
    )
    before = read_report(sarif).evidence.findings or ()
    [report] = align_inputs([read_report(sarif)], repository(tmp_path))
    after = report.evidence.findings or ()
    # pkg/mod.py is under src/ only (lib/pkg has no mod.py)
    assert [f.path for f in after] == ["src/pkg/mod.py"]
    assert [f.fingerprint for f in after] == [f.fingerprint for f in before]


def test_an_ambiguous_path_maps_to_nothing_and_records_of_one_file_merge(tmp_path: Path) -> None:
    evidence = Evidence(
        coverage=Coverage.of(
            [
                FileCoverage.from_lines("pkg/__init__.py", [1], [1], None),  # src/ or lib/: ambiguous
                FileCoverage.from_lines("./src/pkg/mod.py", [1, 2], [1], None),
                FileCoverage.from_lines(f"{tmp_path}/src/pkg/mod.py", [2, 3], [3], None),
            ]
        )
    )
    result = align(evidence, repository(tmp_path))
    assert result.coverage is not None
    merged = result.coverage.files["src/pkg/mod.py"]
    assert (merged.lines_total, merged.lines_covered) == (3, 2)  # lines 1-3, covered 1 and 3
    assert "pkg/__init__.py" in result.coverage.files
    assert result.notes == ("not files of the repository, so not judged as changed code (1 file): pkg/__init__.py",)
    only_the_change = RepositoryPaths.of(["src/pkg/mod.py"], None, complete=False)
    assert align(evidence, only_the_change).notes == ()  # no clone: nothing to say about the rest
