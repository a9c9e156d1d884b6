"""What a new user of parts tripped on (issue 18 review): bounds of --wait and --expect-parts, the
wording of an undecided pipeline, names outside ASCII, and the store server's refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_pipeline_cli import PIPELINE, gatekeeper, project, shard  # noqa: F401 (fixture)


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--wait", "nan", "not a number"),  # NaN passed the range check and waited forever
        ("--wait", "inf", "0<=x<=86400"),  # so did infinity ("up to inf s more")
        ("--wait", "1e400", "0<=x<=86400"),
        ("--expect-parts", "1001", "1<=x<=1000"),  # more than a store keeps: it could never be complete
        ("--expect-parts", "99999999999999999999", "1<=x<=1000"),
    ],
)
def test_waits_and_counts_that_can_never_end_are_usage_errors(
    project: Path,  # noqa: F811
    option: str,
    value: str,
    says: str,
) -> None:
    result = gatekeeper(project, "check", "-p", "gatekeeper.yaml", "--pipeline-final", *PIPELINE, option, value)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and option in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("output", "line"), [("text", "pipeline: 0 parts arrived"), ("markdown", "0 parts arrived")])
def test_a_pipeline_no_part_reached_says_none_arrived_not_merged(
    project: Path,  # noqa: F811
    output: str,
    line: str,
) -> None:
    result = gatekeeper(
        project, "check", "-p", "gatekeeper.yaml", "--pipeline-final", *PIPELINE, "--wait", "0", "--format", output
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert line in result.stdout and "merged" not in result.stdout
