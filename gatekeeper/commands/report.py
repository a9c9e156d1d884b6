"""`gatekeeper report`: a static HTML or markdown report of one project's verdicts over a period, with
the trend charts the server's pages draw, for teams that run no server (or want a file to attach).

HTML is one self-contained file (inline SVG and CSS, nothing fetched).  Markdown cannot hold SVG
inline where it is usually read (GitHub and GitLab strip it), so with `-o FILE` each chart is written
next to FILE as `FILE-STEM.CHART.svg` and shown as an image; on standard output the figures appear as
tables only.  Both always carry the figures as tables, each row with its verdict's branch and commit.

Branches are never mixed in one series: without `--branch`, a project with verdicts on several
branches is reported on its default branch only (`main` or `master` if it has one, else the branch
with most verdicts in the period), and the report says so and names the others.  What verdicts say
(branch, pipeline, ids) is embedded through gatekeeper.outputs.escape, as in every other output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gatekeeper import charts
from gatekeeper.charts import Step
from gatekeeper.errors import InputError, path_status
from gatekeeper.model import Decision
from gatekeeper.outputs.escape import html_text, md_code, md_path, md_text
from gatekeeper.since import parse_since
from gatekeeper.status import ExitStatus
from gatekeeper.store import StoreError, VerdictStore, VerdictSummary, default_store_path
from gatekeeper.words import level_reached, short_commit

if TYPE_CHECKING:
    from gatekeeper.dora import Measured

#: The newest verdicts of the period a report reads at most (the report says when it stopped there).
MAX_VERDICTS = 1000
_STATUSES = tuple(decision.value for decision in Decision)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    project: str
    branch: str | None
    since: str
    output_format: str
    output: str | None
    store: str | None
    server: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What a report shows, read once and rendered as HTML or markdown."""

    project: str
    branch: str | None
    since: datetime
    until: datetime
    source: str
    verdicts: tuple[VerdictSummary, ...]  # newest first
    truncated: bool
    charts: tuple[charts.Chart, ...]
    branch_note: str = ""  # why this branch, when the user gave none
    delivery: tuple[Measured, ...] = ()  # the four keys per environment over the period (issue 19)

    @property
    def steps(self) -> tuple[Step, ...]:
        """Each verdict's status and level achieved, for the status strip."""
        return tuple(
            Step(at=_parse_time(item.created_at), status=item.status, level=item.level_achieved)
            for item in self.verdicts
        )

    def verdict_at(self, at: datetime) -> VerdictSummary | None:
        """The verdict a chart's row stands for (its time), for the row's branch and commit."""
        return next((item for item in self.verdicts if _parse_time(item.created_at) == at), None)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(verdict.status for verdict in self.verdicts)

    @property
    def scope(self) -> str:
        return self.project + (f" on {self.branch}" if self.branch else "")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def default_branch(summaries: Sequence[VerdictSummary]) -> tuple[str | None, str]:
    """The one branch a report without --branch shows when the period has several (None: there is one
    or none), and the sentence that says so."""
    counts = Counter(summary.branch for summary in summaries)  # newest first: a tie goes to the newest
    chosen = charts.default_branch(counts)
    if chosen is None:
        return None, ""
    others = ", ".join(f"{branch or '(no branch)'} ({counts[branch]})" for branch in counts if branch != chosen)
    return chosen, (
        f"Branch {chosen} only, the project's default branch (branches are not mixed in one trend); "
        f"the period also has verdicts on {others}: give --branch to report one of them."
    )


def read(
    source: VerdictStore, source_name: str, project: str, branch: str | None, since: datetime, now: datetime
) -> Report:
    """The period's verdicts of one branch (newest first, at most MAX_VERDICTS) and their trend figures."""
    summaries = source.list(project=project, branch=branch, since=since, limit=MAX_VERDICTS + 1)
    if not summaries:
        scope = f"project {project!r}" + (f" on branch {branch!r}" if branch else "")
        raise StoreError(source_name, f"no verdicts of {scope} since {since:%Y-%m-%d %H:%M} UTC")
    note = ""
    if branch is None:
        chosen, note = default_branch(summaries)
        if chosen is not None:
            branch = chosen
            summaries = source.list(project=project, branch=branch, since=since, limit=MAX_VERDICTS + 1)
    kept = tuple(summaries[:MAX_VERDICTS])
    values = []
    for summary in kept:
        at = _parse_time(summary.created_at)
        metrics = source.get(summary.id).get("metrics") or {}
        values += [
            (at, name, float(metrics[name]))
            for name in charts.TREND_METRICS
            if isinstance(metrics.get(name), (int, float)) and not isinstance(metrics.get(name), bool)
        ]
    return Report(
        project=project,
        branch=branch,
        since=since,
        until=now,
        source=source_name,
        verdicts=kept,
        truncated=len(summaries) > MAX_VERDICTS,
        charts=charts.trend_charts(values, steps=(_parse_time(item.created_at) for item in kept)),
        branch_note=note,
    )


def run(options: ReportOptions, out: TextIO, *, now: datetime | None = None) -> ExitStatus:
    moment = now or datetime.now(timezone.utc)
    since = parse_since(options.since, moment)
    if options.server:
        from gatekeeper.store.remote import RemoteStore

        with RemoteStore(options.server) as remote:
            report = read(remote, remote.base, options.project, options.branch, since, moment)
    else:
        from gatekeeper.store.sqlite import SqliteStore

        path = Path(options.store) if options.store else default_store_path()
        path_status(path, StoreError)  # a symlink loop is unreadable, not absent
        with SqliteStore(path, create=False) as store:
            report = read(store, str(path), options.project, options.branch, since, moment)
    report = replace(report, delivery=tuple(_delivery(options, since, moment)))
    target = Path(options.output) if options.output else None
    if options.output_format == "html":
        text = render_html(report)
    else:
        images = _write_images(report, target) if target is not None else {}
        text = render_markdown(report, images)
    if target is None:
        out.write(text)
    else:
        _write(target, text)
        out.write(f"wrote {target}\n")
    return ExitStatus.PASS


def _delivery(options: ReportOptions, since: datetime, now: datetime) -> list[Measured]:
    """The project's four keys over the report's period, where its store records deployments; none from
    a server that cannot compute them (one older than this section), since the verdicts are the report."""
    from gatekeeper.store import four_keys

    if options.server:
        days = max(1, min(four_keys.MAX_DAYS, -(-int((now - since).total_seconds()) // 86400)))
        try:
            return four_keys.from_server(options.server, options.project, None, days)
        except StoreError:
            return []
    path = Path(options.store) if options.store else default_store_path()
    return four_keys.from_store(path, options.project, None, since, now)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(path, f"cannot write the report: {error.strerror or error}") from None


def _write_images(report: Report, target: Path) -> dict[str, str]:
    """Each chart as an SVG file next to the markdown file; their names relative to it, by chart key."""
    drawn = {"status": charts.render_strip(report.steps)} | {
        chart.key: charts.render_svg(chart) for chart in report.charts
    }
    names = {}
    for key, svg in drawn.items():
        name = f"{target.stem}.{key}.svg"
        _write(target.with_name(name), '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n")
        names[key] = name
    return names


def _time(text: str) -> str:
    return text[:16].replace("T", " ")


# -- HTML ------------------------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1a1a1a; max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem; }
table { border-collapse: collapse; margin: .5rem 0 1.2rem; }
caption { text-align: left; font-weight: 600; color: #4a4a4a; padding: .3rem 0; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #c8c8c8; }
thead th { background: #f3f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem 2rem; }
svg.chart { max-width: 100%; height: auto; border: 1px solid #c8c8c8; }
.status { font-weight: 700; }
"""


def render_html(report: Report) -> str:
    title = f"Quality report: {report.scope}"
    statuses = report.statuses
    latest = report.verdicts[0]
    out = [
        "<!doctype html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html_text(title)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body><main>",
        f"<h1>{html_text(title)}</h1>",
        f"<p>{_period(report)} from {html_text(report.source)}. Latest verdict: "
        f'<span class="status">{html_text(latest.status.upper())}</span> at {html_text(_time(latest.created_at))} UTC'
        f"{_level_text(latest)}.</p>",
        f'<p id="branch-note">{html_text(report.branch_note)}</p>' if report.branch_note else "",
        "<table><caption>Verdicts by status</caption><thead><tr>"
        + "".join(f'<th scope="col">{status}</th>' for status in _STATUSES)
        + "</tr></thead><tbody><tr>"
        + "".join(f'<td class="num">{statuses.get(status, 0)}</td>' for status in _STATUSES)
        + "</tr></tbody></table>",
        "<h2>Trends</h2>",
        '<div class="charts">',
        '<figure id="chart-status"><figcaption>Status and level achieved, one step per verdict</figcaption>',
        charts.render_strip(report.steps),
        "</figure>",
    ]
    for chart in report.charts:
        out += [
            f'<figure id="chart-{chart.key}">'
            f"<figcaption>{html_text(chart.title)} ({html_text(chart.unit)})</figcaption>",
            charts.render_svg(chart),
            _html_table(report, chart),
            "</figure>",
        ]
    out += ["</div>", *_html_delivery(report), "<h2>Verdicts</h2>", _html_verdicts(report), "</main></body></html>", ""]
    return "\n".join(out)


def _html_delivery(report: Report) -> list[str]:
    """The four keys per environment: a table each, the gate line and the recommendations."""
    from gatekeeper.outputs.delivery import advice_html, heading, rows, ungated_line

    if not report.delivery:
        return []
    days = max(1, round((report.until - report.since).total_seconds() / 86400))
    out = ['<h2 id="delivery">Delivery: the four keys</h2>']
    for item in report.delivery:
        out += [
            f"<table><caption>{html_text(heading(item.keys, days))}</caption><thead><tr>"
            '<th scope="col">key</th><th scope="col">value</th><th scope="col">bucket</th>'
            '<th scope="col">counted from</th></tr></thead><tbody>',
            *(
                f'<tr><th scope="row">{html_text(key)}</th><td class="num">{html_text(value)}</td>'
                f"<td>{html_text(bucket)}</td><td>{html_text(counted)}</td></tr>"
                for key, value, bucket, counted in rows(item.keys)
            ),
            "</tbody></table>",
            f"<p>{html_text(ungated_line(item.keys))}</p>",
        ]
        if item.advice:
            out.append("<ul>" + "".join(f"<li>{advice_html(line)}</li>" for line in item.advice) + "</ul>")
    return out


def _md_delivery(report: Report) -> list[str]:
    from gatekeeper.outputs.delivery import heading, rows, ungated_line

    if not report.delivery:
        return []
    days = max(1, round((report.until - report.since).total_seconds() / 86400))
    out = ["## Delivery: the four keys", ""]
    for item in report.delivery:
        out += [md_text(heading(item.keys, days)), "", "| key | value | bucket | counted from |", "|---|---:|---|---|"]
        out += [
            f"| {md_text(key)} | {md_text(value)} | {md_text(bucket)} | {md_text(counted)} |"
            for key, value, bucket, counted in rows(item.keys)
        ]
        out += ["", md_text(ungated_line(item.keys)), ""]
        out += [f"- {md_text(line)}" for line in item.advice]
        out += [""] if item.advice else []
    return out


def _period(report: Report) -> str:
    count = len(report.verdicts)
    noun = "verdict" if count == 1 else "verdicts"
    text = f"{count} {noun} from {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"
    if report.truncated:
        text += f" (the newest {MAX_VERDICTS}; the period has more)"
    return text


def _level_text(summary: VerdictSummary) -> str:
    """ ", level 3 achieved", or for level 0 ", no level reached" (never "level 0 achieved")."""
    return "" if summary.level_achieved is None else f", {level_reached(summary.level_achieved)}"


def _html_table(report: Report, chart: charts.Chart) -> str:
    head = "".join(f'<th scope="col">{html_text(series.name)}</th>' for series in chart.series)
    rows = "".join(
        f'<tr><th scope="row">{at:{_ROW_TIME}}</th>'
        + "".join(f"<td>{html_text(cell)}</td>" for cell in _branch_commit(report, at))
        + "".join(f'<td class="num">{_figure(value)}</td>' for value in values)
        + "</tr>"
        for at, values in charts.table_rows(chart)
    )
    return (
        f"<details><summary>{html_text(chart.title)} as a table</summary><table>"
        f"<caption>{html_text(chart.title)}, oldest first</caption>"
        f'<thead><tr><th scope="col">verdict time (UTC)</th><th scope="col">branch</th><th scope="col">commit</th>'
        f"{head}</tr></thead><tbody>{rows}</tbody></table></details>"
    )


#: A chart row's time: to the second, so verdicts of the same minute are told apart.
_ROW_TIME = "%Y-%m-%d %H:%M:%S"


def _branch_commit(report: Report, at: datetime) -> tuple[str, str]:
    verdict = report.verdict_at(at)
    if verdict is None:
        return "-", "-"
    return verdict.branch or "-", short_commit(verdict.commit)


def _html_verdicts(report: Report) -> str:
    rows = "".join(
        f'<tr><th scope="row">{html_text(_time(item.created_at))}</th><td class="status">{html_text(item.status)}</td>'
        f"<td>{html_text(item.branch or '-')}</td><td><code>{html_text(short_commit(item.commit))}</code></td>"
        f'<td>{html_text(item.pipeline or "-")}</td><td class="num">{_figure(item.level_achieved)}</td>'
        f"<td><code>{html_text(item.id)}</code></td></tr>"
        for item in report.verdicts
    )
    head = "".join(
        f'<th scope="col">{name}</th>'
        for name in ("time (UTC)", "status", "branch", "commit", "pipeline", "level", "verdict id")
    )
    return (
        f"<table><caption>Verdicts, newest first</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _figure(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


# -- markdown --------------------------------------------------------------------------------------


def render_markdown(report: Report, images: dict[str, str]) -> str:
    latest = report.verdicts[0]
    statuses = report.statuses
    out = [
        f"# Quality report: {md_text(report.scope)}",
        "",
        f"{_period(report)} from {md_text(report.source)}. Latest verdict: **{md_text(latest.status.upper())}** at "
        f"{md_text(_time(latest.created_at))} UTC{_level_text(latest)}.",
        "",
        *([md_text(report.branch_note), ""] if report.branch_note else []),
        "| pass | warn | fail | error |",
        "|---:|---:|---:|---:|",
        "| " + " | ".join(str(statuses.get(status, 0)) for status in _STATUSES) + " |",
        "",
        "## Trends",
        "",
    ]
    if not images:
        out += ["Charts are written next to the report with `-o FILE`; here are their figures.", ""]
    if "status" in images:  # its figures are the verdict list's status and level columns
        out += [f"![{md_text(charts.describe_strip(report.steps))}]({md_path(images['status'])})", ""]
    for chart in report.charts:
        out += [f"### {md_text(chart.title)} ({md_text(chart.unit)})", ""]
        if chart.key in images:
            out += [f"![{md_text(charts.describe(chart))}]({md_path(images[chart.key])})", ""]
        names = " | ".join(md_text(series.name) for series in chart.series)
        out += [f"| verdict time (UTC) | branch | commit | {names} |", "|---|---|---|" + "---:|" * len(chart.series)]
        rows = charts.table_rows(chart)
        for at, values in rows:
            branch, commit = _branch_commit(report, at)
            figures = " | ".join(_figure(value) for value in values)
            out.append(f"| {at:{_ROW_TIME}} | {md_text(branch)} | {md_code(commit, table=True)} | {figures} |")
        if not rows:
            out += ["| no data in this period | | |" + " |" * len(chart.series)]
        out.append("")
    out += _md_delivery(report)
    out += [
        "## Verdicts",
        "",
        "| time (UTC) | status | branch | commit | pipeline | level | verdict id |",
        "|---|---|---|---|---|---:|---|",
    ]
    out += [
        f"| {md_text(_time(item.created_at))} | {md_text(item.status)} | {md_text(item.branch or '-')} "
        f"| {md_code(short_commit(item.commit), table=True)} | {md_text(item.pipeline or '-')} "
        f"| {_figure(item.level_achieved)} | {md_code(item.id, table=True)} |"
        for item in report.verdicts
    ]
    out.append("")
    return "\n".join(out)
