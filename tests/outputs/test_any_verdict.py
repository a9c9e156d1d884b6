"""Every verdict schemas/verdict.schema.json allows renders in every output (issue 13: "every schema-valid
verdict renders on every page and in every output"), and safely: the checks test_hostile.py applies to
hostile names hold for whatever strings the schema lets a verdict carry (control characters, markdown,
HTML, any Unicode).  A stored or uploaded verdict is only known to be schema-valid, not to be ours.

The pages are tested the same way in tests/pages/test_any_verdict.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

from gatekeeper import charts
from gatekeeper.commands.explain import explain, render_markdown, render_text
from gatekeeper.commands.report import Report, render_html
from gatekeeper.commands.report import render_markdown as report_markdown
from gatekeeper.context import http_url
from gatekeeper.outputs import RENDERERS
from gatekeeper.store import VerdictSummary
from gatekeeper.verdict import parse
from tests.outputs.cases import renderer
from tests.outputs.safety import (
    assert_no_control_characters,
    assert_safe_html_report,
    assert_safe_json,
    assert_safe_junit,
    assert_safe_markdown,
)
from tests.outputs.test_hostile import CODEQUALITY_SCHEMA
from tests.strategies import schema_verdicts

# Modest: each example renders eight outputs and parses each back; the suite must stay fast.
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


#: An annotation as the runner reads it: `::level prop=value,prop=value::message`, no `::` or `,` inside a value.
_WORKFLOW_COMMAND = re.compile(r"::(error|warning|notice)( [a-zA-Z]+=[^:,]*(,[a-zA-Z]+=[^:,]*)*)?::.*")


def _links(verdict: dict[str, Any]) -> set[str]:
    """The one link our markdown may hold: the job URL, if it is http(s)."""
    url = http_url(verdict["context"].get("url"))
    return set() if url is None else {url}


@given(verdict=schema_verdicts())
@SETTINGS
def test_every_schema_valid_verdict_renders_safely_in_every_check_format(verdict: dict[str, Any]) -> None:
    for name in RENDERERS:
        text = renderer(name)(verdict)
        where = f"--format {name}"
        if name == "markdown":
            assert_safe_markdown(text, where, links=_links(verdict))
        elif name == "text":
            assert_no_control_characters(text, where)
        elif name == "junit":
            assert_safe_junit(text, where, len(verdict["gates"]))
        elif name == "gitlab-codequality":
            issues = assert_safe_json(text, where)
            Draft202012Validator(CODEQUALITY_SCHEMA).validate(issues)
            for issue in issues:
                assert_no_control_characters(issue["description"], where)
        elif name == "github-annotations":
            # One workflow command per line, whatever a gate, path or message holds: nothing a report
            # says can end a command and start another, or colour the log.
            assert_no_control_characters(text, where)
            assert all(_WORKFLOW_COMMAND.fullmatch(line) for line in text.splitlines()), text
        else:
            assert name == "json"
            assert assert_safe_json(text, where) == parse(verdict, "drawn").to_json()


@given(verdict=schema_verdicts())
@SETTINGS
def test_every_schema_valid_verdict_explains_safely(verdict: dict[str, Any]) -> None:
    explanation = explain(parse(verdict, "drawn"))
    assert_no_control_characters(render_text(explanation), "explain")
    assert_safe_markdown(render_markdown(explanation), "explain --format markdown", headings=("h2", "h3"))


@given(verdict=schema_verdicts())
@SETTINGS
def test_every_schema_valid_verdict_reports_safely(verdict: dict[str, Any]) -> None:
    """`report` as it reads a store: the verdict's summary columns and its trend metrics."""
    context = verdict["context"]
    summary = VerdictSummary(
        id=verdict["id"],
        created_at=verdict["created_at"],
        status=verdict["status"],
        project=context["project"],
        branch=context["branch"],
        commit=context["commit"],
        pipeline=context["pipeline"],
        policy_name=verdict["policy"]["name"],
        level_achieved=verdict["maturity"]["level_achieved"],
    )
    at = datetime.fromisoformat(verdict["created_at"].replace("Z", "+00:00"))
    metrics = verdict["metrics"]
    values = [(at, name, float(metrics[name])) for name in charts.TREND_METRICS if name in metrics]
    report = Report(
        project=context["project"] or "-",
        branch=context["branch"],
        since=at,
        until=datetime.now(timezone.utc),
        source="store",
        verdicts=(summary,),
        truncated=False,
        charts=charts.trend_charts(values),
    )
    assert_safe_html_report(render_html(report), "report --format html")
    assert_safe_markdown(report_markdown(report, {}), "report --format markdown", headings=("h1", "h2", "h3"))
