"""The four delivery keys (DORA) of one project and environment over a window, from recorded events.

Pure: sequences of `gatekeeper.delivery` values in, counts and durations out; no I/O, no clock.  The
embedded store, the store server (on SQLite) and the tests compute with this code; the server on
PostgreSQL aggregates the same joins in SQL (`gatekeeper.server.web.delivery`) and must agree with it.

The joins, stated once (README, "Delivery metrics"):

- A deployment belongs to the window when the store recorded it in [since, until).  A repeated event
  is one event: deployments and incidents are counted once per id.
- **Deployment frequency**: successful deployments in the window, per day and per week (window days).
- **Lead time for changes**: for each commit a successful deployment shipped, its commit time to the
  *first* successful deployment (in this environment) that contains it; counted in the window where
  that first deployment falls.  A commit time is the committer's claim: one after its deployment (a
  clock ahead, or a forged date) is left out of the lead time and counted (`dated_after_deployment`),
  never taken as zero.  Median and 90th percentile, interpolated like PostgreSQL's `percentile_cont`.
- **Change failure rate**: deployments that failed, plus successful deployments that caused an
  incident, over *all* deployments in the window, never over changes (Four Keys #351 divided by
  changes).  An incident is linked to one deployment only (`Incident.caused_by_deployment`, the
  earliest successful deployment that shipped the blamed commit); a deployment that caused several
  incidents counts once.
- **Time to restore**: for incidents opened in the window, open to resolved (the resolution is the
  word of whoever resolved it, even when a deployment came first); an incident not resolved yet but
  followed by a successful deployment of its environment counts as restored by the first such
  deployment; one neither resolved nor followed by a deployment is open and left out of the median
  (counted as `open_incidents`).  Median.
- **Buckets** are the Four Keys project's (dora-team/fourkeys, the dashboard query in
  `dashboard/fourkeys_dashboard.json`): lead time < 24 h "One day", < 168 h "One week", < 730 h
  "One month", < 4380 h "Six months", else "One year"; restore < 24 h, < 168 h, < 672 h,
  < 4380 h; change failure ≤ 15 % "0-15%", < 46 % "16-45%", else "46-100%" (its "46-60%"); frequency "Daily"
  when the median week of the window has deployments on ≥ 3 days, "Weekly" when most weeks have
  one, "Monthly" when the median week's month has a week with one, else "Yearly".  The dashboard
  colours them elite (One day, Daily, 0-15%), high (One week, Weekly), medium (One month, Monthly,
  16-45%) and low (the rest); the overall bucket is the lowest of the four known ones.
"""

from __future__ import annotations

import bisect
import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gatekeeper.delivery import Deployment, Incident
from gatekeeper.words import plural

HOUR = 3600.0
DAY = 24 * HOUR
#: Verdict statuses that let a deployment through the gate: a warn verdict is clear (no blocking gate).
PASSING_STATUSES = ("pass", "warn")
#: A recommendation speaks only from at least this many observations.
MIN_SAMPLE = 5
#: The window, in days, when none is asked for: `gatekeeper delivery`, the /delivery page and the API.
DEFAULT_DAYS = 30


class Bucket(str, enum.Enum):
    """The Four Keys performance buckets, best first."""

    ELITE = "elite"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Bucket.ELITE: 0, Bucket.HIGH: 1, Bucket.MEDIUM: 2, Bucket.LOW: 3}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rated:
    """A key's Four Keys bucket and the label the dashboard shows for it ("One day", "Daily", "0-15%")."""

    bucket: Bucket
    label: str


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's `percentile_cont`: linear interpolation between the closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate_lead_time(seconds: float | None) -> Rated | None:
    """Four Keys' lead-time bucket for a median lead time."""
    return _rate_duration(seconds, month_hours=730)


def rate_restore(seconds: float | None) -> Rated | None:
    """Four Keys' time-to-restore bucket (its month is 672 hours here, 730 for lead time)."""
    return _rate_duration(seconds, month_hours=672)


def _rate_duration(seconds: float | None, *, month_hours: int) -> Rated | None:
    """A duration's Four Keys bucket: under a day elite, a week high, a month medium, else low."""
    if seconds is None:
        return None
    hours = seconds / HOUR
    for limit, bucket, label in (
        (24, Bucket.ELITE, "One day"),
        (168, Bucket.HIGH, "One week"),
        (month_hours, Bucket.MEDIUM, "One month"),
        (730 * 6, Bucket.LOW, "Six months"),
    ):
        if hours < limit:
            return Rated(bucket=bucket, label=label)
    return Rated(bucket=Bucket.LOW, label="One year")


def rate_change_failure(failed: int, deployments: int) -> Rated | None:
    """Four Keys' change-failure bucket: ≤ 15 % elite, < 46 % medium, else low (it has no high band)."""
    if deployments == 0:
        return None
    if failed * 100 <= 15 * deployments:
        return Rated(bucket=Bucket.ELITE, label="0-15%")
    if failed * 100 < 46 * deployments:
        return Rated(bucket=Bucket.MEDIUM, label="16-45%")
    # Four Keys labels this band "46-60%" whatever the rate; 80% shown as "low (46-60%)" reads as a wrong
    # number, so the label says the band's real range.
    return Rated(bucket=Bucket.LOW, label="46-100%")


def rate_frequency(days: Iterable[date], since: datetime, until: datetime) -> Rated | None:
    """Four Keys' deployment-frequency bucket from the days that had a successful deployment.

    Weeks start on Sunday (BigQuery's TIMESTAMP_TRUNC(…, WEEK)); every week the window touches
    counts, with or without deployments.
    """
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    if last < first:
        return None
    deployed = {day for day in days if first <= day <= last}
    weeks: dict[date, set[date]] = {}
    day = first
    while day <= last:
        weeks.setdefault(_week_start(day), set())
        if day in deployed:
            weeks[_week_start(day)].add(day)
        day += timedelta(days=1)
    starts = sorted(weeks)
    days_deployed = [float(len(weeks[start])) for start in starts]
    week_deployed = [1.0 if weeks[start] else 0.0 for start in starts]
    month_weeks: dict[tuple[int, int], int] = {}
    for start, flag in zip(starts, week_deployed, strict=True):
        month_weeks[(start.year, start.month)] = month_weeks.get((start.year, start.month), 0) + int(flag)
    monthly = [float(month_weeks[(start.year, start.month)]) for start in starts]
    if (percentile(days_deployed, 0.5) or 0) >= 3:
        return Rated(bucket=Bucket.ELITE, label="Daily")
    if (percentile(week_deployed, 0.5) or 0) >= 1:
        return Rated(bucket=Bucket.HIGH, label="Weekly")
    if (percentile(monthly, 0.5) or 0) >= 1:
        return Rated(bucket=Bucket.MEDIUM, label="Monthly")
    return Rated(bucket=Bucket.LOW, label="Yearly")


def _week_start(day: date) -> date:
    return day - timedelta(days=(day.weekday() + 1) % 7)  # Sunday


@dataclass(frozen=True, slots=True, kw_only=True)
class FourKeys:
    """The four keys of one project and environment over [since, until): counts and durations (seconds).

    Percentages and rates are properties, computed from the counts (never stored rounded).
    """

    project: str
    environment: str
    since: datetime
    until: datetime
    deployments: int  # every deployment recorded in the window, once each
    successful: int
    failed: int  # status failure
    caused_incident: int  # successful deployments an incident was linked to
    changes: int  # commits whose first successful deployment falls in the window, dated before it
    lead_time_median: float | None
    lead_time_p90: float | None
    incidents: int  # opened in the window
    restored: int
    open_incidents: int
    restore_median: float | None
    deployment_days: tuple[date, ...] = ()  # days with a successful deployment, for the frequency bucket
    ungated: int = 0  # deployments without a passing gate verdict (when the caller could tell)
    dated_after_deployment: int = 0  # commits of the window left out of the lead time: dated after it

    @property
    def days(self) -> float:
        return max((self.until - self.since).total_seconds(), 0.0) / DAY

    @property
    def per_day(self) -> float | None:
        return None if self.days <= 0 else self.successful / self.days

    @property
    def per_week(self) -> float | None:
        per_day = self.per_day
        return None if per_day is None else per_day * 7

    @property
    def change_failures(self) -> int:
        return self.failed + self.caused_incident

    @property
    def change_failure_percent(self) -> float | None:
        return None if self.deployments == 0 else 100.0 * self.change_failures / self.deployments

    @property
    def frequency_rating(self) -> Rated | None:
        return rate_frequency(self.deployment_days, self.since, self.until)

    @property
    def lead_time_rating(self) -> Rated | None:
        return rate_lead_time(self.lead_time_median)

    @property
    def change_failure_rating(self) -> Rated | None:
        return rate_change_failure(self.change_failures, self.deployments)

    @property
    def restore_rating(self) -> Rated | None:
        return rate_restore(self.restore_median)

    @property
    def bucket(self) -> Bucket | None:
        """The overall bucket: the lowest of the keys that could be rated (None when none could)."""
        rated = [
            rating.bucket
            for rating in (
                self.frequency_rating,
                self.lead_time_rating,
                self.change_failure_rating,
                self.restore_rating,
            )
            if rating is not None
        ]
        return max(rated, key=lambda bucket: bucket.rank) if rated else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Measured:
    """One environment's four keys and the recommendations they support, as a store or server gives them."""

    keys: FourKeys
    advice: tuple[str, ...]


def unique(events: Iterable[Deployment]) -> list[Deployment]:
    """Deployments once per id (a repeated event is one event), oldest first by the store's time."""
    seen: dict[str, Deployment] = {}
    for event in events:
        seen.setdefault(event.id, event)
    return sorted(seen.values(), key=lambda event: (event.deployed_at, event.id))


def compute(
    deployments: Iterable[Deployment],
    incidents: Iterable[Incident],
    *,
    project: str,
    environment: str,
    since: datetime,
    until: datetime,
    passing: Callable[[Deployment], bool] | None = None,
) -> FourKeys:
    """The four keys over [since, until) (the module docstring states the joins).

    `deployments` may reach back before `since`: a commit already shipped before the window is not a
    change of the window.  `passing` tells whether a deployment is covered by a passing gate verdict.
    """
    every = [event for event in unique(deployments) if event.project == project and event.environment == environment]
    inside = [event for event in every if since <= event.deployed_at < until]
    successful = [event for event in inside if event.succeeded]
    failed = sum(1 for event in inside if not event.succeeded)
    seen_incidents: dict[str, Incident] = {}
    for incident in incidents:
        if incident.project == project and incident.environment == environment:
            seen_incidents.setdefault(incident.id, incident)
    inside_ids = {event.id for event in successful}
    caused = {
        incident.caused_by_deployment
        for incident in seen_incidents.values()
        if incident.caused_by_deployment is not None and incident.caused_by_deployment in inside_ids
    }
    firsts = [seconds for _sha, seconds in first_deployment_lead_times(every, since, until)]
    lead_times = [seconds for seconds in firsts if seconds >= 0]
    restore: list[float] = []
    opened = [incident for incident in seen_incidents.values() if since <= incident.opened_at < until]
    shipped = [event.deployed_at for event in every if event.succeeded]  # oldest first
    for incident in opened:
        seconds = restore_seconds(incident, shipped)
        if seconds is not None:
            restore.append(seconds)
    return FourKeys(
        project=project,
        environment=environment,
        since=since,
        until=until,
        deployments=len(inside),
        successful=len(successful),
        failed=failed,
        caused_incident=len(caused),
        changes=len(lead_times),
        lead_time_median=percentile(lead_times, 0.5),
        lead_time_p90=percentile(lead_times, 0.9),
        incidents=len(opened),
        restored=len(restore),
        open_incidents=len(opened) - len(restore),
        restore_median=percentile(restore, 0.5),
        deployment_days=tuple(sorted({event.deployed_at.date() for event in successful})),
        ungated=0 if passing is None else sum(1 for event in inside if not passing(event)),
        dated_after_deployment=len(firsts) - len(lead_times),
    )


def first_deployment_lead_times(
    deployments: Sequence[Deployment], since: datetime, until: datetime
) -> list[tuple[str, float]]:
    """(sha, seconds) for each commit whose first successful deployment falls in [since, until); negative
    when the commit is dated after that deployment (which `compute` leaves out of the lead time)."""
    first: dict[str, tuple[datetime, datetime]] = {}  # sha -> (first deployed, committed)
    for event in deployments:
        if not event.succeeded:
            continue
        for commit in event.commits:
            known = first.get(commit.sha)
            if known is None or event.deployed_at < known[0]:
                first[commit.sha] = (event.deployed_at, commit.committed_at)
    return sorted(
        (sha, (deployed - committed).total_seconds())
        for sha, (deployed, committed) in first.items()
        if since <= deployed < until
    )


def restore_seconds(incident: Incident, shipped: Sequence[datetime]) -> float | None:
    """Open to resolved; unresolved but followed by a successful deployment (`shipped`: the times of the
    environment's successful deployments, oldest first): open to the first one after the opening."""
    if incident.resolved_at is not None:
        return max((incident.resolved_at - incident.opened_at).total_seconds(), 0.0)
    after = bisect.bisect_right(shipped, incident.opened_at)
    if after < len(shipped):
        return (shipped[after] - incident.opened_at).total_seconds()
    return None


def trend(
    deployments: Sequence[Deployment],
    incidents: Sequence[Incident],
    *,
    project: str,
    environment: str,
    since: datetime,
    until: datetime,
    step: timedelta = timedelta(days=7),
) -> list[FourKeys]:
    """The four keys per consecutive `step` from `since` (the last one cut at `until`): the trend."""
    periods: list[FourKeys] = []
    start = since
    while start < until:
        end = min(start + step, until)
        periods.append(
            compute(deployments, incidents, project=project, environment=environment, since=start, until=end)
        )
        start = end
    return periods


def gate_passing(
    deployment: Deployment,
    *,
    verdict_status: Callable[[str], str | None],
    commit_passed: Callable[[str, str], bool],
) -> bool:
    """Whether a passing gate verdict covers this deployment.

    With `--verdict ID` the deployment names its verdict: it must exist and be pass or warn.
    Without, some verdict of the project at this commit (or at a prefix of it of 7 hex digits or more, as
    `check --commit abc1234` records outside a clone) must be pass or warn.
    """
    if deployment.verdict_id is not None:
        return verdict_status(deployment.verdict_id) in PASSING_STATUSES
    return commit_passed(deployment.project, deployment.commit)


def dated_after_note(keys: FourKeys) -> str | None:
    """What the lead time left out, in words ("2 commits dated after their deployment left out"), or None."""
    if not keys.dated_after_deployment:
        return None
    left = keys.dated_after_deployment
    return f"{plural(left, 'commit')} dated after {'its' if left == 1 else 'their'} deployment left out"


def format_duration(seconds: float | None) -> str:
    """ "3.5 h", "2.1 d", "45 min": a duration the way the pages and `report` show it."""
    if seconds is None:
        return "-"
    if seconds < HOUR:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f} h"
    return f"{seconds / DAY:.1f} d"


def recommendations(keys: FourKeys, waits: Sequence[float] = ()) -> list[str]:
    """What the numbers support, in plain words, each with its numbers; nothing from a thin sample.

    `waits` are, per change shipped in the window, seconds from its deployment's last passing gate
    verdict to the deployment.
    """
    advice: list[str] = []
    long_waits = sum(1 for wait in waits if wait > 2 * DAY)
    if (
        len(waits) >= MIN_SAMPLE
        and long_waits * 2 >= len(waits)
        and keys.lead_time_median is not None
        and keys.lead_time_median > DAY
    ):
        advice.append(
            f"lead time is dominated by waiting for deployment: {100 * long_waits / len(waits):.0f}% of "
            f"changes ({long_waits} of {len(waits)}) waited more than 2 days after their last passing "
            f"verdict (median lead time {format_duration(keys.lead_time_median)}); deploying passed "
            "changes sooner would shorten it"
        )
    percent = keys.change_failure_percent
    if percent is not None and keys.deployments >= MIN_SAMPLE and percent > 15:
        advice.append(
            f"{keys.change_failures} of {plural(keys.deployments, 'deployment')} ({percent:.0f}%) failed "
            f"({keys.failed}) or caused an incident ({keys.caused_incident}), above the elite 15%: "
            "look at what those deployments shipped and which gates passed them"
        )
    if keys.deployments >= 1 and keys.ungated > 0:
        advice.append(
            f"{keys.ungated} of {plural(keys.deployments, 'deployment')} "
            f"({100 * keys.ungated / keys.deployments:.0f}%) went out without a passing gate verdict: "
            "record the verdict with `deploy record --verdict ID` or run the gate before deploying"
        )
    if keys.restored >= MIN_SAMPLE and keys.restore_median is not None and keys.restore_median >= DAY:
        advice.append(
            f"time to restore is long: the median of {plural(keys.restored, 'incident')} restored is "
            f"{format_duration(keys.restore_median)}, over the elite one day: "
            "a rollback or a faster fix deployment would shorten it"
        )
    if (
        keys.changes >= 2 * MIN_SAMPLE
        and keys.lead_time_median is not None
        and keys.lead_time_p90 is not None
        and keys.lead_time_median > 0
        and keys.lead_time_p90 >= 4 * keys.lead_time_median
        and keys.lead_time_p90 >= DAY
    ):
        advice.append(
            f"a tail of slow changes: the 90th percentile lead time ({format_duration(keys.lead_time_p90)}) "
            f"is {keys.lead_time_p90 / keys.lead_time_median:.0f} times the median "
            f"({format_duration(keys.lead_time_median)}) over {plural(keys.changes, 'change')}"
        )
    if keys.open_incidents > 0 and keys.incidents >= 1:
        advice.append(
            f"{keys.open_incidents} of {plural(keys.incidents, 'incident')} opened in the window "
            "is neither resolved nor followed by a deployment: it is left out of time to restore"
            if keys.open_incidents == 1
            else f"{keys.open_incidents} of {plural(keys.incidents, 'incident')} opened in the window "
            "are neither resolved nor followed by a deployment: they are left out of time to restore"
        )
    return advice


def verdict_waits(
    deployments: Iterable[Deployment],
    *,
    since: datetime,
    until: datetime,
    last_pass: Callable[[Deployment], datetime | None],
) -> list[float]:
    """Seconds each change waited from its deployment's last passing verdict to that deployment.

    One entry per commit a successful deployment in [since, until) shipped (at least one per
    deployment); `last_pass` gives the newest passing verdict the store recorded for the deployed
    commit before the deployment, or None (those changes are left out: there is no verdict to wait from).
    """
    waits: list[float] = []
    for event in unique(deployments):
        if not event.succeeded or not since <= event.deployed_at < until:
            continue
        passed = last_pass(event)
        if passed is None or passed > event.deployed_at:
            continue
        waits.extend([(event.deployed_at - passed).total_seconds()] * max(len(event.commits), 1))
    return waits


def document(keys: FourKeys, advice: Sequence[str] = ()) -> dict[str, Any]:
    """The four keys as JSON (the server's API, `delivery --format json`): counts and durations in
    seconds, the rates derived from them, each key's bucket, and the recommendations."""

    def rated(rating: Rated | None) -> dict[str, str] | None:
        return None if rating is None else {"bucket": rating.bucket.value, "label": rating.label}

    return {
        "project": keys.project,
        "environment": keys.environment,
        "since": keys.since.isoformat().replace("+00:00", "Z"),
        "until": keys.until.isoformat().replace("+00:00", "Z"),
        "deployments": keys.deployments,
        "successful": keys.successful,
        "failed": keys.failed,
        "caused_incident": keys.caused_incident,
        "ungated": keys.ungated,
        "changes": keys.changes,
        "dated_after_deployment": keys.dated_after_deployment,
        "lead_time_median_seconds": keys.lead_time_median,
        "lead_time_p90_seconds": keys.lead_time_p90,
        "incidents": keys.incidents,
        "restored": keys.restored,
        "open_incidents": keys.open_incidents,
        "restore_median_seconds": keys.restore_median,
        "deployment_days": [day.isoformat() for day in keys.deployment_days],
        "per_day": keys.per_day,
        "per_week": keys.per_week,
        "change_failure_percent": keys.change_failure_percent,
        "buckets": {
            "deployment_frequency": rated(keys.frequency_rating),
            "lead_time": rated(keys.lead_time_rating),
            "change_failure_rate": rated(keys.change_failure_rating),
            "time_to_restore": rated(keys.restore_rating),
            "overall": None if keys.bucket is None else keys.bucket.value,
        },
        "recommendations": list(advice),
    }


def from_document(found: Any, source: str) -> tuple[FourKeys, list[str]]:
    """The four keys back from `document` (a server's answer): ValueError naming `source` if it is not one."""
    try:
        if not isinstance(found, Mapping):
            raise TypeError("not an object")

        def count(name: str) -> int:
            value = found[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TypeError(f"{name} is not a count")
            return value

        def seconds(name: str) -> float | None:
            value = found[name]
            if value is None:
                return None
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise TypeError(f"{name} is not a duration")
            return float(value)

        def moment(name: str) -> datetime:
            return datetime.fromisoformat(str(found[name]).replace("Z", "+00:00"))

        advice = found.get("recommendations") or []
        if not isinstance(advice, list) or not all(isinstance(line, str) for line in advice):
            raise TypeError("recommendations is not a list of text")
        keys = FourKeys(
            project=str(found["project"]),
            environment=str(found["environment"]),
            since=moment("since"),
            until=moment("until"),
            deployments=count("deployments"),
            successful=count("successful"),
            failed=count("failed"),
            caused_incident=count("caused_incident"),
            changes=count("changes"),
            lead_time_median=seconds("lead_time_median_seconds"),
            lead_time_p90=seconds("lead_time_p90_seconds"),
            incidents=count("incidents"),
            restored=count("restored"),
            open_incidents=count("open_incidents"),
            restore_median=seconds("restore_median_seconds"),
            deployment_days=tuple(date.fromisoformat(str(day)) for day in found.get("deployment_days") or []),
            ungated=count("ungated"),
            # absent from a server before it was counted: none known
            dated_after_deployment=count("dated_after_deployment") if "dated_after_deployment" in found else 0,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{source}: not the four keys this gatekeeper reads ({error})") from None
    return keys, list(advice)
