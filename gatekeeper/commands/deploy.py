"""`gatekeeper deploy record`: record that a commit was deployed to an environment, with the commits it
shipped, in the embedded store (`--store`) or on a store server (`--upload URL`).

What the CI knows fills what is not given: project, commit, pipeline and job URL as `check` reads them
(`gatekeeper.context`), the environment from GitLab's CI_ENVIRONMENT_NAME.  The commits come from git
(those since the environment's earlier successful deployments, see `gatekeeper.delivery`) or from
`--commits-file` in a pipeline without the repository.  Recording the same event again stores nothing
and says so; both exit 0.  Exit 2 for bad input (each error names the option or the CI variable the value
came from, never an API field) and for a `--verdict` the store does not hold (nothing is recorded), 4 when
the server could not be reached.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from gatekeeper.context import detect_context
from gatekeeper.delivery import (
    ENVIRONMENT_VARIABLE,
    MAX_TEXT,
    PREVIOUS_DEPLOYMENTS,
    DeployedCommit,
    Deployment,
    check_environment,
    check_event_id,
    check_text,
    commits_from_git,
    read_commits_file,
    resolve_commit,
)
from gatekeeper.errors import UsageError
from gatekeeper.status import ExitStatus
from gatekeeper.store.delivery import (
    DeliveryStore,
    DeploymentRequest,
    UnknownVerdict,
    check_verdict_id,
    deployment_document,
)
from gatekeeper.store.delivery_stores import open_delivery_store
from gatekeeper.trace import DEFAULT_KEY_PATTERN, PatternError, compile_pattern
from gatekeeper.words import plural, short_commit


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployOptions:
    environment: str | None
    status: str
    commit: str | None = None
    verdict: str | None = None
    project: str | None = None
    pipeline: str | None = None
    explicit_id: str | None = None
    commits_file: str | None = None
    no_commits: bool = False
    key_pattern: str | None = None
    repository: str = "."
    store: str | None = None
    upload: str | None = None
    output_format: str = "text"


def record(options: DeployOptions, out: TextIO, err: TextIO) -> ExitStatus:
    """Record one deployment; 0 whether it was new or the same event again."""
    context = detect_context()
    for note in context.notes:
        err.write(f"gatekeeper: note: {note}\n")
    environment = options.environment or os.environ.get(ENVIRONMENT_VARIABLE) or None
    project = options.project or context.project
    commit = options.commit or context.commit
    if commit is None and not (options.commits_file or options.no_commits):
        from gatekeeper.diff.git import checked_out_commit

        commit = checked_out_commit(Path(options.repository))  # outside CI: the clone's, as `check` takes
    if environment is None:
        raise UsageError("deploy record: give --environment NAME (or run in a GitLab job with an environment)")
    if project is None:
        raise UsageError("deploy record: give --project NAME (no CI project detected)")
    if commit is None:
        given = "--commits-file" if options.commits_file else "--no-commits" if options.no_commits else None
        why = "and no git clone to take HEAD from" if given is None else f"and with {given} no clone's HEAD is taken"
        raise UsageError(f"deploy record: give --commit SHA (no CI commit detected, {why})")
    if options.commits_file and options.no_commits:
        raise UsageError("deploy record: give --commits-file or --no-commits, not both")
    pipeline = options.pipeline or context.pipeline
    url = context.url
    if url is not None and len(url) > MAX_TEXT:  # a link is optional: the deployment is recorded without it
        err.write(f"gatekeeper: note: the CI's job URL is over {MAX_TEXT} characters: the deployment carries no link\n")
        url = None
    try:
        check_text(project, "--project" if options.project else "the CI's project (give --project)")
        check_environment(environment, "--environment" if options.environment else ENVIRONMENT_VARIABLE)
        if pipeline is not None:
            check_text(pipeline, "--pipeline" if options.pipeline else "the CI's pipeline id (give --pipeline)")
        if options.explicit_id is not None:
            check_event_id(options.explicit_id, "--id")
        if options.verdict is not None:
            check_verdict_id(options.verdict, "--verdict")
        source = "--commit" if options.commit else context.commit_from or "the clone's HEAD"
        commit = resolve_commit(commit, source, Path(options.repository))
        request = DeploymentRequest(
            project=project,
            environment=environment,
            commit=commit,
            status=options.status,
            verdict_id=options.verdict,
            pipeline=pipeline,
            url=url,
            explicit_id=options.explicit_id,
        )
    except ValueError as error:
        raise UsageError(f"deploy record: {error}") from None
    pattern = DEFAULT_KEY_PATTERN
    if options.key_pattern is not None:
        try:
            compile_pattern(options.key_pattern)
        except PatternError as error:
            raise UsageError(f"deploy record: --key-pattern: {error}") from None
        pattern = options.key_pattern
    if options.verdict is not None and not options.upload:
        from gatekeeper.store import default_store_path

        path = Path(options.store) if options.store else default_store_path()
        if not path.exists():  # no store holds no verdict: refused without creating an empty one
            raise _unknown_verdict(UnknownVerdict(options.verdict, project), str(path))
    with open_delivery_store(options.store, options.upload) as (store, where):
        commits: tuple[DeployedCommit, ...] = ()
        if options.commits_file:
            commits = read_commits_file(options.commits_file, pattern=pattern)
        elif not options.no_commits:
            commit, commits = _from_git(options, store, request, pattern, err)
        try:
            request = replace(request, commit=commit, commits=commits)
        except ValueError as error:
            raise UsageError(f"deploy record: {error}") from None
        try:
            deployment, created = store.record_deployment(request)
        except UnknownVerdict as error:
            raise _unknown_verdict(error, where) from None
    _report(deployment, created, where, options.output_format, out)
    return ExitStatus.PASS


def _unknown_verdict(error: UnknownVerdict, where: str) -> UsageError:
    """One message for a --verdict the store does not hold, whether it is there or not yet made."""
    return UsageError(
        f"deploy record: --verdict {error.verdict_id}: no verdict with this id of project {error.project} is in "
        f"{where}; nothing recorded (give the full id `check` recorded there: a prefix is not enough)"
    )


def _from_git(
    options: DeployOptions, store: DeliveryStore, request: DeploymentRequest, pattern: str, err: TextIO
) -> tuple[str, tuple[DeployedCommit, ...]]:
    """The deployed commit in full and the commits it shipped, from the repository at `options.repository`."""
    from gatekeeper.diff.git import open_repository

    try:
        repository = open_repository(Path(options.repository))
    except UsageError:
        raise UsageError(
            f"deploy record: {options.repository} is not in a git clone, where the commits a deployment shipped "
            "are read: run in the clone (or --repository DIR), or give them with --commits-file, or --no-commits"
        ) from None
    full = repository.commit(request.commit)
    if full is None:
        raise UsageError(
            f"deploy record: commit {request.commit[:40]} is not in the repository at {repository.root} "
            "(fetch it, or give the commits with --commits-file, or --no-commits)"
        )
    # A redeployment of a commit already shipped ships nothing new: its commits were the earlier one's.
    previous = store.shipped_commits(request.project, request.environment, PREVIOUS_DEPLOYMENTS)
    shipped = commits_from_git(repository, full, previous, pattern=pattern)
    for note in shipped.notes:
        err.write(f"gatekeeper: note: {note}\n")
    return full, shipped.commits


def _keys(deployment: Deployment) -> list[str]:
    return sorted({key for commit in deployment.commits for key in commit.keys})


def _report(deployment: Deployment, created: bool, where: str, output_format: str, out: TextIO) -> None:
    if output_format == "json":
        out.write(json.dumps(deployment_document(deployment) | {"created": created}, indent=2) + "\n")
        return
    keys = _keys(deployment)
    shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
    what = (
        f"deployment {deployment.id[:12]} of {deployment.project} to {deployment.environment}: "
        f"{short_commit(deployment.commit)} {deployment.status}, {plural(len(deployment.commits), 'commit')}"
        + (f" ({plural(len(keys), 'issue key')}: {shown})" if keys else "")
    )
    if created:
        out.write(f"recorded {what} in {where}\n")
    else:
        out.write(
            f"already recorded {what} in {where} at {deployment.deployed_at:%Y-%m-%d %H:%M:%S} UTC: "
            "the same event again is stored once\n"
        )
