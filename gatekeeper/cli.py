"""The command line: parse options, call a command function, exit with its status. Nothing else.

Commands and their dependencies are imported when invoked, so `gatekeeper --version` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

import click

from gatekeeper import __version__
from gatekeeper.model import Decision
from gatekeeper.outputs import RENDERERS
from gatekeeper.status import ExitStatus

if TYPE_CHECKING:
    from gatekeeper.commands.check import CheckOptions


def _run(command: Callable[[], ExitStatus], debug: bool) -> NoReturn:
    """The one place that turns outcomes and exceptions into messages and exit codes."""
    from gatekeeper.errors import GatekeeperError, one_line

    try:
        status = command()
    except GatekeeperError as error:
        for problem in getattr(error, "problems", None) or [str(error)]:
            click.echo(f"gatekeeper: error: {one_line(problem)}", err=True)
        if debug:
            raise
        sys.exit(error.status)
    except KeyboardInterrupt:
        click.echo("gatekeeper: interrupted", err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`… | head`): exit as a process killed by SIGPIPE would (128 + 13), never 0,
        # so `set -o pipefail` still sees that the output was cut; silence the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + 13)
    except Exception as error:
        if debug:
            raise
        click.echo(
            f"gatekeeper: internal error (a bug, please report it): {type(error).__name__}: "
            f"{one_line(str(error))}; "
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


def _warn_exit_code(value: int | None) -> int | None:
    """A warning's own code must not read as another outcome: 3 would look like a crash, 1 like a failure."""
    if value is not None and value != ExitStatus.PASS and value in set(ExitStatus):
        meaning = ExitStatus(value).name.lower().replace("_", " ")
        raise click.BadParameter(f"{value} already means '{meaning}'; give a code of its own, such as 10")
    return value


def _finite_wait(value: float) -> float:
    """`--wait nan` passes FloatRange (NaN compares false with both bounds) and would wait forever."""
    if value != value:
        raise click.BadParameter("not a number: give seconds from 0 to 86400", param_hint="'--wait'")
    return value


def _output_pair(value: str) -> tuple[str, str]:
    output_format, sep, path = value.partition("=")
    if not sep or output_format not in RENDERERS or not path:
        raise click.BadParameter(f"expected FORMAT=PATH with FORMAT one of {', '.join(RENDERERS)}: {value!r}")
    return output_format, path


@main.command()
@click.option(
    "--policy",
    "-p",
    "policy",
    required=True,
    envvar="GATEKEEPER_POLICY",
    metavar="FILE",
    help="Policy YAML (env GATEKEEPER_POLICY).",
)
@click.argument("reports", nargs=-1, metavar="[[FORMAT:]PATH...]")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(RENDERERS)),
    default="text",
    show_default=True,
    help="What to print on standard output.",
)
@click.option(
    "--output",
    "-o",
    "outputs",
    multiple=True,
    metavar="FMT=PATH",
    help=f"Also write FMT ({', '.join(RENDERERS)}) to PATH; repeatable.",
)
@click.option(
    "--warn-exit-code",
    type=click.IntRange(0, 255),
    default=None,
    metavar="N",
    callback=lambda _context, _param, value: _warn_exit_code(value),
    help="Exit with N when the verdict is warn (e.g. 10, for Jenkins UNSTABLE); default 0. "
    "Not a code that already means something (1-4, 130).",
)
@click.option("--project", default=None, help="Override the project detected from the CI environment.")
@click.option("--branch", default=None, help="Override the branch detected from the CI environment.")
@click.option("--commit", default=None, help="Override the commit detected from the CI environment.")
@click.option("--pipeline", default=None, help="Override the pipeline id detected from the CI environment.")
@click.option(
    "--pipeline-started-at",
    default=None,
    metavar="TIME",
    help="When the pipeline started (ISO-8601 or epoch ms, e.g. Jenkins' currentBuild.startTimeInMillis); "
    "gives pipeline.duration_seconds. GitLab's CI_PIPELINE_CREATED_AT is read by itself.",
)
@click.option(
    "--baseline",
    "baseline",
    default=None,
    metavar="VERDICT.json",
    help="Verdict file ratchets compare with [default: the project's latest verdict on the policy's "
    "reference branch in the store].",
)
@click.option(
    "--diff-base",
    default=None,
    metavar="REF",
    help="Judge the change from the merge-base of REF and HEAD (new-code metrics) [default: the merge request's "
    "base from GitLab, GitHub Actions or Jenkins, else none]. A shallow clone is deepened as needed.",
)
@click.option(
    "--diff-file",
    default=None,
    metavar="PATH",
    help="Judge the change this unified diff describes (e.g. `git diff BASE...HEAD > PATH`) instead.",
)
@click.option(
    "--diff-ignore-whitespace", is_flag=True, help="Lines whose change is only whitespace are not changed lines."
)
@click.option(
    "--diff-no-renames",
    is_flag=True,
    help="Count a renamed file's lines as all new (rename and copy detection off), as a diff without -M does.",
)
@click.option(
    "--store",
    "store",
    default=None,
    envvar="GATEKEEPER_STORE",
    metavar="PATH",
    help="Embedded verdict store (SQLite) [env GATEKEEPER_STORE; default .gatekeeper/verdicts.db].",
)
@click.option("--no-store", is_flag=True, help="Do not record the verdict.")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    hidden=True,
    help="Evaluate waiver expiry as of this date (reproducible runs).",
)
@click.option(
    "--upload",
    "upload",
    default=None,
    envvar="GATEKEEPER_URL",
    metavar="URL",
    help="Upload the verdict to this store server (env GATEKEEPER_URL; token from env GATEKEEPER_TOKEN); "
    "undelivered verdicts are spooled and sent by the next run.",
)
@click.option(
    "--push",
    "push",
    default=None,
    envvar="GATEKEEPER_PUSHGATEWAY",
    metavar="URL",
    help="Push the verdict's metrics to this Prometheus Pushgateway (env GATEKEEPER_PUSHGATEWAY).",
)
@click.option(
    "--require-upload",
    is_flag=True,
    help="Exit 4 if --upload or --push failed (a failed gate still exits 1, an undecided one 2).",
)
@click.option(
    "--upload-timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Time budget for the upload (and the push), retries included.",
)
@click.option(
    "--part",
    "part",
    default=None,
    metavar="NAME",
    help="Record the reports as this part of the pipeline (in the store, or on the server with --upload) and "
    "decide nothing; `--pipeline-final` decides on every part. In a GitLab `parallel:` job NAME gets the "
    "job's index: 'NAME 2/3'.",
)
@click.option(
    "--pipeline-final",
    is_flag=True,
    help="Decide once on every part of the pipeline (recorded by `check --part`), waiting for the missing ones; "
    "parts still missing after --wait leave the gate undecided (exit 2).",
)
@click.option(
    "--expect-parts",
    type=click.IntRange(min=1, max=1000),  # a store keeps at most 1000 part attempts of a pipeline
    default=None,
    envvar="GATEKEEPER_EXPECT_PARTS",
    metavar="N",
    help="How many parts --pipeline-final waits for (env GATEKEEPER_EXPECT_PARTS) [default: what parts named "
    "'NAME i/N' call for].",
)
@click.option(
    "--wait",
    "wait",
    type=click.FloatRange(min=0, max=86400),
    callback=lambda _context, _param, value: _finite_wait(value),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="How long --pipeline-final waits for missing parts.",
)
@click.pass_context
def check(
    context: click.Context,
    policy: str,
    reports: tuple[str, ...],
    output_format: str,
    outputs: tuple[str, ...],
    warn_exit_code: int | None,
    project: str | None,
    branch: str | None,
    commit: str | None,
    pipeline: str | None,
    pipeline_started_at: str | None,
    baseline: str | None,
    store: str | None,
    no_store: bool,
    today: object,
    upload: str | None = None,
    push: str | None = None,
    require_upload: bool = False,
    upload_timeout: float = 60.0,
    diff_base: str | None = None,
    diff_file: str | None = None,
    diff_ignore_whitespace: bool = False,
    diff_no_renames: bool = False,
    part: str | None = None,
    pipeline_final: bool = False,
    expect_parts: int | None = None,
    wait: float = 300.0,
    undecided: Exception | None = None,  # not an option: `scan` passes a scanner's crash here
) -> None:
    """Check REPORTS against the gates of a policy and decide pass, warn or fail.

    REPORTS default to the policy's `reports:` list. Exit codes: 0 pass (and warn unless
    --warn-exit-code), 1 a blocking gate failed, 2 could not decide (bad input, policy or usage),
    3 internal error, 4 the upload failed and --require-upload was given.

    Parallel jobs: each job's `check --part NAME` records its reports as one part of the pipeline (exit 0,
    2 on a bad report, 4 when the store cannot take it); a last job's `check --pipeline-final` merges every
    part and decides once, exiting 2 (undecided) when parts are still missing after --wait.
    """
    from datetime import datetime

    from gatekeeper.commands.check import CheckOptions, run
    from gatekeeper.diff.load import ChangeRequest
    from gatekeeper.errors import InputError

    if no_store:
        store_path = None
    else:
        from gatekeeper.store import default_store_path

        store_path = str(store or default_store_path())
    options = CheckOptions(
        policy=policy,
        reports=reports,
        output_format=output_format,
        outputs=[_output_pair(value) for value in outputs],
        warn_exit_code=warn_exit_code,
        overrides={
            "project": project,
            "branch": branch,
            "commit": commit,
            "pipeline": pipeline,
            "started_at": pipeline_started_at,
        },
        baseline=baseline,
        store=store_path,
        today=today.date() if isinstance(today, datetime) else None,
        color=sys.stdout.isatty(),
        upload=upload or None,
        push=push or None,
        require_upload=require_upload,
        upload_timeout=upload_timeout,
        undecided=undecided if isinstance(undecided, InputError) else None,
        change=ChangeRequest(
            diff_base=diff_base,
            diff_file=diff_file,
            renames=not diff_no_renames,
            ignore_whitespace=diff_ignore_whitespace,
        ),
        pipeline_final=pipeline_final,
        expect_parts=expect_parts,
        wait_seconds=wait,
    )
    if part is not None:  # one job's part of the pipeline: recorded, not decided
        from click.core import ParameterSource

        final_only = [
            f"--{name.replace('_', '-')}"
            for name in ("expect_parts", "wait")
            if context.get_parameter_source(name) is ParameterSource.COMMANDLINE
        ]
        _run(lambda: _record_part(part, options, final_only), context.obj["debug"])
    _run(lambda: run(options, sys.stdout), context.obj["debug"])


def _record_part(part: str, options: CheckOptions, final_only: Sequence[str] = ()) -> ExitStatus:
    """`check --part`: the options that mean something for a part go on; those that do not are refused
    (`final_only`: the final job's options given on the command line; GATEKEEPER_EXPECT_PARTS may be set
    for every job)."""
    from gatekeeper.commands.pipeline import PartOptions, record
    from gatekeeper.errors import UsageError

    if options.pipeline_final:
        raise UsageError("--part records one job's part and --pipeline-final decides on all of them: give one")
    if final_only:
        verb = "is" if len(final_only) == 1 else "are"
        raise UsageError(f"{' and '.join(final_only)} {verb} for the --pipeline-final job: a part waits for nothing")
    if options.outputs:
        raise UsageError("--output writes a verdict, and a part is none: the --pipeline-final job writes it")
    if options.change.diff_base or options.change.diff_file:
        raise UsageError("--diff-base and --diff-file judge a change: give them to the --pipeline-final job")
    given = PartOptions(
        part=part,
        policy=options.policy,
        reports=options.reports,
        overrides=options.overrides,
        store=options.store,
        upload=options.upload,
        upload_timeout=options.upload_timeout,
        undecided=options.undecided,
    )
    return record(given, sys.stdout)


# scan: bandit + semgrep, then exactly `check`, with every option it has
@main.command(
    params=[
        click.Argument(["path"], default=".", required=False, metavar="[PATH]"),
        click.Argument(["reports"], nargs=-1, metavar="[[FORMAT:]REPORT...]"),
        click.Option(
            ["--policy", "-p", "policy"],
            default=None,
            envvar="GATEKEEPER_POLICY",
            metavar="FILE",
            help="Policy YAML (env GATEKEEPER_POLICY) [default: the bundled security-only policy: "
            "no critical/high findings, more than 5 medium warn].",
        ),
        click.Option(
            ["--reports-dir"],
            default=".gatekeeper/scan",
            show_default=True,
            metavar="DIR",
            help="Where bandit.json and semgrep.json are written.",
        ),
        click.Option(
            ["--semgrep-rules"],
            default=None,
            metavar="FILE",
            help="semgrep rules to run instead of the bundled offline Python security rules.",
        ),
        # check's own options (its REPORTS and required --policy aside), so scan passes them on unchanged
        *[param for param in check.params if param.name not in ("reports", "policy")],
    ]
)
@click.pass_context
def scan(
    context: click.Context,
    /,
    path: str,
    reports: tuple[str, ...],
    policy: str | None,
    reports_dir: str,
    semgrep_rules: str | None,
    **check_options: object,
) -> None:
    """Scan PATH (default .) with bandit and semgrep, then check their reports (and any REPORTs given, else
    the policy's `reports:`) against the policy, exactly as `check` does, with the same options and exit codes.

    semgrep runs offline with bundled rules; it is found via env GATEKEEPER_SEMGREP, PATH or a sibling
    .venv-semgrep. Without it, bandit runs alone (a warning says so). A scanner that crashes exits 2.
    """
    from gatekeeper.commands.scan import ScanOptions, prepare

    options = ScanOptions(
        source=path, reports_dir=reports_dir, policy=policy, reports=reports, semgrep_rules=semgrep_rules
    )

    def scan_then_check() -> ExitStatus:
        prepared = prepare(options, sys.stderr)
        context.invoke(
            check, policy=prepared.policy, reports=prepared.reports, undecided=prepared.crash, **check_options
        )
        return ExitStatus.INTERNAL_ERROR  # not reached: check exits with the verdict's own status

    _run(scan_then_check, context.obj["debug"])


@main.command()
@click.argument("directory", default=".", required=False, metavar="[DIR]")
@click.option(
    "--ci",
    type=click.Choice(["github", "gitlab", "jenkins"]),
    default=None,
    help="The CI to write the snippet for [default: detected from .github/, .gitlab-ci.yml, Jenkinsfile].",
)
@click.option(
    "--level",
    type=click.IntRange(1, 5),
    default=None,
    metavar="N",
    help="Extend the CAICT DevOps CD level-N pack instead of copying the starter policy.",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist (never without it).")
@click.option("--parts", is_flag=True, help="Tests split over parallel jobs: each records a part, one job decides.")
@click.option("--deploy", is_flag=True, help="Also record each deployment, for the four delivery keys.")
@click.pass_context
def init(
    context: click.Context, directory: str, ci: str | None, level: int | None, force: bool, parts: bool, deploy: bool
) -> None:
    """Write a starter policy (gatekeeper.yaml) and the gate's snippet for your CI into the repository DIR
    (default .), then print what to do next. Existing files are never overwritten without --force (exit 2).
    """
    from gatekeeper.commands.init import Ci, InitOptions, run

    options = InitOptions(
        directory=directory, ci=Ci(ci) if ci else None, level=level, force=force, parts=parts, deploy=deploy
    )
    _run(lambda: run(options, sys.stdout), context.obj["debug"])


_store_option = click.option(
    "--store",
    "store",
    default=None,
    envvar="GATEKEEPER_STORE",
    show_envvar=True,
    metavar="PATH",
    help="Verdict store file [default: .gatekeeper/verdicts.db in the current directory].",
)


_server_option = click.option(
    "--server",
    "server",
    default=None,
    envvar="GATEKEEPER_URL",
    show_envvar=True,
    metavar="URL",
    help="Read from this store server instead (token from env GATEKEEPER_TOKEN); --store on the command line wins.",
)


def _verdict_source(context: click.Context, store: str | None, server: str | None) -> tuple[str | None, str | None]:
    """(store, server), one of them: what the command line says beats the environment; both there is an error."""
    from click.core import ParameterSource

    given = {name for name in ("store", "server") if context.get_parameter_source(name) is ParameterSource.COMMANDLINE}
    if given == {"store", "server"}:
        raise click.UsageError("give --store or --server, not both")
    if "store" in given or not server:
        return store, None
    return None, server


@main.group()
def verdicts() -> None:
    """Read back the verdicts `check` recorded."""


@verdicts.command("list")
@_store_option
@_server_option
@click.option("--project", default=None, help="Only this project.")
@click.option("--branch", default=None, help="Only this branch.")
@click.option("--status", type=click.Choice([decision.value for decision in Decision]), default=None)
@click.option(
    "--since",
    default=None,
    metavar="AGE|DATE",
    help="Created at or after this: an age (30d, 12h, 2w) or an ISO-8601 date/time (UTC if no zone), as in `report`.",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def verdicts_list(
    context: click.Context,
    store: str | None,
    project: str | None,
    branch: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    output_format: str,
    server: str | None = None,
) -> None:
    """Recorded verdicts, newest first by when the store recorded them (RECORDED; CREATED is the verdict's own
    claim)."""
    from gatekeeper.commands.verdicts import list_verdicts

    store, server = _verdict_source(context, store, server)
    _run(
        lambda: list_verdicts(
            store, project, branch, status, limit, output_format, sys.stdout, since=since, server=server
        ),
        context.obj["debug"],
    )


@verdicts.command("show")
@click.argument("verdict_id", metavar="ID|PREFIX|latest", default="latest")
@_store_option
@_server_option
@click.option("--project", default=None, help="With 'latest': the latest of this project.")
@click.option("--branch", default=None, help="With 'latest': the latest on this branch.")
@click.option("--format", "output_format", type=click.Choice(list(RENDERERS)), default="text", show_default=True)
@click.pass_context
def verdicts_show(
    context: click.Context,
    verdict_id: str,
    store: str | None,
    project: str | None,
    branch: str | None,
    output_format: str,
    server: str | None = None,
) -> None:
    """One recorded verdict, by id, unique id prefix (6+ characters) or 'latest'."""
    from gatekeeper.commands.verdicts import show_verdict

    store, server = _verdict_source(context, store, server)
    _run(
        lambda: show_verdict(
            store, verdict_id, output_format, sys.stdout, project=project, branch=branch, server=server
        ),
        context.obj["debug"],
    )


@main.group()
def release() -> None:
    """Define releases (named sets of project commits or pipelines) and check whether one may ship."""


@release.command("define")
@click.argument("file", metavar="FILE")
@_store_option
@_server_option
@click.pass_context
def release_define(context: click.Context, file: str, store: str | None, server: str | None) -> None:
    """Store the release FILE describes (YAML or JSON: name, level, members), replacing one of that name.

    On a store server this needs an admin token (env GATEKEEPER_TOKEN).
    """
    from gatekeeper.commands.release import define

    store, server = _verdict_source(context, store, server)
    _run(lambda: define(file, store, server, sys.stdout), context.obj["debug"])


@release.command("check")
@click.option("--release", "name", default=None, metavar="NAME", help="A release defined with `release define`.")
@click.option("--file", "file", default=None, metavar="FILE", help="Or a release file, checked without storing it.")
@_store_option
@_server_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def release_check(
    context: click.Context,
    name: str | None,
    file: str | None,
    store: str | None,
    server: str | None,
    output_format: str,
) -> None:
    """Whether every member of a release has a clear latest verdict (pass or warn, under the required policy
    level).  Exit 0 ready, 1 blocked (each member's state and what blocks it is printed), 2 could not decide.
    """
    from gatekeeper.commands.release import check as command

    if (name is None) == (file is None):
        raise click.UsageError("give --release NAME or --file FILE (one of them)")
    store, server = _verdict_source(context, store, server)
    _run(lambda: command(name, file, store, server, output_format, sys.stdout), context.obj["debug"])


@main.group()
def rules() -> None:
    """Validate, show and list policies (rules)."""


@rules.command("validate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    hidden=True,
    help="Judge waiver expiry as of this date (reproducible runs).",
)
@click.pass_context
def rules_validate(context: click.Context, files: tuple[str, ...], today: object) -> None:
    """Check policy FILEs: schema, then what a schema cannot say (unknown metrics, duplicate ids, gates whose
    `when` matches no branch, expired waivers, impossible thresholds, locked gates overridden).

    Every problem is printed as file:line:column: problem; exit 2 if there is any, else 0.
    """
    from datetime import date, datetime

    from gatekeeper.commands.rules import validate

    day = today.date() if isinstance(today, datetime) else date.today()
    _run(lambda: validate(files, day, sys.stdout), context.obj["debug"])


@rules.command("show")
@click.argument("file", metavar="FILE")
@click.option("--branch", default=None, help="Only the gates that apply on this branch.")
@click.pass_context
def rules_show(context: click.Context, file: str, branch: str | None) -> None:
    """Print the effective policy of FILE after `extends`, as YAML that loads as a policy itself."""
    from gatekeeper.commands.rules import show

    _run(lambda: show(file, branch, sys.stdout), context.obj["debug"])


@rules.command("list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def rules_list(context: click.Context, output_format: str) -> None:
    """The bundled policy packs, by the name `extends:` takes."""
    from gatekeeper.commands.rules import list_packs

    _run(lambda: list_packs(output_format, sys.stdout), context.obj["debug"])


@main.command()
@click.argument("verdict", metavar="VERDICT.json|-|ID", default=None, required=False)
@click.option(
    "--store",
    "store",
    default=None,
    metavar="PATH",
    help="Read the verdict from this store: VERDICT is then an id, a unique prefix or 'latest' (default).",
)
@click.option(
    "--policy",
    "-p",
    "policy",
    default=None,
    metavar="FILE",
    help="The policy the verdict was decided by [default: the file it names, if the digest matches].",
)
@click.option("--format", "output_format", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
@click.pass_context
def explain(
    context: click.Context, verdict: str | None, store: str | None, policy: str | None, output_format: str
) -> None:
    """Explain a verdict: why each gate passed, failed, warned or was skipped, what would change it, and what
    holds the next maturity level back.  VERDICT.json is a file `check --format json` wrote, or - for stdin.
    """
    from gatekeeper.commands.explain import run

    if verdict is None and store is None:
        raise click.UsageError("name a verdict file (or - for standard input), or give --store")
    source = verdict if verdict is not None else "latest"
    _run(lambda: run(source, sys.stdout, output_format=output_format, store=store, policy=policy), context.obj["debug"])


@main.command()
@click.option("--project", required=True, help="The project to report on.")
@click.option(
    "--branch",
    default=None,
    help="Only this branch [default: the default branch: main or master, else the one with most verdicts].",
)
@click.option(
    "--since",
    default="30d",
    show_default=True,
    metavar="AGE|DATE",
    help="The period: an age (30d, 12h, 2w) or an ISO-8601 date/time (UTC if no zone).",
)
@click.option("--format", "output_format", type=click.Choice(["html", "markdown"]), default="html", show_default=True)
@click.option(
    "--output",
    "-o",
    "output",
    default=None,
    metavar="FILE",
    help="Write to FILE (markdown: the charts go next to it as SVG files) [default: standard output].",
)
@_store_option
@_server_option
@click.pass_context
def report(
    context: click.Context,
    project: str,
    branch: str | None,
    since: str,
    output_format: str,
    output: str | None,
    store: str | None,
    server: str | None,
) -> None:
    """A static report of a project's verdicts over a period: trend charts (tests, coverage, findings) and
    the verdict list, as HTML or markdown, from the embedded store or a store server."""
    from gatekeeper.commands.report import ReportOptions, run

    store, server = _verdict_source(context, store, server)
    options = ReportOptions(
        project=project,
        branch=branch,
        since=since,
        output_format=output_format,
        output=output,
        store=store,
        server=server,
    )
    _run(lambda: run(options, sys.stdout), context.obj["debug"])


def _database_option(function: Callable[..., None]) -> Callable[..., None]:
    """`--db URL`, shared by `serve` and `tokens` so both talk to the same database."""
    return click.option(
        "--db",
        "database_url",
        default=None,
        envvar="GATEKEEPER_DATABASE_URL",
        show_envvar=True,
        metavar="URL",
        help="Server database: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
        "[default: sqlite:///.gatekeeper/server.db].",
    )(function)


def _database_url(value: str | None) -> str:
    from gatekeeper.server import DEFAULT_DATABASE_URL

    return value or DEFAULT_DATABASE_URL


@main.command()
@_database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=1024 * 1024,
    show_default=True,
    metavar="BYTES",
    help="Refuse request bodies larger than this (413).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes (each with its own database pool); more than 1 uses more cores.",
)
@click.option(
    "--token-cache-seconds",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="Reuse a successful token check this long (0: never); a revocation takes up to this long.",
)
@click.option(
    "--token-failures",
    type=click.IntRange(min=0),
    default=60,
    show_default=True,
    metavar="N",
    help="Wrong tokens one client (IP address) may present within --token-failure-window; then 429 (0: no limit).",
)
@click.option(
    "--token-failure-window",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="The window over which wrong tokens are counted; a refused client waits until the oldest is this old.",
)
@click.option(
    "--metrics-public",
    is_flag=True,
    help="Serve /metrics without a token; only with a loopback --host [default: a read token, as a bearer].",
)
@click.option(
    "--metrics-branch",
    "metrics_branches",
    multiple=True,
    metavar="BRANCH",
    help="Branches whose latest metric values /metrics shows; repeatable [default: main, master].",
)
@click.option(
    "--metrics-projects",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    metavar="N",
    help='Projects with /metrics labels of their own (the first seen); the rest count as project="_other".',
)
@click.pass_context
def serve(
    context: click.Context,
    database_url: str | None,
    host: str,
    port: int,
    max_body: int,
    workers: int,
    token_cache_seconds: float,
    token_failures: int,
    token_failure_window: float,
    metrics_public: bool,
    metrics_branches: tuple[str, ...],
    metrics_projects: int,
) -> None:
    """Run the store server: verdict upload and query API (/api/v1), /metrics, /healthz, /readyz.

    Needs the optional extra gatekeeper[server]. Stops on SIGTERM after finishing requests in flight.
    """
    from gatekeeper.commands.serve import ServeOptions, run

    options = ServeOptions(
        database_url=_database_url(database_url),
        host=host,
        port=port,
        max_body=max_body,
        workers=workers,
        token_cache_seconds=token_cache_seconds,
        token_failures=token_failures,
        token_failure_window=token_failure_window,
        metrics_public=metrics_public,
        metrics_projects=metrics_projects,
        **({"metrics_branches": metrics_branches} if metrics_branches else {}),
    )
    _run(lambda: run(options), context.obj["debug"])


@main.group()
def tokens() -> None:
    """Create, list and revoke the store server's API tokens."""


@tokens.command("create")
@click.option(
    "--scope",
    type=click.Choice(["upload", "read", "admin"]),
    required=True,
    help="upload: PUT verdicts (of --project patterns); read: queries; admin: everything.",
)
@click.option(
    "--project",
    "projects",
    multiple=True,
    metavar="PATTERN",
    help="Upload tokens: projects it may write, as globs (bank/*); repeatable [default: any].",
)
@click.option("--expires", default=None, metavar="DATE", help="Refused from this UTC date or ISO-8601 time on.")
@_database_option
@click.pass_context
def tokens_create(
    context: click.Context, scope: str, projects: tuple[str, ...], expires: str | None, database_url: str | None
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from gatekeeper.commands.tokens import create

    _run(lambda: create(_database_url(database_url), scope, projects, expires, sys.stdout), context.obj["debug"])


@tokens.command("list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_database_option
@click.pass_context
def tokens_list(context: click.Context, output_format: str, database_url: str | None) -> None:
    """Every token: id, scope, state, expiry, projects (never the secret)."""
    from gatekeeper.commands.tokens import list_tokens

    _run(lambda: list_tokens(_database_url(database_url), output_format, sys.stdout), context.obj["debug"])


@tokens.command("revoke")
@click.argument("token_id", metavar="ID")
@_database_option
@click.pass_context
def tokens_revoke(context: click.Context, token_id: str, database_url: str | None) -> None:
    """Revoke the token with this ID (the part after gk_, as `tokens list` shows)."""
    from gatekeeper.commands.tokens import revoke

    _run(lambda: revoke(_database_url(database_url), token_id, sys.stdout), context.obj["debug"])


_url_option = click.option(
    "--url",
    "url",
    default=None,
    envvar="GATEKEEPER_URL",
    show_envvar=True,
    metavar="URL",
    help="Store server base URL (the bearer token comes from env GATEKEEPER_TOKEN only, never a flag).",
)
_spool_option = click.option(
    "--spool",
    "spool_dir",
    default=None,
    envvar="GATEKEEPER_SPOOL",
    show_envvar=True,
    metavar="DIR",
    help="Spool directory of undelivered verdicts [default: .gatekeeper/spool].",
)
_timeout_option = click.option(
    "--timeout",
    "timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Time budget for all deliveries, retries included.",
)


@main.command()
@click.argument("files", nargs=-1, required=True, metavar="VERDICT.json...")
@_url_option
@_spool_option
@_timeout_option
@click.pass_context
def upload(
    context: click.Context, files: tuple[str, ...], url: str | None, spool_dir: str | None, timeout: float
) -> None:
    """Upload verdict files to the store server, after the verdicts still waiting in the spool.

    A verdict that cannot be delivered now is spooled for the next run; one the server refuses for
    good (any 4xx but 408/429) is kept in the spool's rejected/ folder. Exit 0 if everything was
    delivered, 4 if anything was spooled or rejected, 2 for unreadable files or a bad URL.
    """
    from gatekeeper.commands.upload import upload as command

    _run(lambda: command(files, url, spool_dir, timeout, sys.stdout, sys.stderr), context.obj["debug"])


@main.group()
def spool() -> None:
    """Verdicts waiting to be uploaded to the store server."""


@spool.command("flush")
@_url_option
@_spool_option
@_timeout_option
@click.pass_context
def spool_flush(context: click.Context, url: str | None, spool_dir: str | None, timeout: float) -> None:
    """Deliver spooled verdicts, oldest first; exit 0 if all were delivered, 4 otherwise."""
    from gatekeeper.commands.upload import spool_flush as command

    _run(lambda: command(url, spool_dir, timeout, sys.stdout, sys.stderr), context.obj["debug"])


@spool.command("list")
@_spool_option
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def spool_list(context: click.Context, spool_dir: str | None, output_format: str) -> None:
    """Verdicts waiting in the spool, and rejected ones with the server's reason."""
    from gatekeeper.commands.upload import spool_list as command

    _run(lambda: command(spool_dir, output_format, sys.stdout), context.obj["debug"])


# -- deployments and incidents (issue 19) ----------------------------------------------------------------

_delivery_store_option = click.option(
    "--store",
    "store",
    default=None,
    envvar="GATEKEEPER_STORE",
    metavar="PATH",
    help="Embedded store (SQLite) [env GATEKEEPER_STORE; default .gatekeeper/verdicts.db].",
)
_delivery_upload_option = click.option(
    "--upload",
    "upload",
    default=None,
    envvar="GATEKEEPER_URL",
    metavar="URL",
    help="Record on this store server instead (env GATEKEEPER_URL; an upload token in env GATEKEEPER_TOKEN).",
)
_delivery_project_option = click.option(
    "--project", default=None, help="The project [default: detected from the CI environment]."
)
_delivery_environment_option = click.option(
    "--environment",
    default=None,
    metavar="NAME",
    help="Where it was deployed, e.g. prod [default: GitLab's CI_ENVIRONMENT_NAME].",
)
_delivery_format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@main.group()
def deploy() -> None:
    """Record deployments (for the four delivery keys)."""


@deploy.command("record")
@_delivery_environment_option
@click.option("--commit", default=None, metavar="SHA", help="The commit deployed [default: the CI's commit].")
@click.option("--status", type=click.Choice(["success", "failure"]), required=True, help="How the deployment ended.")
@click.option("--verdict", default=None, metavar="ID", help="The gate verdict that let it through.")
@_delivery_project_option
@click.option("--pipeline", default=None, help="The pipeline that deployed [default: the CI's pipeline id].")
@click.option(
    "--id", "explicit_id", default=None, metavar="ID", help="The deployment's own id (else: commit, status, pipeline)."
)
@click.option(
    "--commits-file",
    default=None,
    metavar="PATH",
    help="The commits it shipped, one 'SHA TIME [SUBJECT]' a line (git log --format='%H %cI %s' PREV..SHA), "
    "instead of reading them from git.",
)
@click.option("--no-commits", is_flag=True, help="Record no commits (no repository and no commits file).")
@click.option(
    "--key-pattern",
    default=None,
    envvar="GATEKEEPER_KEY_PATTERN",
    metavar="REGEX",
    help="Issue keys in commit messages [env GATEKEEPER_KEY_PATTERN; default: JIRA keys, case-tolerant].",
)
@click.option(
    "--repository", default=".", show_default=True, metavar="DIR", help="The git clone to read the commits from."
)
@_delivery_store_option
@_delivery_upload_option
@_delivery_format_option
@click.pass_context
def deploy_record(
    context: click.Context,
    environment: str | None,
    commit: str | None,
    status: str,
    verdict: str | None,
    project: str | None,
    pipeline: str | None,
    explicit_id: str | None,
    commits_file: str | None,
    no_commits: bool,
    key_pattern: str | None,
    repository: str,
    store: str | None,
    upload: str | None,
    output_format: str,
) -> None:
    """Record that COMMIT was deployed to an environment, with the commits it shipped (those since the
    environment's previous successful deployment).  The same event recorded again is stored once.
    Exit 0 recorded (or already), 2 bad input, 4 the store server could not be reached."""
    from gatekeeper.commands.deploy import DeployOptions, record

    options = DeployOptions(
        environment=environment,
        status=status,
        commit=commit,
        verdict=verdict,
        project=project,
        pipeline=pipeline,
        explicit_id=explicit_id,
        commits_file=commits_file,
        no_commits=no_commits,
        key_pattern=key_pattern or None,
        repository=repository,
        store=store,
        upload=upload or None,
        output_format=output_format,
    )
    _run(lambda: record(options, sys.stdout, sys.stderr), context.obj["debug"])


@main.group()
def incident() -> None:
    """Record incidents in an environment and their resolution (for the four delivery keys)."""


@incident.command("open")
@click.argument("incident_id", metavar="ID")
@_delivery_environment_option
@click.option("--caused-by", default=None, metavar="SHA", help="The commit that caused it.")
@_delivery_project_option
@_delivery_store_option
@_delivery_upload_option
@_delivery_format_option
@click.pass_context
def incident_open(
    context: click.Context,
    incident_id: str,
    environment: str | None,
    caused_by: str | None,
    project: str | None,
    store: str | None,
    upload: str | None,
    output_format: str,
) -> None:
    """Open incident ID (your alerting or ticket system's id); opening it again changes nothing."""
    from gatekeeper.commands.incident import IncidentOptions, open_

    options = IncidentOptions(
        incident=incident_id,
        environment=environment,
        project=project,
        caused_by=caused_by,
        store=store,
        upload=upload or None,
        output_format=output_format,
    )
    _run(lambda: open_(options, sys.stdout), context.obj["debug"])


@incident.command("resolve")
@click.argument("incident_id", metavar="ID")
@_delivery_environment_option
@_delivery_project_option
@_delivery_store_option
@_delivery_upload_option
@_delivery_format_option
@click.pass_context
def incident_resolve(
    context: click.Context,
    incident_id: str,
    environment: str | None,
    project: str | None,
    store: str | None,
    upload: str | None,
    output_format: str,
) -> None:
    """Resolve incident ID; resolving it again changes nothing.  Exit 2 if it was never opened."""
    from gatekeeper.commands.incident import IncidentOptions, resolve

    options = IncidentOptions(
        incident=incident_id,
        environment=environment,
        project=project,
        store=store,
        upload=upload or None,
        output_format=output_format,
    )
    _run(lambda: resolve(options, sys.stdout), context.obj["debug"])


@main.command("delivery")
@click.option("--project", default=None, help="The project [default: detected from the CI environment].")
@click.option("--environment", default=None, metavar="NAME", help="Only this environment [default: each one].")
@click.option("--days", default=30, show_default=True, type=int, help="The window: the last DAYS days (1-366).")
@_store_option
@_server_option
@_delivery_format_option
@click.pass_context
def delivery_command(
    context: click.Context,
    project: str | None,
    environment: str | None,
    days: int,
    store: str | None,
    server: str | None,
    output_format: str,
) -> None:
    """The four delivery keys (DORA) of a project per environment: deployment frequency, lead time for
    changes, change failure rate and time to restore, with their Four Keys buckets and recommendations,
    from the embedded store or a store server."""
    from gatekeeper.commands.delivery import DeliveryOptions, run

    store, server = _verdict_source(context, store, server)
    options = DeliveryOptions(
        project=project, environment=environment, days=days, store=store, server=server, output_format=output_format
    )
    _run(lambda: run(options, sys.stdout, sys.stderr), context.obj["debug"])
