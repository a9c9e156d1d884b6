"""Feedback time: `pipeline.duration_seconds`, from the CI's own pipeline start to the verdict.

The metric depends on "now", so every start time here is computed relative to the moment of the run,
and assertions bracket the result generously (from the offset up to ten minutes more): they tell seconds
from milliseconds and a zone from no zone, and never time how fast anything runs.  The console script
runs in a subprocess whose environment holds only the CI variables each test sets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.context import Context, detect_context, parse_timestamp, pipeline_seconds
from gatekeeper.errors import UsageError
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
JUNIT = REPO / "examples" / "passing" / "reports" / "junit.xml"
METRIC = "pipeline.duration_seconds"
SLACK = 600  # seconds a run may take, on the slowest machine, before the bracket is wrong
POLICY = """\
policy: feedback
gates:
  - id: tests-present
    metric: tests.total
    min: 1
  - id: ci-feedback-time
    criterion: integration problems are reported within 30 minutes
    metric: pipeline.duration_seconds
    max: 1800
    severity: warn
    if_absent: warn
"""
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "payments/api",
    "CI_COMMIT_BRANCH": "main",
    "CI_COMMIT_SHA": "9b8a7c6d5e4f30211a2b3c4d5e6f708192a3b4c5",
    "CI_PIPELINE_ID": "90211",
}
JENKINS = {
    "JENKINS_URL": "https://jenkins.example.com/",
    "JOB_NAME": "payments/api",
    "BUILD_NUMBER": "512",
    "GIT_BRANCH": "origin/main",
}
GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/payments-api", "GITHUB_RUN_ID": "7781234567"}


def gatekeeper(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script; the machine's own CI variables are stripped, `env` added."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS", "GATEKEEPER_", "BUILD_"))
    }
    environment.update(env or {})
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def verdict_of(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(JUNIT), "--no-store", "--format", "json", *extra, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


def ago(seconds: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(seconds=seconds)


def feedback_gate(verdict: dict[str, Any]) -> dict[str, Any]:
    return next(gate for gate in verdict["gates"] if gate["id"] == "ci-feedback-time")


# --- through the console script --------------------------------------------------------------------


def test_gitlab_gives_the_pipeline_start_by_itself(tmp_path: Path) -> None:
    created = ago(420).strftime("%Y-%m-%dT%H:%M:%SZ")  # as GitLab writes CI_PIPELINE_CREATED_AT
    verdict = verdict_of(tmp_path, env={**GITLAB, "CI_PIPELINE_CREATED_AT": created})
    assert verdict["context"]["ci"] == "gitlab"
    assert verdict["context"]["started_at"] == created
    assert 420 <= verdict["metrics"][METRIC] < 420 + SLACK
    gate = feedback_gate(verdict)
    assert gate["status"] == "pass"
    assert gate["message"].startswith("pipeline feedback time ") and gate["message"].endswith("s ≤ 1,800s")
    assert verdict["status"] == "pass"


def test_an_iso_start_with_its_zone(tmp_path: Path) -> None:
    """A local time east of Greenwich, written with its offset (as `date -Iseconds` does in Beijing)."""
    beijing = timezone(timedelta(hours=8))
    started = ago(300).astimezone(beijing).isoformat(timespec="seconds")
    assert started.endswith("+08:00")
    verdict = verdict_of(tmp_path, "--pipeline-started-at", started)
    assert verdict["context"]["ci"] is None
    assert 300 <= verdict["metrics"][METRIC] < 300 + SLACK


def test_jenkins_epoch_milliseconds(tmp_path: Path) -> None:
    """Jenkins has no start-time variable: a pipeline passes currentBuild.startTimeInMillis."""
    millis = str(int(ago(300).timestamp() * 1000))
    verdict = verdict_of(tmp_path, "--pipeline-started-at", millis, env=JENKINS)
    assert verdict["context"]["ci"] == "jenkins"
    assert verdict["context"]["started_at"] == millis
    assert 300 <= verdict["metrics"][METRIC] < 300 + SLACK


def test_without_a_start_time_the_metric_is_absent_not_zero(tmp_path: Path) -> None:
    """Outside CI (and on GitHub Actions, or Jenkins without the flag: see below) nobody says when it began."""
    verdict = verdict_of(tmp_path)
    assert METRIC not in verdict["metrics"]
    gate = feedback_gate(verdict)
    assert (gate["status"], gate["actual"]) == ("warn", None)
    assert (
        gate["message"]
        == "pipeline feedback time: no pipeline start time gives pipeline.duration_seconds (if_absent: warn)"
    )
    assert verdict["status"] == "warn"


def test_an_unreadable_start_time_is_a_usage_error(tmp_path: Path) -> None:
    """A typo must not quietly drop the metric: the feedback gates would then judge nothing."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(JUNIT), "--no-store", "--pipeline-started-at", "yesterday 9am",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "gatekeeper: error: --pipeline-started-at 'yesterday 9am' is neither ISO-8601 nor epoch seconds or milliseconds"
    )


OUT_OF_RANGE = ("99999999999999999", "nan", "inf", "-inf", "1e400", "-1e15")  # no date holds them


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_a_start_time_no_date_holds_is_a_usage_error_naming_the_option(tmp_path: Path, text: str) -> None:
    """Epoch milliseconds of year 3170843, or not a number at all: exit 2 with one line, never a crash (3)."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(JUNIT), "--no-store", f"--pipeline-started-at={text}", cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"gatekeeper: error: --pipeline-started-at {text!r} is not a time: as epoch seconds or milliseconds it is "
        "out of range (not finite, or outside years 1 to 9999)"
    )


@pytest.mark.parametrize("text", ["99999999999999999", "nan", "yesterday"])
def test_gitlabs_start_time_variable_is_named_when_unreadable(tmp_path: Path, text: str) -> None:
    """The same exit 2 as an unreadable value always had, naming the variable the job must fix."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(JUNIT), "--no-store", cwd=tmp_path,
        env={**GITLAB, "CI_PIPELINE_CREATED_AT": text},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"gatekeeper: error: CI_PIPELINE_CREATED_AT {text!r} is ")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["1", "-5", "0001-01-01T00:00:00Z"])
def test_a_start_decades_ago_leaves_the_metric_out_with_a_warning(tmp_path: Path, text: str) -> None:
    """Epoch 1 would be a 57-year feedback time: a claim, not a measurement; the gate judges it absent."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(JUNIT), "--no-store", "--format", "json", f"--pipeline-started-at={text}",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert METRIC not in verdict["metrics"]
    assert (feedback_gate(verdict)["status"], feedback_gate(verdict)["actual"]) == ("warn", None)
    assert f"gatekeeper: warning: --pipeline-started-at {text!r} is " in result.stderr
    assert "days before now (over 30): not a pipeline's feedback time, pipeline.duration_seconds left out" in (
        result.stderr
    )


# --- reading timestamps (pure) ---------------------------------------------------------------------

NOW = datetime(2026, 3, 15, 9, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-03-15T09:00:00Z", 1800),  # GitLab
        ("2026-03-15T09:00:00.123Z", 1799.877),
        ("2026-03-15T17:20:00+08:00", 600),  # Beijing local time, with its zone
        ("2026-03-15T09:25:00", 300),  # no zone: UTC
        (str(int(datetime(2026, 3, 15, 9, 20, tzinfo=timezone.utc).timestamp() * 1000)), 600),  # epoch ms
        (str(int(datetime(2026, 3, 15, 9, 20, tzinfo=timezone.utc).timestamp())), 600),  # epoch seconds
        ("2026-03-15T09:32:00Z", 0),  # two minutes ahead: clocks of CI server and runner differ a little
    ],
)
def test_pipeline_seconds(text: str, seconds: float) -> None:
    assert pipeline_seconds(Context(started_at=text), NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, ""])
def test_no_start_time_gives_no_metric(text: str | None) -> None:
    assert pipeline_seconds(Context(started_at=text), NOW) is None


@pytest.mark.parametrize("text", ["yesterday", "15/03/2026 09:00", "2026-13-40T00:00:00Z", "   "])
def test_unreadable_start_times(text: str) -> None:
    assert parse_timestamp(text) is None
    with pytest.raises(UsageError, match="is neither ISO-8601 nor epoch seconds or milliseconds"):
        pipeline_seconds(Context(started_at=text), NOW)


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_numbers_no_date_holds_are_unreadable(text: str) -> None:
    assert parse_timestamp(text) is None


def test_a_start_over_thirty_days_back_gives_no_metric_and_a_note() -> None:
    notes: list[str] = []
    thirty_days = Context(started_at=(NOW - timedelta(days=30)).isoformat())
    assert pipeline_seconds(thirty_days, NOW, notes) == 30 * 86400  # a long one, still measured
    assert pipeline_seconds(Context(started_at="1"), NOW, notes) is None
    assert notes == [
        "pipeline start time '1' is 20,527 days before now (over 30): not a pipeline's feedback time, "
        "pipeline.duration_seconds left out"
    ]


def test_a_local_time_without_its_zone_far_ahead_is_refused() -> None:
    """17:20 Beijing time written without +08:00 reads as 17:20 UTC, eight hours ahead: clamping it to 0 s
    would pass every feedback gate; it is refused, saying how to fix it."""
    with pytest.raises(UsageError) as raised:
        pipeline_seconds(Context(started_at="2026-03-15T17:20:00"), NOW)
    assert str(raised.value) == (
        "pipeline start time '2026-03-15T17:20:00' is 470 minutes after now: give its time zone "
        "(e.g. 2026-03-15T09:00:00+08:00) or epoch milliseconds; a time without a zone is read as UTC"
    )


def test_gitlab_is_the_only_ci_whose_environment_gives_a_start() -> None:
    created = "2026-03-15T09:00:00Z"
    gitlab = detect_context({**GITLAB, "CI_PIPELINE_CREATED_AT": created})
    assert gitlab.started_at == created
    assert detect_context({**GITLAB, "CI_PIPELINE_CREATED_AT": ""}).started_at is None
    assert detect_context(JENKINS).started_at is None
    assert detect_context(GITHUB).started_at is None
    # --pipeline-started-at wins (a pipeline that retries the gate job may give the first attempt's start).
    assert gitlab.with_overrides(started_at="1773565200000").started_at == "1773565200000"
    assert gitlab.with_overrides(started_at=None).started_at == created


@pytest.mark.parametrize(
    ("text", "ahead"),
    [
        ("2026-03-15T17:20:00Z", "470 minutes"),  # its zone given: not a local time, a wrong one
        ("2026-03-20T09:30:00", "5 days"),  # no zone, but further ahead than any zone lies from UTC
        (str(int(datetime(2026, 3, 15, 17, 20, tzinfo=timezone.utc).timestamp() * 1000)), "470 minutes"),
    ],
)
def test_a_start_in_the_future_says_so_where_no_zone_explains_it(text: str, ahead: str) -> None:
    with pytest.raises(UsageError) as raised:
        pipeline_seconds(Context(started_at=text, started_at_from="--pipeline-started-at"), NOW)
    assert str(raised.value) == (
        f"--pipeline-started-at {text!r} is {ahead} after now: a pipeline cannot start in the future"
    )


def test_the_last_second_of_year_9999_is_refused_as_in_the_future(tmp_path: Path) -> None:
    """Z is its zone: the message must not ask for one."""
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    text = "9999-12-31T23:59:59Z"
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(JUNIT), "--no-store", f"--pipeline-started-at={text}", cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"gatekeeper: error: --pipeline-started-at {text!r} is ")
    assert result.stderr.endswith(" days after now: a pipeline cannot start in the future\n")
    assert len(result.stderr.splitlines()) == 1
