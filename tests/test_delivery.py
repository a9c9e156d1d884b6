"""Deployments and incidents (issue 19) on a git history built here, recorded in the embedded store.

The history, one commit a day from 2026-03-01 (committer times fixed, so lead times are hand-countable):

    c1 "ABC-1 init" (day 1), c2 "ABC-2 login" (day 2)                      -> D1 success (first deployment)
    feature from c2: f1 "ABC-3 part one" (3), f2 "abc-3 part two" (4);
    main: h1 "DEF-7 hotfix" (4); merge --no-ff of feature: M (5)          -> D2 success: f1 f2 h1 M
    squash branch from M: s1 "ABC-4" (6), s2 "ABC-5" (6); squash commit S (7) -> D3 failure: S
    fix F "ABC-6 fix the squash" (8)                                      -> D4 success: S F (D3 failed)
    revert R of F (9)                                                      -> D5 success: R
    INC-1 opened after D4, caused by S (short id) -> D4; resolved after D5 -> restored by D5.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gatekeeper.delivery import (
    DeployedCommit,
    Deployment,
    ShippedCommits,
    check_environment,
    check_event_id,
    commits_from_git,
    deployment_id,
    incident_id,
    read_commits_file,
)
from gatekeeper.diff.git import Repository, open_repository
from gatekeeper.errors import InputError
from gatekeeper.store.delivery import DeploymentRequest, IncidentNotFound
from gatekeeper.store.sqlite import SqliteStore
from tests.diff.repo import environment

DAY = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def day(number: float) -> datetime:
    return DAY + timedelta(days=number - 1)


class History:
    """A real repository whose commits carry the committer time the test gives."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *arguments: str, when: datetime = DAY) -> str:
        stamp = when.isoformat()
        env = environment({"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        completed = subprocess.run(["git", *arguments], cwd=self.root, env=env, capture_output=True, timeout=60)
        assert completed.returncode == 0, completed.stderr.decode()
        return completed.stdout.decode().strip()

    def commit(self, message: str, when: datetime, name: str | None = None) -> str:
        path = self.root / (name or f"file-{message.split()[0].lower()}-{when:%d}")
        path.write_text(message + "\n")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, when=when)
        return self.git("rev-parse", "HEAD")

    @property
    def repository(self) -> Repository:
        return open_repository(self.root)


@pytest.fixture
def history(tmp_path: Path) -> dict[str, str]:
    """The history in the module docstring: name -> full commit id (and `root`)."""
    repo = History(tmp_path / "repo")
    ids = {"root": str(repo.root)}
    ids["c1"] = repo.commit("ABC-1 init", day(1))
    ids["c2"] = repo.commit("ABC-2 login", day(2))
    repo.git("checkout", "-q", "-b", "feature")
    ids["f1"] = repo.commit("ABC-3 part one", day(3))
    ids["f2"] = repo.commit("abc-3 part two", day(4))
    repo.git("checkout", "-q", "main")
    ids["h1"] = repo.commit("DEF-7 hotfix", day(4.5))
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature", when=day(5))
    ids["M"] = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "squashed")
    ids["s1"] = repo.commit("ABC-4 first half", day(6))
    ids["s2"] = repo.commit("ABC-5 second half", day(6.5))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "squashed", when=day(7))
    repo.git("commit", "-q", "-m", "Squashed: ABC-4 and ABC-5", when=day(7))
    ids["S"] = repo.git("rev-parse", "HEAD")
    ids["F"] = repo.commit("ABC-6 fix the squash", day(8))
    repo.git("revert", "--no-edit", ids["F"], when=day(9))
    ids["R"] = repo.git("rev-parse", "HEAD")
    return ids


def shas(shipped: ShippedCommits | Deployment) -> set[str]:
    return {commit.sha for commit in shipped.commits}


def request(commit: str, status: str, pipeline: str, commits: tuple[DeployedCommit, ...] = ()) -> DeploymentRequest:
    return DeploymentRequest(
        project="bank/web", environment="prod", commit=commit, status=status, pipeline=pipeline, commits=commits
    )


def deploy(
    store: SqliteStore, repository: Repository, commit: str, status: str, pipeline: str, when: datetime
) -> Deployment:
    """What `deploy record` does: the commits since the environment's earlier successful deployments."""
    shipped = commits_from_git(repository, commit, store.shipped_commits("bank/web", "prod", 20))
    deployment, created = store.record_deployment(request(commit, status, pipeline, shipped.commits), now=when)
    assert created
    return deployment


def test_the_commits_of_each_deployment_and_the_incident_they_caused(history: dict[str, str], tmp_path: Path) -> None:
    ids = history
    repository = open_repository(Path(ids["root"]))
    with SqliteStore(tmp_path / "store.db") as store:
        d1 = deploy(store, repository, ids["c2"], "success", "1", day(2.2))
        d2 = deploy(store, repository, ids["M"], "success", "2", day(5.2))
        d3 = deploy(store, repository, ids["S"], "failure", "3", day(7.2))
        d4 = deploy(store, repository, ids["F"], "success", "4", day(8.2))
        incident, created = store.open_incident(
            project="bank/web", environment="prod", incident="INC-1", caused_by=ids["S"][:9], now=day(8.5)
        )
        assert created
        d5 = deploy(store, repository, ids["R"], "success", "5", day(9.2))
        resolved, changed = store.resolve_incident(
            project="bank/web", environment="prod", incident="INC-1", now=day(9.5)
        )
        listed = store.deployments("bank/web", "prod")
        incidents = store.incidents("bank/web")

    # D1, the environment's first: the whole (short) history.
    assert shas(d1) == {ids["c1"], ids["c2"]}
    # D2: every commit the merge brought (both feature commits and the hotfix on main) and the merge itself,
    # not only the first parent.
    assert shas(d2) == {ids["f1"], ids["f2"], ids["h1"], ids["M"]}
    by_sha = {commit.sha: commit for commit in d2.commits}
    assert by_sha[ids["f1"]].committed_at == day(3)  # lead time starts at the commit, not at the merge
    assert by_sha[ids["f2"]].keys == ("ABC-3",)  # lower-case in the message, upper-case as a key
    assert by_sha[ids["h1"]].keys == ("DEF-7",)
    assert {key for commit in d2.commits for key in commit.keys} == {"ABC-3", "DEF-7"}  # several issues
    # D3 (failed) shipped the squash commit only: the squashed branch's commits are not in main's history.
    assert shas(d3) == {ids["S"]}
    assert d3.commits[0].keys == ("ABC-4", "ABC-5")
    assert d3.commits[0].committed_at == day(7)
    # D4, the fix after a failed deployment: bounded by the last *successful* one (D2), so S again, and F.
    assert shas(d4) == {ids["S"], ids["F"]}
    # D5, the revert: a commit like any other, with the key of what it reverts.
    assert shas(d5) == {ids["R"]}
    assert d5.commits[0].keys == ("ABC-6",)
    # Listed oldest first by the store's time, with their commits.
    assert [item.id for item in listed] == [d1.id, d2.id, d3.id, d4.id, d5.id]
    assert [shas(item) for item in listed] == [shas(d) for d in (d1, d2, d3, d4, d5)]
    assert listed[1].deployed_at == day(5.2)
    # The incident: caused by S, shipped first successfully by D4 (D3 failed); restored by D5.
    assert incident.caused_by == ids["S"][:9]
    assert incident.caused_by_deployment == d4.id
    assert changed
    assert resolved.resolved_by_deployment == d5.id
    assert resolved.opened_at == day(8.5)
    assert resolved.resolved_at == day(9.5)
    assert incidents == [resolved]


def test_a_commit_of_a_merged_branch_is_linked_to_the_deployment_that_shipped_the_merge(
    history: dict[str, str], tmp_path: Path
) -> None:
    repository = open_repository(Path(history["root"]))
    with SqliteStore(tmp_path / "store.db") as store:
        deploy(store, repository, history["c2"], "success", "1", day(2.2))
        d2 = deploy(store, repository, history["M"], "success", "2", day(5.2))
        deploy(store, repository, history["F"], "success", "4", day(8.2))
        incident, _ = store.open_incident(
            project="bank/web", environment="prod", incident="INC-2", caused_by=history["f1"].upper(), now=day(8.5)
        )
        # A commit no deployment shipped, and an incident opened before the deployment that shipped it.
        unshipped, _ = store.open_incident(
            project="bank/web", environment="prod", incident="INC-3", caused_by="0" * 40, now=day(8.6)
        )
        early, _ = store.open_incident(
            project="bank/web", environment="prod", incident="INC-4", caused_by=history["R"], now=day(8.7)
        )
    assert incident.caused_by == history["f1"]  # normalised to lower case
    assert incident.caused_by_deployment == d2.id
    assert unshipped.caused_by_deployment is None
    assert early.caused_by_deployment is None


def test_the_same_events_again_are_stored_once(history: dict[str, str], tmp_path: Path) -> None:
    repository = open_repository(Path(history["root"]))
    with SqliteStore(tmp_path / "store.db") as store:
        first = deploy(store, repository, history["c2"], "success", "7", day(2.2))
        # A repeated webhook or a retried step, later: same project, environment, commit, status, pipeline.
        again, created = store.record_deployment(request(history["c2"], "success", "7"), now=day(3))
        assert not created
        assert again == first  # the first recording, its time and commits, unchanged
        # The same commit with another status, or from another pipeline, is another event.
        _, failure_created = store.record_deployment(request(history["c2"], "failure", "7"), now=day(3.1))
        _, other_created = store.record_deployment(request(history["c2"], "success", "8"), now=day(3.2))
        opened, opened_created = store.open_incident(
            project="bank/web", environment="prod", incident="INC-9", now=day(4)
        )
        reopened, reopened_created = store.open_incident(
            project="bank/web", environment="prod", incident="INC-9", caused_by=history["c2"], now=day(5)
        )
        store.resolve_incident(project="bank/web", environment="prod", incident="INC-9", now=day(6))
        resolved_again, changed = store.resolve_incident(
            project="bank/web", environment="prod", incident="INC-9", now=day(7)
        )
        count = len(store.deployments("bank/web"))
        incidents = store.incidents("bank/web")
        rows = store._connection.execute("SELECT count(*) FROM deployment_commits").fetchone()[0]
    assert (failure_created, other_created) == (True, True)
    assert count == 3
    assert rows == 2  # c1, c2 of the first deployment; the others were given none
    assert opened_created and not reopened_created
    assert reopened == opened  # the first opening stands
    assert not changed and resolved_again.resolved_at == day(6)
    assert len(incidents) == 1


def test_event_ids_are_the_event_s_identity() -> None:
    base = {"project": "p", "environment": "prod", "commit": "a" * 40, "status": "success", "pipeline": "1"}
    assert deployment_id(**base) == deployment_id(**base | {"commit": "A" * 40})
    assert len({deployment_id(**base | change) for change in ({}, {"pipeline": "2"}, {"status": "failure"})}) == 3
    assert deployment_id(**base, explicit="release-42") == deployment_id(
        **base | {"pipeline": "9"}, explicit="release-42"
    )
    # No two tuples share a text: project "a\0b" is not project "a" with environment "b...".
    assert deployment_id(**base | {"project": "a", "environment": "b"}) != deployment_id(
        **base | {"project": "a\0b", "environment": ""}
    )
    assert incident_id(project="p", environment="prod", incident="1") != incident_id(
        project="p", environment="staging", incident="1"
    )


def test_a_deployment_that_rolls_back_ships_no_new_commit(history: dict[str, str], tmp_path: Path) -> None:
    repository = open_repository(Path(history["root"]))
    with SqliteStore(tmp_path / "store.db") as store:
        deploy(store, repository, history["M"], "success", "1", day(5.2))
        rollback = deploy(store, repository, history["c2"], "success", "2", day(5.3))
    assert rollback.commits == ()


def test_the_first_deployment_and_missing_history_are_bounded(history: dict[str, str]) -> None:
    repository = open_repository(Path(history["root"]))
    first = commits_from_git(repository, history["R"], [], first_limit=3)
    assert [commit.sha for commit in first.commits] == [history["R"], history["F"], history["S"]]  # the newest 3
    assert first.notes == ("first deployment of this environment: the newest 3 commits are listed",)
    lost = commits_from_git(repository, history["R"], ["1" * 40], first_limit=2)
    assert len(lost.commits) == 2
    assert "not in this clone's history" in lost.notes[0]
    partly = commits_from_git(repository, history["R"], ["1" * 40, history["F"]])
    assert [commit.sha for commit in partly.commits] == [history["R"]]
    assert partly.notes == ("1 earlier deployment not in this clone's history was not used to bound the list",)


def test_a_commits_file_gives_the_commits_of_a_pipeline_without_the_repository(tmp_path: Path) -> None:
    listing = tmp_path / "commits.txt"
    listing.write_text(
        "# git log --format='%H %cI %s' PREV..SHA\n"
        f"{'a' * 40} 2026-03-02T10:00:00+02:00 ABC-1 and [xyz-22] in one\n"
        "\n"
        f"{'B' * 40} 1772366400\n"
        f"{'a' * 40} 2026-03-05T00:00:00Z listed twice: kept once, first wins\n"
    )
    commits = read_commits_file(listing)
    assert commits == (
        DeployedCommit(
            sha="a" * 40, committed_at=datetime(2026, 3, 2, 8, tzinfo=timezone.utc), keys=("ABC-1", "XYZ-22")
        ),
        DeployedCommit(sha="b" * 40, committed_at=datetime(2026, 3, 1, 12, tzinfo=timezone.utc), keys=()),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nothex 2026-03-02T10:00:00Z x\n", "commits.txt:1: 'nothex' is not a commit id"),
        (f"{'a' * 40}\n", "commits.txt:1: expected 'SHA TIME [TEXT]'"),
        (f"# c\n{'a' * 40} 2026-03-02T10:00:00 x\n", "commits.txt:2: '2026-03-02T10:00:00' has no time zone"),
        (f"{'a' * 40} yesterday\n", "commits.txt:1: 'yesterday' is not an ISO-8601 time"),
    ],
)
def test_a_bad_commits_file_names_the_line(tmp_path: Path, text: str, problem: str) -> None:
    listing = tmp_path / "commits.txt"
    listing.write_text(text)
    with pytest.raises(InputError) as raised:
        read_commits_file(listing)
    assert str(raised.value).startswith(str(tmp_path / problem))


def test_a_commits_file_that_is_not_text_or_too_large(tmp_path: Path) -> None:
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="is not UTF-8 text"):
        read_commits_file(binary)
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate((8 << 20) + 1)
    with pytest.raises(InputError, match="larger than 8 MiB"):
        read_commits_file(huge)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project", "line\nbreak"),
        ("project", ""),
        ("project", " padded"),
        ("project", "é" * 501),  # 1002 bytes in UTF-8
        ("project", "\ud800"),
        ("environment", "prod\n"),
        ("environment", "-prod"),
        ("environment", "prod "),
        ("environment", "p" * 101),
        ("environment", "<script>"),
        ("commit", "HEAD"),
        ("commit", "--all"),
        ("commit", "a" * 65),
        ("status", "succeeded"),
        ("verdict_id", "../../etc"),
        ("pipeline", "1\x1b[31m"),
        ("url", "javascript:alert(1)"),
        ("explicit_id", "has space"),
    ],
)
def test_hostile_fields_are_refused_naming_the_field(field: str, value: str) -> None:
    fields = {"project": "p", "environment": "prod", "commit": "a" * 40, "status": "success"} | {field: value}
    with pytest.raises(ValueError) as raised:
        DeploymentRequest(**fields)  # type: ignore[arg-type]
    named = {"explicit_id": "id"}.get(field, field)
    assert str(raised.value).startswith(f"{named} must ")
    assert "\n" not in str(raised.value)


def test_names_that_are_fine() -> None:
    assert check_environment("review/feature-1.2 eu") == "review/feature-1.2 eu"
    assert check_event_id("PAGERDUTY:Q1X2#7", "incident") == "PAGERDUTY:Q1X2#7"
    request = DeploymentRequest(project="团队/网站", environment="prod", commit="ABCDEF1", status="failure")
    assert request.commit == "abcdef1"


def test_resolving_an_incident_never_opened(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store, pytest.raises(IncidentNotFound):
        store.resolve_incident(project="p", environment="prod", incident="INC-404")


def test_a_resolution_the_clock_puts_before_the_opening_is_at_the_opening(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        store.open_incident(project="p", environment="prod", incident="1", now=day(3))
        resolved, _ = store.resolve_incident(project="p", environment="prod", incident="1", now=day(2))
    assert resolved.resolved_at == day(3)


def test_windows_select_by_the_store_s_time(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db") as store:
        for number in (1, 2, 3):
            store.record_deployment(request("a" * 40, "success", str(number)), now=day(number))
            store.open_incident(project="bank/web", environment="prod", incident=str(number), now=day(number))
        store.record_deployment(
            DeploymentRequest(project="bank/web", environment="staging", commit="a" * 40, status="success"),
            now=day(2.5),
        )
        window = store.deployments("bank/web", "prod", since=day(2), until=day(3))
        everywhere = store.deployments("bank/web", since=day(2))
        opened = store.incidents("bank/web", "prod", until=day(2))
    assert [item.pipeline for item in window] == ["2"]
    assert [(item.environment, item.pipeline) for item in everywhere] == [
        ("prod", "2"),
        ("staging", None),
        ("prod", "3"),
    ]
    assert [item.incident for item in opened] == ["1"]


def test_the_same_deployment_from_several_processes_at_once_is_stored_once(tmp_path: Path) -> None:
    """Each thread its own connection, as separate CI jobs on one machine would have."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "store.db"
    SqliteStore(path).close()

    def record(_: int) -> bool:
        with SqliteStore(path) as store:
            return store.record_deployment(request("a" * 40, "success", "1"))[1]

    with ThreadPoolExecutor(6) as pool:
        created = list(pool.map(record, range(6)))
    with SqliteStore(path) as store:
        stored = store.deployments("bank/web")
    assert sorted(created) == [False] * 5 + [True]
    assert len(stored) == 1


@pytest.mark.parametrize("claimed", ["yesterday", "2026-13-01T00:00:00Z"])
def test_a_bad_claimed_time_names_the_field(claimed: str) -> None:
    from gatekeeper.store.delivery import request_from_document

    document = {"project": "p", "environment": "prod", "commit": "a" * 40, "status": "success", "claimed_at": claimed}
    with pytest.raises(ValueError) as raised:
        request_from_document(document)
    assert str(raised.value).startswith(f"$.claimed_at: '{claimed}' ")
