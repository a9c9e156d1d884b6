"""Where a run happens: CI system, project, branch, commit, pipeline — read from the environment.

Jenkins, GitLab CI and GitHub Actions each name these differently; flags override what is detected.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from gatekeeper.errors import UsageError


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    ci: str | None = None
    project: str | None = None
    branch: str | None = None
    commit: str | None = None
    pipeline: str | None = None
    job: str | None = None
    url: str | None = None
    started_at: str | None = None  # when the pipeline started, where the CI says (ISO-8601)
    #: What was read but not kept (a CI URL that is not http/https): warnings for the log, not the verdict.
    notes: tuple[str, ...] = field(default=(), compare=False)
    #: Where `started_at` came from (a variable or an option), for messages about it; not in the verdict.
    started_at_from: str | None = field(default=None, compare=False)
    #: Where `commit` came from (`--commit` or the CI's variable), for messages about it; not in the verdict.
    commit_from: str | None = field(default=None, compare=False)

    def with_overrides(self, **overrides: str | None) -> Context:
        """Flags win over the environment; None leaves the detected value."""
        given: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
        if "started_at" in given:
            given["started_at_from"] = STARTED_AT_OPTION
        if "commit" in given:
            given["commit_from"] = COMMIT_OPTION
        return replace(self, **given)

    def as_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_IN_VERDICT}


#: The option that overrides the pipeline's start time (`check`, `pipeline`): named in messages about it.
STARTED_AT_OPTION = "--pipeline-started-at"
#: The option that names the verdict's commit (`check`, `deploy record`).
COMMIT_OPTION = "--commit"
#: Each CI's variable holding the pipeline's commit, named in messages about a value it holds.
COMMIT_VARIABLES = {"gitlab": "CI_COMMIT_SHA", "github": "GITHUB_SHA", "jenkins": "GIT_COMMIT"}
_NOT_IN_VERDICT = frozenset({"notes", "started_at_from", "commit_from"})


def http_url(value: object) -> str | None:
    """`value` if it is an absolute http(s) URL with a host and no space or control character, else None.

    The one rule for every link gatekeeper writes from data: a CI variable, a verdict uploaded by
    someone else, a report.  `javascript:`, `data:` and the like never become links.
    """
    if not isinstance(value, str) or not value.isprintable() or any(c.isspace() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def is_loopback_host(host: str | None) -> bool:
    """Whether `host` (a URL's hostname or a bind address) is this machine: `localhost` or a loopback IP.

    The one rule for "this machine" wherever plain http or an unauthenticated endpoint is allowed only
    locally: a policy URL, a store server URL, `serve --metrics-public`."""
    if host == "localhost":
        return True
    import ipaddress

    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _strip_remote(branch: str | None) -> str | None:
    """Jenkins' GIT_BRANCH is often `origin/main` (or `refs/remotes/origin/main`); the gate wants `main`."""
    for prefix in ("refs/remotes/origin/", "refs/heads/", "origin/"):
        if branch and branch.startswith(prefix):
            return branch[len(prefix) :]
    return branch


def detect_context(environ: Mapping[str, str] | None = None) -> Context:
    """The CI context from environment variables; an empty Context outside CI.

    A job URL that is not http(s) is skipped, with a note naming its variable: the URL becomes a link in
    merge-request comments and pages, and a job's environment is not always the CI's own.
    """
    notes: list[str] = []
    context = _detect(os.environ if environ is None else environ, notes)
    if context.commit is not None and context.ci is not None:
        context = replace(context, commit_from=COMMIT_VARIABLES[context.ci])
    return replace(context, notes=tuple(notes)) if notes else context


def _detect(env: Mapping[str, str], notes: list[str]) -> Context:
    def get(name: str) -> str | None:
        """A variable's value; set but empty (as CI systems often leave them) counts as unset."""
        return env.get(name) or None

    def url(*names: str) -> str | None:
        """The first of these variables holding an http(s) URL; any other value is noted and skipped."""
        for name in names:
            value = get(name)
            if value is not None and http_url(value) is None:
                notes.append(f"{name} {value[:80]!a} is not an http(s) URL: the verdict carries no link to it")
            elif value is not None:
                return value
        return None

    if get("GITLAB_CI"):
        return Context(
            ci="gitlab",
            project=get("CI_PROJECT_PATH"),
            # In a merge-request pipeline the branch under review is the source branch.
            branch=get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or get("CI_COMMIT_BRANCH") or get("CI_COMMIT_REF_NAME"),
            commit=get("CI_COMMIT_SHA"),
            pipeline=get("CI_PIPELINE_ID"),
            job=get("CI_JOB_NAME"),
            url=url("CI_JOB_URL", "CI_PIPELINE_URL"),
            started_at=get("CI_PIPELINE_CREATED_AT"),
            started_at_from="CI_PIPELINE_CREATED_AT" if get("CI_PIPELINE_CREATED_AT") else None,
        )
    if get("GITHUB_ACTIONS"):
        server = url("GITHUB_SERVER_URL") if get("GITHUB_SERVER_URL") else "https://github.com"
        repository = get("GITHUB_REPOSITORY")
        run_id = get("GITHUB_RUN_ID")
        run_url = f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}" if server and repository and run_id else ""
        return Context(
            ci="github",
            project=repository,
            # GITHUB_HEAD_REF is set only for pull requests, where GITHUB_REF_NAME is `42/merge`.
            branch=get("GITHUB_HEAD_REF") or get("GITHUB_REF_NAME") or _strip_remote(get("GITHUB_REF")),
            commit=get("GITHUB_SHA"),
            pipeline=run_id,
            job=get("GITHUB_JOB"),
            url=http_url(run_url),
        )
    if get("JENKINS_URL") or get("JENKINS_HOME") or (get("BUILD_TAG") or "").startswith("jenkins-"):
        from urllib.parse import unquote

        # A multibranch job's JOB_NAME ends in its branch or PR (org/app/main, org/app/PR-42; a '/' in the
        # branch is %2F there): the project is the job above them, so its branches share one history.
        folder, _, last = (get("JOB_NAME") or "").rpartition("/")
        multibranch = bool(folder) and get("BRANCH_NAME") is not None and unquote(last) == get("BRANCH_NAME")
        return Context(
            ci="jenkins",
            project=folder if multibranch else get("JOB_NAME"),
            # A multibranch PR build has BRANCH_NAME=PR-42 and the branch under review in CHANGE_BRANCH.
            branch=get("CHANGE_BRANCH") or get("BRANCH_NAME") or _strip_remote(get("GIT_BRANCH")),
            commit=get("GIT_COMMIT"),
            # Build numbers count per branch job: main/7 and PR-42/7 are two pipelines (parts, deployments).
            pipeline=f"{last}/{build}" if (build := get("BUILD_NUMBER") or get("BUILD_ID")) and multibranch else build,
            job=get("STAGE_NAME") or get("JOB_BASE_NAME"),
            url=url("BUILD_URL"),
        )
    return Context()


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffBase:
    """What a merge-request pipeline names as the change's base: a commit or `origin/<target branch>`.

    Raw CI values, hostile like any: `gatekeeper.diff` validates them with git before any use.
    """

    revision: str
    variable: str  # where it was read, for messages
    branch: str | None = None  # the target branch, so a clone that lacks it can fetch it


def detect_diff_base(environ: Mapping[str, str] | None = None) -> DiffBase | None:
    """The merge request's base from GitLab, GitHub Actions or Jenkins variables; None outside one.

    GitLab gives the merge-base itself; GitHub (pull-request events) and Jenkins (multibranch change
    requests) give the target branch, taken as the remote's `origin/<branch>`.
    """
    env = os.environ if environ is None else environ
    if env.get("GITLAB_CI") and env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        return DiffBase(
            revision=env["CI_MERGE_REQUEST_DIFF_BASE_SHA"],
            variable="CI_MERGE_REQUEST_DIFF_BASE_SHA",
            branch=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or None,
        )
    if env.get("GITHUB_ACTIONS") and env.get("GITHUB_BASE_REF"):
        target = env["GITHUB_BASE_REF"]
        return DiffBase(revision=f"origin/{target}", variable="GITHUB_BASE_REF", branch=target)
    if env.get("CHANGE_TARGET") and (env.get("JENKINS_URL") or env.get("JENKINS_HOME")):
        target = env["CHANGE_TARGET"]
        return DiffBase(revision=f"origin/{target}", variable="CHANGE_TARGET", branch=target)
    return None


#: A GitHub event payload larger than this is not read for its title (a pull request's is a few KiB).
MAX_EVENT_BYTES = 4 << 20
#: Characters of a merge request's title kept: a title, not a document.
MAX_TITLE_CHARS = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeTitle:
    """The merge request's title where the CI gives it, and the variable (or file) it came from."""

    title: str
    source: str


def detect_change_title(environ: Mapping[str, str] | None = None) -> tuple[ChangeTitle | None, tuple[str, ...]]:
    """The merge (pull) request's title, for the requirement keys it names, and notes on what could not be read.

    GitLab: CI_MERGE_REQUEST_TITLE; Jenkins multibranch: CHANGE_TITLE; GitHub Actions: the event payload
    at GITHUB_EVENT_PATH (`pull_request.title`), a file read only up to MAX_EVENT_BYTES: hostile JSON.
    """
    env = os.environ if environ is None else environ
    if env.get("GITLAB_CI") and env.get("CI_MERGE_REQUEST_TITLE"):
        return ChangeTitle(title=env["CI_MERGE_REQUEST_TITLE"][:MAX_TITLE_CHARS], source="CI_MERGE_REQUEST_TITLE"), ()
    if (env.get("JENKINS_URL") or env.get("JENKINS_HOME")) and env.get("CHANGE_TITLE"):
        return ChangeTitle(title=env["CHANGE_TITLE"][:MAX_TITLE_CHARS], source="CHANGE_TITLE"), ()
    path = env.get("GITHUB_EVENT_PATH")
    if not env.get("GITHUB_ACTIONS") or not path or not env.get("GITHUB_HEAD_REF"):
        return None, ()  # GITHUB_HEAD_REF: a pull-request event, whose payload has the title
    import json

    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_EVENT_BYTES + 1)
        if len(data) > MAX_EVENT_BYTES:
            return None, (f"GITHUB_EVENT_PATH {path[:200]!a} is over {MAX_EVENT_BYTES:,} bytes: its title not read",)
        payload = json.loads(data)
    except (OSError, ValueError, RecursionError) as error:
        return None, (f"GITHUB_EVENT_PATH {path[:200]!a} cannot be read as JSON ({type(error).__name__}): no title",)
    request = payload.get("pull_request") if isinstance(payload, dict) else None
    title = request.get("title") if isinstance(request, dict) else None
    if not isinstance(title, str) or not title:
        return None, ()
    return ChangeTitle(title=title[:MAX_TITLE_CHARS], source="GITHUB_EVENT_PATH pull_request.title"), ()


def parse_timestamp(value: str) -> datetime | None:
    """A CI timestamp: ISO-8601 (a trailing Z is UTC; no zone is UTC) or Unix epoch seconds/milliseconds.

    None when it is neither, and for numbers no date can hold (nan, inf, 1e400, year 3170843): a CI
    variable or option is a client's claim, and an unreadable one must not crash the gate."""
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            return None
        seconds = number / 1000 if number > 1e11 else number  # Jenkins gives milliseconds
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # beyond year 9999 (or the platform's time_t)
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


#: How far a pipeline's start may lie after this machine's clock: CI server and runner clocks differ a little.
CLOCK_SKEW_SECONDS = 300
#: A pipeline start further back than this gives no feedback time: 30 days is no pipeline's feedback
#: (epoch 1 or -5 would be a 57-year one); it is a wrong value, or an old pipeline's job retried.
MAX_PIPELINE_DAYS = 30


def pipeline_seconds(context: Context, now: datetime, notes: list[str] | None = None) -> float | None:
    """Seconds from the pipeline's start to `now`: the feedback time of this run, where the CI tells.

    A start time that cannot be read (or no date can hold), or that lies hours ahead (a local time given
    without its zone, read as UTC, east of Greenwich), is a usage error naming the option or variable:
    silently dropping or zeroing it would let the feedback gates pass or warn on a number nobody measured.
    A start over MAX_PIPELINE_DAYS before `now` is a claim no pipeline makes: the metric is left out
    (absent, as the policy's `if_absent` says) with a note in `notes`, not reported as years of feedback.
    """
    if not context.started_at:
        return None
    source = context.started_at_from or "pipeline start time"
    shown = context.started_at[:80]
    started = parse_timestamp(context.started_at)
    if started is None:
        raise UsageError(f"{source} {shown!r} is {_unreadable(context.started_at)}")
    seconds = (now - started).total_seconds()
    if seconds < -CLOCK_SKEW_SECONDS:
        ahead = -seconds / 60
        if _without_zone(context.started_at) and -seconds <= MAX_ZONE_SECONDS + CLOCK_SKEW_SECONDS:
            raise UsageError(
                f"{source} {shown!r} is {ahead:,.0f} minutes after now: give its time zone "
                "(e.g. 2026-03-15T09:00:00+08:00) or epoch milliseconds; a time without a zone is read as UTC"
            )
        later = f"{ahead:,.0f} minutes" if ahead < 2880 else f"{ahead / 1440:,.0f} days"
        raise UsageError(f"{source} {shown!r} is {later} after now: a pipeline cannot start in the future")
    if seconds > MAX_PIPELINE_DAYS * 86400:
        if notes is not None:
            notes.append(
                f"{source} {shown!r} is {seconds / 86400:,.0f} days before now (over {MAX_PIPELINE_DAYS}): "
                "not a pipeline's feedback time, pipeline.duration_seconds left out"
            )
        return None
    return max(seconds, 0.0)


#: The furthest a local time zone lies from UTC (UTC+14): a time without its zone is at most this far off.
MAX_ZONE_SECONDS = 14 * 3600


def _without_zone(text: str) -> bool:
    """Whether a readable start time is an ISO-8601 time without its zone (read as UTC): the one case where
    "after now" may be a local time, not a wrong one."""
    try:
        float(text)
    except ValueError:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).tzinfo is None
    return False  # epoch seconds or milliseconds: UTC by definition


def _unreadable(text: str) -> str:
    """Why a start time could not be read: a number no date holds, or no time format at all."""
    try:
        float(text)
    except ValueError:
        return "neither ISO-8601 nor epoch seconds or milliseconds"
    return "not a time: as epoch seconds or milliseconds it is out of range (not finite, or outside years 1 to 9999)"
