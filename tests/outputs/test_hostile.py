"""Hostile names through every output and renderer (issue 13, item 4): real `gatekeeper check` runs on a
JUnit file, a SARIF log and a policy full of backticks, HTML, links, pipes, newlines, ANSI escapes and
lone surrogates, then every command that shows a verdict: `check`'s five formats, `verdicts show|list`,
`explain`, `report --format markdown|html`.

Nothing in them may come out as markup of its own (an <img>, a link, a heading, an event handler), a
broken table row, a raw control character in a log, invalid XML or unreadable JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import REPO
from tests.outputs.safety import (
    assert_no_control_characters,
    assert_safe_html_report,
    assert_safe_json,
    assert_safe_junit,
    assert_safe_markdown,
    elements,
    render_markdown,
)
from tests.verdicts import GATEKEEPER

#: What a test name, message, rule, path, policy text or CI variable may hold.
HOSTILE = (
    "x`` ![](http://evil.example/x.png) [y](javascript:alert(1)) <img src=x onerror=alert(1)> ``z",
    "```<h1>triple</h1>```",
    "`starts and ends with a backtick`",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "![](http://evil.example/x.png)",
    "a|b||c",
    "line\n# heading\n<script>alert(1)</script>",
    "cr\r<h2>two</h2>",
    "--> ]]> <!-- &lt;b&gt; &#x3C;i&#x3E; &amp;",
    "<http://evil.example/autolink> *em* _em_ ~~del~~ $x$",
    "L" * 20_000,
)
#: Only JSON can carry these (XML 1.0 cannot): they reach the verdict through the SARIF log.
JSON_ONLY = ("\x1b[31mred\x1b[0m\x1b]0;title\x07", "\u202eevil\u202c", "nul \x00 byte")
#: A SARIF message may escape a lone surrogate: every format shows it as U+FFFD or escaped (its own test below).
SURROGATE = "lone \ud800 surrogate"
PROJECT = "bank/`` <img src=x onerror=alert(1)> ``"
BRANCH = "x``<h1>injected</h1>``"  # a valid git branch name
#: check records only a commit id: hostile text there is refused (tests/test_check_commit.py).
COMMIT = "0ff1ce0ff1ce"
FORMATS = ("json", "text", "markdown", "junit", "gitlab-codequality")
CODEQUALITY_SCHEMA = json.loads((REPO / "tests" / "data" / "gitlab-codequality.schema.json").read_text("utf-8"))


def _junit(path: Path) -> None:
    suite = ET.Element("testsuite", name="hostile", tests=str(len(HOSTILE) + 1))
    for name in HOSTILE:
        case = ET.SubElement(suite, "testcase", classname=name, name=name, time="0.1")
        failure = ET.SubElement(case, "failure", message=name)
        failure.text = name
    ET.SubElement(suite, "testcase", classname="ok", name="passes", time="0.1")
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _sarif(path: Path, extra: tuple[str, ...] = ()) -> None:
    results: list[dict[str, Any]] = [
        {
            "ruleId": name[:500],
            "level": "error" if index % 2 else "warning",
            "message": {"text": name},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": f"src/{name[:200]}.py"}, "region": {"startLine": 3}}}
            ],
        }
        for index, name in enumerate((*HOSTILE, *JSON_ONLY, *extra))
    ]
    results.append(  # waived by the policy's live waiver, so the applied waiver shows
        {
            "ruleId": "W1",
            "level": "error",
            "message": {"text": "waived"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "waived/x.py"}}}],
        }
    )
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "evil``tool"}}, "results": results}]}
    path.write_text(json.dumps(log), encoding="utf-8")  # ensure_ascii: the lone surrogate as an escape


def _policy(path: Path) -> None:
    """JSON is YAML: every hostile string a policy may hold, where the policy schema allows free text."""
    policy = {
        "policy": HOSTILE[0],
        "format": 1,
        "gates": [
            {
                "id": "tests-pass",
                "criterion": f"{HOSTILE[1]} | {HOSTILE[7]}",
                "metric": "tests.pass_percent",
                "min": 100,
            },
            {"id": "no-high", "criterion": "<script>alert(1)</script>", "metric": "findings.high", "max": 0},
            {"id": "main-only", "metric": "tests.total", "min": 1, "when": {"branch": ["main"]}},
            {"id": "few-medium", "metric": "findings.medium", "max": 0, "severity": "warn"},
        ],
        "waivers": [
            {
                "match": {"tool": "evil``tool", "rule": HOSTILE[3]},
                "reason": f"expired {HOSTILE[0]}",
                "expires": "2020-01-01",
            },
            {"match": {"path": "waived/**"}, "reason": f"live {HOSTILE[4]} |x|", "expires": "2099-01-01"},
        ],
    }
    path.write_text(json.dumps(policy), encoding="utf-8")


def gatekeeper(*args: str, cwd: Path, env: Mapping[str, str] = {}) -> subprocess.CompletedProcess[str]:
    """A real CLI run with no CI, store or server of the person running the tests in its environment."""
    outside = ("GATEKEEPER_", "CI_", "GITLAB", "GITHUB_", "JENKINS", "BUILD_")
    environment = {key: value for key, value in os.environ.items() if not key.startswith(outside)}
    return subprocess.run(
        [GATEKEEPER, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env={**environment, **env},
        timeout=120,
        check=False,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    directory: Path
    store: Path
    verdict: dict[str, Any]
    outputs: dict[str, str]  # format -> what `check` wrote
    stderr: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`check` on the hostile reports under the hostile policy, in GitLab CI with a `javascript:` job URL."""
    directory = tmp_path_factory.mktemp("hostile")
    _junit(directory / "junit.xml")
    _sarif(directory / "scan.sarif")
    _policy(directory / "policy.yaml")
    store = directory / "verdicts.db"
    files = {name: directory / f"out.{name}" for name in FORMATS if name != "markdown"}
    result = gatekeeper(
        "check",
        "--store",
        str(store),
        "--format",
        "markdown",
        *(option for name, path in files.items() for option in ("--output", f"{name}={path}")),
        "-p",
        "policy.yaml",
        "--project",
        PROJECT,
        "--branch",
        BRANCH,
        "--commit",
        COMMIT,
        "junit.xml",
        "scan.sarif",
        cwd=directory,
        env={
            "GITLAB_CI": "true",
            "CI_JOB_URL": "javascript:alert(1)",
            "CI_PIPELINE_URL": "data:text/html,<script>alert(1)</script>",
            "CI_PIPELINE_ID": HOSTILE[0],
            "CI_JOB_NAME": HOSTILE[7],
        },
    )
    assert result.returncode == 1, result.stderr  # the gate fails: the hostile tests failed
    outputs = {name: path.read_text(encoding="utf-8") for name, path in files.items()}
    outputs["markdown"] = result.stdout
    return Run(
        directory=directory,
        store=store,
        verdict=json.loads(outputs["json"]),
        outputs=outputs,
        stderr=result.stderr,
    )


def assert_safe(output_format: str, text: str, where: str, verdict: Mapping[str, Any], *, shown: bool = True) -> None:
    """The checks each format must pass, whatever the verdict holds; `shown`: the hostile test names and
    branch must be visible as text in the markdown (they are in the verdict)."""
    if output_format == "markdown":
        parsed = assert_safe_markdown(text, where, links=_links(verdict))
        if shown:
            visible = "".join(parsed.text)
            assert "<img src=x onerror=alert(1)>" in visible, f"{where}: the hostile name is not shown as text"
            assert "<h1>injected</h1>" in visible, f"{where}: the branch is not shown as text"
        assert not any(line.startswith(("# heading", "<script>", "<h2>")) for line in text.splitlines())
    elif output_format == "text":
        assert_no_control_characters(text, where)
        assert not any(line.lstrip().startswith(("# heading", "<script>", "<h2>")) for line in text.splitlines())
    elif output_format == "junit":
        root = assert_safe_junit(text, where, len(verdict["gates"]))
        failures = [failure.text or "" for failure in root.iter("failure")]
        assert any("criterion: <script>alert(1)</script>" in failure for failure in failures), where
    elif output_format == "gitlab-codequality":
        issues = assert_safe_json(text, where)
        Draft202012Validator(CODEQUALITY_SCHEMA).validate(issues)
        for issue in issues:
            assert_no_control_characters(issue["description"], where)
            assert_no_control_characters(issue["check_name"], where)
    else:
        assert output_format == "json"
        assert_safe_json(text, where)


def _links(verdict: Mapping[str, Any]) -> set[str]:
    url = verdict["context"].get("url")
    return set() if url is None else {url}


def test_a_non_http_job_url_is_dropped_with_a_warning(run: Run) -> None:
    assert run.verdict["context"]["url"] is None
    assert "gatekeeper: warning: CI_JOB_URL 'javascript:alert(1)' is not an http(s) URL" in run.stderr
    assert "gatekeeper: warning: CI_PIPELINE_URL 'data:text/html" in run.stderr


def test_the_verdict_holds_the_hostile_names(run: Run) -> None:
    """The inputs reached the verdict (else the other tests prove nothing)."""
    names = {case["name"] for case in run.verdict["details"]["tests"]}
    assert HOSTILE[0] in names and HOSTILE[7] in names
    assert run.verdict["context"]["branch"] == BRANCH
    messages = {finding.get("message") for finding in run.verdict["details"]["findings"]}
    assert set(JSON_ONLY) <= messages
    assert run.verdict["waivers"]["expired"] and run.verdict["waivers"]["applied"]


@pytest.mark.parametrize("output_format", FORMATS)
def test_check_writes_every_format_safely(run: Run, output_format: str) -> None:
    assert_safe(output_format, run.outputs[output_format], f"check --format {output_format}", run.verdict)


def test_check_markdown_on_the_issue_s_example(run: Run) -> None:
    """The issue's break: `` closed the code span, and an image, a link and a raw <img onerror> came out."""
    markdown = run.outputs["markdown"]
    assert "branch: ``` x``<h1>injected</h1>`` ```" in markdown
    assert "[CI job]" not in markdown


@pytest.mark.parametrize("output_format", FORMATS)
def test_verdicts_show_renders_a_stored_hostile_verdict_safely(run: Run, output_format: str) -> None:
    result = gatekeeper(
        "verdicts", "show", "latest", "--store", str(run.store), "--format", output_format, cwd=run.directory
    )
    assert result.returncode == 0, result.stderr
    assert_safe(output_format, result.stdout, f"verdicts show --format {output_format}", run.verdict)


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_verdicts_list_is_safe(run: Run, output_format: str) -> None:
    result = gatekeeper("verdicts", "list", "--store", str(run.store), "--format", output_format, cwd=run.directory)
    assert result.returncode == 0, result.stderr
    if output_format == "json":
        assert assert_safe_json(result.stdout, "verdicts list")[0]["branch"] == BRANCH
    else:
        assert_no_control_characters(result.stdout, "verdicts list")
        assert BRANCH in result.stdout


@pytest.mark.parametrize("output_format", ["text", "markdown"])
def test_explain_is_safe(run: Run, output_format: str) -> None:
    verdict = run.directory / "out.json"
    result = gatekeeper("explain", str(verdict), "--format", output_format, cwd=run.directory)
    assert result.returncode == 0, result.stderr
    where = f"explain --format {output_format}"
    if output_format == "text":
        assert_no_control_characters(result.stdout, where)
        assert not any(line.lstrip().startswith(("# heading", "<script>")) for line in result.stdout.splitlines())
    else:
        parsed = assert_safe_markdown(result.stdout, where, headings=("h2", "h3"))
        assert BRANCH in "".join(parsed.text)


def test_report_html_is_safe(run: Run) -> None:
    result = gatekeeper(
        "report", "--project", PROJECT, "--store", str(run.store), "--format", "html", cwd=run.directory
    )
    assert result.returncode == 0, result.stderr
    parsed = assert_safe_html_report(result.stdout, "report --format html")
    shown = "".join(parsed.text)
    assert BRANCH in shown and PROJECT in shown


def test_report_markdown_is_safe(run: Run) -> None:
    result = gatekeeper(
        "report", "--project", PROJECT, "--store", str(run.store), "--format", "markdown", cwd=run.directory
    )
    assert result.returncode == 0, result.stderr
    parsed = assert_safe_markdown(result.stdout, "report --format markdown", headings=("h1", "h2", "h3"))
    assert BRANCH in "".join(parsed.text)


def test_report_markdown_links_its_charts_by_an_encoded_name(run: Run) -> None:
    """The chart images are our own files next to the report; a name with a space and parentheses still links."""
    target = run.directory / "my (report).md"
    result = gatekeeper(
        "report",
        "--project",
        PROJECT,
        "--store",
        str(run.store),
        "--format",
        "markdown",
        "-o",
        str(target),
        cwd=run.directory,
    )
    assert result.returncode == 0, result.stderr
    charts = sorted(path.name for path in run.directory.glob("my (report).*.svg"))
    assert charts
    parsed = assert_safe_markdown(
        target.read_text(encoding="utf-8"), "report -o", headings=("h1", "h2", "h3"), images=set(charts)
    )
    sources = {unquote(attributes["src"] or "") for tag, attributes in parsed.elements if tag == "img"}
    assert sources == set(charts)


def test_an_http_job_url_is_the_only_link_and_cannot_break_out(tmp_path: Path) -> None:
    """A valid http(s) URL holding quotes, brackets and parentheses is one link to exactly that URL."""
    url = 'https://ci.example/job/1?q="><img/src=x/onerror=alert(1)>(x)[y]'
    _junit(tmp_path / "junit.xml")
    _policy(tmp_path / "policy.yaml")
    result = gatekeeper(
        "check",
        "--no-store",
        "--format",
        "markdown",
        "-p",
        "policy.yaml",
        "junit.xml",
        cwd=tmp_path,
        env={"JENKINS_URL": "https://ci.example/", "BUILD_URL": url, "BRANCH_NAME": BRANCH},
    )
    assert result.returncode == 1, result.stderr
    links = [
        attributes["href"] or "" for tag, attributes in elements(render_markdown(result.stdout)).elements if tag == "a"
    ]
    assert len(links) == 1 and unquote(links[0]) == url
    assert_safe_markdown(result.stdout, "check --format markdown", links=links)


def test_lone_surrogates_reach_no_output_raw(tmp_path: Path) -> None:
    """A lone surrogate (escaped in a SARIF log) is shown as U+FFFD or escaped: every format still writes."""
    _sarif(tmp_path / "scan.sarif", (SURROGATE,))
    _policy(tmp_path / "policy.yaml")
    files = {name: tmp_path / f"out.{name}" for name in FORMATS}
    result = gatekeeper(
        "check",
        "--no-store",
        "--format",
        "text",
        *(option for name, path in files.items() for option in ("--output", f"{name}={path}")),
        "-p",
        "policy.yaml",
        "scan.sarif",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    verdict = json.loads(files["json"].read_text(encoding="utf-8"))
    assert "lone \ufffd surrogate" in {finding.get("message") for finding in verdict["details"]["findings"]}
    assert_no_control_characters(result.stdout, "check --format text")
    for name, path in files.items():
        assert_safe(name, path.read_text(encoding="utf-8"), f"check --output {name}=", verdict, shown=False)
