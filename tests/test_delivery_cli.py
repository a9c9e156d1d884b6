"""`gatekeeper deploy record` and `gatekeeper incident open|resolve` on the embedded store (issue 19):
the context read from the CI like `check` reads it, the same event twice stored once, exit codes and
hostile input (one line naming what is wrong, exit 2, no traceback)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.diff.repo import Repo
from tests.verdicts import GATEKEEPER, LEVEL_3, REPO, REPORTS, check_example

OUTSIDE = ("GATEKEEPER_", "CI_", "GITLAB", "GITHUB_", "JENKINS")


def gatekeeper(cwd: Path, *arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(OUTSIDE)}
    environment.update(env)
    return subprocess.run(
        [GATEKEEPER, *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "repo")
    repo.commit("ABC-1 first", a="1")
    repo.commit("feature ABC-2, fixes def-3", b="2")
    return repo


def gitlab(repo: Repo, **more: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": "bank/payments",
        "CI_COMMIT_SHA": repo.head(),
        "CI_PIPELINE_ID": "901",
        "CI_JOB_URL": "https://gitlab.example.com/bank/payments/-/jobs/5",
        "CI_ENVIRONMENT_NAME": "production",
        **more,
    }


def test_a_gitlab_deployment_job_is_recorded_once(repo: Repo) -> None:
    first = gatekeeper(repo.root, "deploy", "record", "--status", "success", **gitlab(repo))
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        f"recorded deployment {first.stdout.split()[2]} of bank/payments to production: {repo.head()[:12]} success, "
        "2 commits (3 issue keys: ABC-1, ABC-2, DEF-3) in .gatekeeper/verdicts.db\n"
    )
    again = gatekeeper(repo.root, "deploy", "record", "--status", "success", **gitlab(repo))
    assert again.returncode == 0
    assert again.stdout.startswith(f"already recorded deployment {first.stdout.split()[2]} of bank/payments")
    assert again.stdout.endswith(": the same event again is stored once\n")
    with sqlite3.connect(repo.root / ".gatekeeper" / "verdicts.db") as db:
        rows = db.execute('SELECT project, environment, "commit", status, pipeline, url FROM deployments').fetchall()
        commits = db.execute("SELECT count(*) FROM deployment_commits").fetchone()[0]
    assert rows == [
        (
            "bank/payments",
            "production",
            repo.head(),
            "success",
            "901",
            "https://gitlab.example.com/bank/payments/-/jobs/5",
        )
    ]
    assert commits == 2


def test_flags_win_over_the_ci_and_json_says_what_was_stored(repo: Repo, tmp_path: Path) -> None:
    store = tmp_path / "elsewhere.db"
    verdict = check_example(tmp_path, "passing", "--project", "other", store=store)["id"]
    result = gatekeeper(
        repo.root, "deploy", "record", "--status", "failure", "--environment", "staging", "--project", "other",
        "--pipeline", "77", "--verdict", verdict, "--id", "release-9", "--store", str(store),
        "--format", "json", **gitlab(repo),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["project"], document["environment"], document["status"]) == ("other", "staging", "failure")
    assert (document["pipeline"], document["verdict_id"], document["created"]) == ("77", verdict, True)
    # The explicit id is the identity: another pipeline with the same id is the same event.
    again = gatekeeper(
        repo.root, "deploy", "record", "--status", "failure", "--environment", "staging", "--project", "other",
        "--pipeline", "78", "--id", "release-9", "--store", str(store), "--format", "json", **gitlab(repo),
    )  # fmt: skip
    assert json.loads(again.stdout) == document | {"created": False}


def test_a_pipeline_without_the_repository_gives_the_commits(tmp_path: Path) -> None:
    listing = tmp_path / "commits.txt"
    listing.write_text(f"{'c' * 40} 2026-03-01T10:00:00Z PAY-12 new fee\n{'d' * 40} 2026-03-02T10:00:00Z no key\n")
    result = gatekeeper(
        tmp_path, "deploy", "record", "--environment", "prod", "--project", "p", "--commit", "D" * 40,
        "--status", "success", "--commits-file", str(listing),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"p to prod: {'d' * 12} success, 2 commits (1 issue key: PAY-12)" in result.stdout
    bare = gatekeeper(
        tmp_path, "deploy", "record", "--environment", "prod", "--project", "p", "--commit", "e" * 40,
        "--status", "success", "--no-commits",
    )  # fmt: skip
    assert bare.returncode == 0 and ", 0 commits in" in bare.stdout


def test_outside_a_repository_the_commits_must_be_given(tmp_path: Path) -> None:
    result = gatekeeper(
        tmp_path, "deploy", "record", "--environment", "prod", "--project", "p", "--commit", "a" * 40,
        "--status", "success",
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("gatekeeper: error: deploy record: . is not in a git clone")
    assert "--commits-file" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_incidents_open_and_resolve_once(repo: Repo) -> None:
    env = gitlab(repo)
    deployed = gatekeeper(repo.root, "deploy", "record", "--status", "success", "--format", "json", **env)
    deployment = json.loads(deployed.stdout)["id"]
    opened = gatekeeper(repo.root, "incident", "open", "INC-7", "--caused-by", repo.head()[:7], **env)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout == (
        f"opened incident INC-7 of bank/payments in production (caused by {repo.head()[:7]}: shipped by "
        f"deployment {deployment[:12]}) in .gatekeeper/verdicts.db\n"
    )
    again = gatekeeper(repo.root, "incident", "open", "INC-7", **env)
    assert again.returncode == 0 and again.stdout.startswith("already open since ")
    resolved = gatekeeper(repo.root, "incident", "resolve", "INC-7", "--format", "json", **env)
    document = json.loads(resolved.stdout)
    assert document["changed"] is True and document["resolved_by_deployment"] is None  # no deployment since
    assert document["caused_by_deployment"] == deployment
    twice = gatekeeper(repo.root, "incident", "resolve", "INC-7", **env)
    assert twice.returncode == 0 and twice.stdout.startswith("already resolved incident INC-7")
    never = gatekeeper(repo.root, "incident", "resolve", "INC-8", **env)
    assert never.returncode == 2
    assert never.stderr == (
        "gatekeeper: error: incident resolve: incident INC-8 was never opened in bank/payments production "
        "(.gatekeeper/verdicts.db)\n"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--environment", "prod\nFAKE LINE"], "--environment must be 1 to 100 characters"),
        (["--environment", "../../etc"], "--environment must be 1 to 100 characters"),
        (["--project", "bank\x1b[2J"], "--project must be one printable line"),
        (
            ["--commit", "--all"],
            "--commit must be a commit id (7 to 64 hex digits), or a revision of the git clone here, not '--all'",
        ),
        (["--commit", "no-such-branch"], "--commit must be a commit id (7 to 64 hex digits), or a revision of"),
        (["--verdict", "../x"], "--verdict must be 1 to 64 letters, digits and dashes"),
        (["--id", "a b"], "--id must be 1 to 200 characters"),
        (["--pipeline", "9\r"], "--pipeline must be one printable line"),
    ],
)
def test_hostile_flags_are_exit_2_on_one_line(repo: Repo, arguments: list[str], message: str) -> None:
    result = gatekeeper(repo.root, "deploy", "record", "--status", "success", *arguments, **gitlab(repo))
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"gatekeeper: error: deploy record: {message}")
    assert len(result.stderr.splitlines()) == 1 and "\x1b" not in result.stderr and "\r" not in result.stderr
    assert not (repo.root / ".gatekeeper").exists()  # nothing was written


def test_a_verdict_the_store_does_not_hold_is_refused_and_nothing_recorded(repo: Repo, tmp_path: Path) -> None:
    """A deployment's --verdict is a claim that the gate passed it: it must name a verdict of the project
    in the store the deployment goes to (one of another project does not count)."""
    store = tmp_path / "store.db"
    other = check_example(tmp_path, "passing", "--project", "someone/else", store=store)["id"]
    for verdict in ("0a1b2c3d-4e5f", other):
        result = gatekeeper(
            repo.root, "deploy", "record", "--status", "success", "--verdict", verdict, "--store", str(store),
            **gitlab(repo),
        )  # fmt: skip
        assert result.returncode == 2, result.stdout
        assert result.stdout == ""
        assert result.stderr == (
            f"gatekeeper: error: deploy record: --verdict {verdict}: no verdict with this id of project "
            f"bank/payments is in {store}; nothing recorded (give the full id `check` recorded there: a prefix is not "
            "enough)\n"
        )
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM deployments").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM deployment_commits").fetchone()[0] == 0
    # The project's own verdict, and one recorded with no project (a `check` outside CI), are taken.
    own = check_example(tmp_path, "passing", "--project", "bank/payments", store=store)["id"]
    bare = check_example(tmp_path, "passing", store=store)["id"]
    for index, verdict in enumerate((own, bare)):
        result = gatekeeper(
            repo.root, "deploy", "record", "--status", "success", "--verdict", verdict, "--store", str(store),
            "--id", f"release-{index}", **gitlab(repo),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(store) as db:
        assert sorted(row[0] for row in db.execute("SELECT verdict_id FROM deployments")) == sorted((own, bare))
    # Where no store is yet, none holds the verdict: refused alike, and no empty store is made.
    absent = tmp_path / "absent" / "store.db"
    refused = gatekeeper(
        repo.root, "deploy", "record", "--status", "success", "--verdict", own, "--store", str(absent), **gitlab(repo)
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"gatekeeper: error: deploy record: --verdict {own}: no verdict with this id")
    assert f"is in {absent}; nothing recorded" in refused.stderr
    assert not absent.parent.exists()
    # A prefix, as `verdicts show` takes one, names no verdict here: the message says the full id is needed.
    prefix = gatekeeper(
        repo.root, "deploy", "record", "--status", "success", "--verdict", own[:8], "--store", str(store),
        "--id", "release-prefix", **gitlab(repo),
    )  # fmt: skip
    assert prefix.returncode == 2
    assert prefix.stderr.startswith(f"gatekeeper: error: deploy record: --verdict {own[:8]}: no verdict with this id")
    assert prefix.stderr.endswith("(give the full id `check` recorded there: a prefix is not enough)\n")


def test_a_value_from_the_ci_is_named_by_its_variable(repo: Repo) -> None:
    bad = gatekeeper(repo.root, "deploy", "record", "--status", "success", **gitlab(repo, CI_ENVIRONMENT_NAME="../x"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("gatekeeper: error: deploy record: CI_ENVIRONMENT_NAME must be 1 to 100 characters")


def test_a_job_url_too_long_to_store_is_noted_and_the_deployment_recorded_without_it(repo: Repo) -> None:
    """It was refused as 'url must be an http(s) URL ...': an API field the user never typed, for an optional link."""
    long_url = "https://gitlab.example.com/" + "a" * 1000
    result = gatekeeper(repo.root, "deploy", "record", "--status", "success", **gitlab(repo, CI_JOB_URL=long_url))
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "gatekeeper: note: the CI's job URL is over 1000 characters: the deployment carries no link\n"
    )
    assert result.stdout.startswith("recorded deployment ")
    with sqlite3.connect(repo.root / ".gatekeeper" / "verdicts.db") as db:
        assert db.execute("SELECT url FROM deployments").fetchall() == [(None,)]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["open", "INC 1"], "incident open: ID must be 1 to 200 characters"),
        (["open", "INC-1", "--caused-by", "$(reboot)"], "incident open: --caused-by must be a commit id"),
        (["open", "INC-1", "--environment", ""], "incident open: give --environment NAME"),
    ],
)
def test_hostile_incidents_are_exit_2_on_one_line(tmp_path: Path, arguments: list[str], message: str) -> None:
    base = ["--project", "p"] + ([] if "--environment" in arguments else ["--environment", "prod"])
    result = gatekeeper(tmp_path, "incident", *arguments, *base)
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"gatekeeper: error: {message}")
    assert len(result.stderr.splitlines()) == 1


def test_outside_ci_the_clone_names_the_commit(repo: Repo) -> None:
    """No CI commit: the checked-out HEAD is deployed; --commit and --caused-by take any revision git resolves."""
    first, second = repo.git("rev-parse", "HEAD~1"), repo.head()
    env = {"--project": "bank/payments", "--environment": "prod"}
    flags = [item for pair in env.items() for item in pair]
    earlier = gatekeeper(repo.root, "deploy", "record", "--status", "success", "--commit", "HEAD~1", *flags)
    assert earlier.returncode == 0, earlier.stderr
    assert f": {first[:12]} success, 1 commit (1 issue key: ABC-1)" in earlier.stdout
    head = gatekeeper(repo.root, "deploy", "record", "--status", "success", *flags)
    assert head.returncode == 0, head.stderr
    assert f": {second[:12]} success, 1 commit (2 issue keys: ABC-2, DEF-3)" in head.stdout
    opened = gatekeeper(repo.root, "incident", "open", "INC-1", "--caused-by", "HEAD", *flags)
    assert opened.returncode == 0, opened.stderr
    assert f"(caused by {second[:12]}: shipped by deployment {head.stdout.split()[2]})" in opened.stdout


def test_what_is_missing_is_named(tmp_path: Path) -> None:
    no_environment = gatekeeper(tmp_path, "deploy", "record", "--status", "success", "--project", "p")
    assert no_environment.returncode == 2
    assert "give --environment NAME" in no_environment.stderr
    no_commit = gatekeeper(tmp_path, "deploy", "record", "--status", "success", "--project", "p", "--environment", "e")
    assert no_commit.returncode == 2 and "give --commit SHA" in no_commit.stderr
    assert "no git clone to take HEAD from" in no_commit.stderr
    for flag in ("--no-commits", "--commits-file"):
        # In a clone too: with either flag HEAD is not the deployed commit, and the message says why.
        (tmp_path / "clone").mkdir(exist_ok=True)
        subprocess.run(["git", "init", "-q", str(tmp_path / "clone")], check=True)
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "x"],
            cwd=tmp_path / "clone", check=True,
        )  # fmt: skip
        given = [flag] if flag == "--no-commits" else [flag, str(tmp_path / "commits.txt")]
        named = gatekeeper(
            tmp_path / "clone", "deploy", "record", "--status", "success", "--project", "p", "--environment", "e",
            *given,
        )  # fmt: skip
        assert named.returncode == 2
        assert named.stderr == (
            f"gatekeeper: error: deploy record: give --commit SHA (no CI commit detected, and with {flag} no "
            "clone's HEAD is taken)\n"
        )
    bad_status = gatekeeper(tmp_path, "deploy", "record", "--status", "ok", "--project", "p", "--environment", "e")
    assert bad_status.returncode == 2 and "'ok' is not one of 'success', 'failure'" in bad_status.stderr
    (tmp_path / "dir.db").mkdir()
    unusable = gatekeeper(
        tmp_path, "incident", "open", "1", "--project", "p", "--environment", "e", "--store", str(tmp_path / "dir.db")
    )
    assert unusable.returncode == 2
    assert (
        unusable.stderr == f"gatekeeper: error: verdict store {tmp_path / 'dir.db'}: is a directory, not a store file\n"
    )


def test_a_redeployment_of_the_same_commit_ships_nothing_new(repo: Repo) -> None:
    first = gatekeeper(repo.root, "deploy", "record", "--status", "success", **gitlab(repo))
    assert ", 2 commits " in first.stdout
    redeployed = gatekeeper(repo.root, "deploy", "record", "--status", "success", **gitlab(repo, CI_PIPELINE_ID="902"))
    assert redeployed.returncode == 0, redeployed.stderr
    assert redeployed.stdout.startswith("recorded deployment ") and ", 0 commits in " in redeployed.stdout
    newer = repo.commit("ABC-9 later", c="3")
    after = gatekeeper(
        repo.root, "deploy", "record", "--status", "success", **gitlab(repo, CI_PIPELINE_ID="903", CI_COMMIT_SHA=newer)
    )
    assert ", 1 commit (1 issue key: ABC-9) " in after.stdout


def test_a_key_pattern_of_one_s_own(repo: Repo) -> None:
    story = repo.commit("story #482: fee rounding", c="3")
    result = gatekeeper(
        repo.root, "deploy", "record", "--status", "success", "--key-pattern", r"#(\d+)", "--format", "json",
        **gitlab(repo),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    keys = {commit["sha"]: commit["keys"] for commit in json.loads(result.stdout)["commits"]}
    assert keys.pop(story) == ["482"]
    assert list(keys.values()) == [[], []]  # ABC-1 and ABC-2 are not keys under this pattern
    lookaround = gatekeeper(
        repo.root, "deploy", "record", "--status", "success", "--key-pattern", r"(?<!x)#(\d+)", **gitlab(repo)
    )
    assert lookaround.returncode == 2
    assert lookaround.stderr.startswith(
        "gatekeeper: error: deploy record: --key-pattern: not a regular expression RE2 accepts "
        "(a key pattern is RE2 syntax: no lookaround or backreferences): invalid perl operator: (?<!"
    )


def test_an_environment_with_incidents_alone_is_in_delivery(repo: Repo) -> None:
    # production is deployed to; dr only has an incident, opened and resolved: it is listed with its restore.
    env = gitlab(repo)
    assert gatekeeper(repo.root, "deploy", "record", "--status", "success", **env).returncode == 0
    dr = {**env, "CI_ENVIRONMENT_NAME": "dr"}
    assert gatekeeper(repo.root, "incident", "open", "INC-3", **dr).returncode == 0
    assert gatekeeper(repo.root, "incident", "resolve", "INC-3", **dr).returncode == 0
    result = gatekeeper(repo.root, "delivery", "--format", "json", **env)
    assert result.returncode == 0, result.stderr
    found = {item["environment"]: item for item in json.loads(result.stdout)["environments"]}
    assert sorted(found) == ["dr", "production"]
    assert (found["dr"]["deployments"], found["dr"]["incidents"], found["dr"]["restored"]) == (0, 1, 1)
    assert found["dr"]["restore_median_seconds"] is not None
    assert found["production"]["incidents"] == 0


def test_delivery_leaves_out_commits_dated_after_their_deployment_and_says_so(tmp_path: Path) -> None:
    """One commit of yesterday and two dated in 2099 (a clock ahead, a forged date): the lead time is the
    one real change's, and the text and the JSON say what was left out."""
    listing = tmp_path / "commits.txt"
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listing.write_text(
        f"{'c' * 40} {yesterday} real\n{'d' * 40} 2099-01-01T00:00:00Z ahead\n{'e' * 40} 2099-06-01T00:00:00Z forged\n"
    )
    recorded = gatekeeper(
        tmp_path, "deploy", "record", "--environment", "prod", "--project", "p", "--commit", "c" * 40,
        "--status", "success", "--commits-file", str(listing),
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    document = json.loads(gatekeeper(tmp_path, "delivery", "--project", "p", "--format", "json").stdout)
    (prod,) = document["environments"]
    assert (prod["changes"], prod["dated_after_deployment"]) == (1, 2)
    assert 23 * 3600 < prod["lead_time_median_seconds"] < 25 * 3600
    text = gatekeeper(tmp_path, "delivery", "--project", "p")
    assert text.returncode == 0, text.stderr
    (lead,) = [line for line in text.stdout.splitlines() if "lead time for changes" in line]
    assert lead.endswith(
        "1 change (commit to first successful deployment); 2 commits dated after their deployment left out"
    )


def test_delivery_and_the_page_default_to_one_window() -> None:
    from gatekeeper import cli, dora
    from gatekeeper.server.web import delivery_routes

    (days,) = [option for option in cli.delivery_command.params if option.name == "days"]
    assert days.default == dora.DEFAULT_DAYS == delivery_routes.DEFAULT_DAYS == 30


def test_delivery_names_the_option_a_bad_project_came_from(tmp_path: Path) -> None:
    result = gatekeeper(tmp_path, "delivery", "--project", "bank\x1b[2J")
    assert result.returncode == 2
    assert result.stderr.startswith("gatekeeper: error: delivery: --project must be one printable line")
    assert "\x1b" not in result.stderr


def test_a_commit_dated_beyond_any_calendar_is_recorded_and_blocks_no_deployment(repo: Repo) -> None:
    """A forged committer time git keeps but no date holds (year 33658; none at all in a hand-made commit
    object): kept as dated after its deployment, so the lead time leaves it out and counts it, with a note;
    never a crash, and the deployments after it are recorded too."""
    from tests.diff.repo import environment

    def forged(message: str, date: str) -> str:
        subprocess.run(
            ["git", "commit", "-q", "--allow-empty", "-m", message], cwd=repo.root, check=True,
            env=environment({"GIT_COMMITTER_DATE": date}),
        )  # fmt: skip
        return repo.head()

    far = forged("ABC-7 from the far future", "@999999999999 +0000")
    raw = f"tree {repo.git('rev-parse', 'HEAD^{tree}')}\nparent {far}\nauthor a <a@b> 1 +0000\n"
    raw += "committer a <a@b> abc +0000\n\nno date at all\n"
    undated = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin", "--literally"], cwd=repo.root, input=raw,
        env=environment(), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    repo.git("update-ref", "HEAD", undated)
    flags = ["--project", "bank/payments", "--environment", "prod", "--status", "success"]
    first = gatekeeper(repo.root, "deploy", "record", *flags)
    assert first.returncode == 0, first.stderr
    assert ", 4 commits " in first.stdout
    assert first.stderr.splitlines() == [
        f"gatekeeper: note: commit {undated[:12]} has a committer time no date holds ('' seconds): kept as dated "
        "after the deployment, left out of the lead time",
        f"gatekeeper: note: commit {far[:12]} has a committer time no date holds ('999999999999' seconds): kept as "
        "dated after the deployment, left out of the lead time",
    ]
    later = repo.commit("ABC-8 after it", c="3")
    second = gatekeeper(repo.root, "deploy", "record", *flags)
    assert second.returncode == 0, second.stderr
    assert f": {later[:12]} success, 1 commit (1 issue key: ABC-8)" in second.stdout
    document = json.loads(gatekeeper(repo.root, "delivery", "--project", "bank/payments", "--format", "json").stdout)
    (prod,) = document["environments"]
    assert (prod["successful"], prod["changes"], prod["dated_after_deployment"]) == (2, 3, 2)


def test_outside_ci_check_judges_the_head_deploy_record_deploys(repo: Repo, tmp_path: Path) -> None:
    """Neither the CI nor --commit names a commit: `check` records the work tree's HEAD, the rule `deploy
    record` follows, so the gate that passed is the deployment's gate, not "deployed without a passing gate"."""
    store = tmp_path / "s.db"
    verdict = check_example(repo.root, "passing", "--project", "p2", store=store)
    assert (verdict["status"], verdict["context"]["commit"]) == ("pass", repo.head())
    assert [commit["sha"] for commit in verdict["trace"]["commits"]] == [repo.head()]
    flags = ["--project", "p2", "--store", str(store)]
    recorded = gatekeeper(repo.root, "deploy", "record", "--environment", "prod", "--status", "success", *flags)
    assert recorded.returncode == 0, recorded.stderr
    delivery = gatekeeper(repo.root, "delivery", *flags, "--format", "json")
    (prod,) = json.loads(delivery.stdout)["environments"]
    assert (prod["successful"], prod["ungated"]) == (1, 0)


def test_check_with_commit_traces_that_commit_where_the_clone_has_it(repo: Repo, tmp_path: Path) -> None:
    """`--commit` judges that commit: its own history is traced, not HEAD's; one the clone lacks is recorded
    as given, untraced (HEAD's keys are not its own), and one warning says so."""
    earlier = repo.git("rev-parse", "HEAD~1")
    verdict = check_example(repo.root, "passing", "--commit", earlier[:9])
    assert verdict["context"]["commit"] == earlier
    assert [commit["sha"] for commit in verdict["trace"]["commits"]] == [earlier]
    assert verdict["trace"]["keys"] == ["ABC-1"]
    elsewhere = "3f2a" + "0" * 36
    environment = {key: value for key, value in os.environ.items() if not key.startswith(OUTSIDE)}
    result = subprocess.run(
        [GATEKEEPER, "check", "--no-store", "--format", "json", "-p", str(LEVEL_3), "--commit", elsewhere,
         *(str(REPO / "examples" / "passing" / "reports" / name) for name in REPORTS)],
        cwd=repo.root, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    unknown = json.loads(result.stdout)
    assert unknown["context"]["commit"] == elsewhere
    assert not unknown["trace"]["commits"] and "trace.commits" not in unknown["metrics"]
    assert result.stderr.count("gatekeeper: warning: the verdict's commit 3f2a00000000 is not in this clone: ") == 1
    assert "the verdict's commit 3f2a00000000 is not in this clone: its commits not traced" in result.stderr
    (traced,) = [gate for gate in unknown["gates"] if gate["id"] == "commits-traced"]
    assert "no git history of the verdict's commit" in json.dumps(traced), traced  # not "run in a clone" alone


def test_outside_ci_and_outside_a_clone_check_records_no_commit(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(OUTSIDE)}
    result = subprocess.run(
        [GATEKEEPER, "check", "--no-store", "--format", "json", "-p", str(REPO / "rules" / "starter.yaml"),
         str(REPO / "examples" / "passing" / "reports" / "junit.xml")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["context"]["commit"] is None
