"""The exit-code contract of the CLI's one error funnel: every outcome maps to its documented code."""

from __future__ import annotations

import pytest

from gatekeeper import cli
from gatekeeper.errors import InputError, PolicyError, StoreError, UsageError
from gatekeeper.status import ExitStatus


def exit_code(command: object, debug: bool = False) -> int:
    with pytest.raises(SystemExit) as raised:
        cli._run(command, debug)  # type: ignore[arg-type]
    return int(raised.value.code)


def test_a_command_status_is_the_exit_code() -> None:
    assert exit_code(lambda: ExitStatus.PASS) == 0
    assert exit_code(lambda: ExitStatus.GATE_FAILED) == 1


@pytest.mark.parametrize(
    "error",
    [
        InputError("r.xml", "malformed XML at line 1, column 2: no element found"),
        PolicyError(["p.yaml:3:5: unknown key 'mni'", "p.yaml:4:5: duplicate gate id 'a'"]),
        UsageError("no reports to read"),
        StoreError("s.db", "not a gatekeeper store"),
    ],
)
def test_errors_a_user_can_fix_exit_2_with_one_line_each(error: Exception, capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> ExitStatus:
        raise error

    assert exit_code(fail) == ExitStatus.UNDECIDED == 2
    lines = capsys.readouterr().err.splitlines()
    problems = getattr(error, "problems", [str(error)])
    assert lines == [f"gatekeeper: error: {problem}" for problem in problems]


def test_a_bug_exits_3_and_says_so_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def bug() -> ExitStatus:
        raise KeyError("oops")

    assert exit_code(bug) == ExitStatus.INTERNAL_ERROR == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "--debug" in err and "Traceback" not in err


def test_debug_lets_the_traceback_through() -> None:
    def bug() -> ExitStatus:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        cli._run(bug, True)


def test_interrupt_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> ExitStatus:
        raise KeyboardInterrupt

    assert exit_code(interrupted) == ExitStatus.INTERRUPTED == 130
    assert "interrupted" in capsys.readouterr().err
