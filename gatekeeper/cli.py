"""The command line: parse options, call a command function, exit with its status. Nothing else.

Commands and their dependencies are imported when invoked, so `gatekeeper --version` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import click

from gatekeeper import __version__
from gatekeeper.status import ExitStatus


def _run(command: Callable[[], ExitStatus], debug: bool) -> NoReturn:
    """The one place that turns outcomes and exceptions into messages and exit codes."""
    from gatekeeper.errors import GatekeeperError

    try:
        status = command()
    except GatekeeperError as error:
        click.echo(f"gatekeeper: error: {error}", err=True)
        if debug:
            raise
        sys.exit(error.status)
    except KeyboardInterrupt:
        click.echo("gatekeeper: interrupted", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except Exception as error:
        if debug:
            raise
        click.echo(
            f"gatekeeper: internal error (a bug, please report it): {type(error).__name__}: {error}; "
            "run again with --debug for the traceback",
            err=True,
        )
        sys.exit(ExitStatus.INTERNAL_ERROR)
    sys.exit(status)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gatekeeper")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors (for bug reports).")
@click.pass_context
def main(context: click.Context, debug: bool) -> None:
    """A quality gate for CI: reads test, coverage and security reports and decides pass/warn/fail."""
    context.obj = {"debug": debug}


@main.command()
@click.argument("reports", nargs=-1, required=True, metavar="[FORMAT:]PATH...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Readable table, or JSON for scripts.",
)
@click.pass_context
def metrics(context: click.Context, reports: tuple[str, ...], output_format: str) -> None:
    """Print the metrics the gate would see in REPORTS.

    REPORTS are files, directories (walked) or globs ('**/TEST-*.xml'); formats are recognised by
    content. Prefix FORMAT: to force one (junit, cobertura, jacoco, clover, lcov, coverprofile,
    coverage-json, coverage-data, sarif, bandit, semgrep, gitlab-security, gitleaks).
    """
    from gatekeeper.commands import metrics as command

    _run(lambda: command.run(reports, output_format, sys.stdout), context.obj["debug"])
