"""CI context: each system names project, branch and commit differently; flags override what is found."""

from __future__ import annotations

import pytest

from gatekeeper.context import Context, detect_context

JENKINS = {
    "JENKINS_URL": "https://jenkins.example.com/",
    "JOB_NAME": "payments/api",
    "JOB_BASE_NAME": "api",
    "BUILD_NUMBER": "512",
    "BUILD_URL": "https://jenkins.example.com/job/payments/job/api/512/",
    "GIT_COMMIT": "3f2a9c1d4e5b6a7980f1e2d3c4b5a69788796a5b",
    "GIT_BRANCH": "origin/main",
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "payments/api",
    "CI_COMMIT_SHA": "9b8a7c6d5e4f30211a2b3c4d5e6f708192a3b4c5",
    "CI_COMMIT_BRANCH": "main",
    "CI_COMMIT_REF_NAME": "main",
    "CI_PIPELINE_ID": "90211",
    "CI_JOB_NAME": "gate",
    "CI_JOB_URL": "https://gitlab.example.com/payments/api/-/jobs/4411",
    "CI_PIPELINE_URL": "https://gitlab.example.com/payments/api/-/pipelines/90211",
    "CI_PIPELINE_CREATED_AT": "2026-03-15T09:00:00Z",
}
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/payments-api",
    "GITHUB_SHA": "0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REF_NAME": "main",
    "GITHUB_RUN_ID": "7781234567",
    "GITHUB_JOB": "gate",
    "GITHUB_SERVER_URL": "https://github.com",
}


# --- Jenkins ---------------------------------------------------------------------------------------


def test_jenkins_freestyle_job() -> None:
    assert detect_context(JENKINS) == Context(
        ci="jenkins",
        project="payments/api",
        branch="main",  # GIT_BRANCH=origin/main
        commit="3f2a9c1d4e5b6a7980f1e2d3c4b5a69788796a5b",
        pipeline="512",
        job="api",
        url="https://jenkins.example.com/job/payments/job/api/512/",
    )


@pytest.mark.parametrize(
    ("git_branch", "branch"),
    [
        ("origin/main", "main"),
        ("origin/feature/PAY-12", "feature/PAY-12"),
        ("refs/remotes/origin/release/2.4", "release/2.4"),
        ("refs/heads/main", "main"),
        ("main", "main"),
    ],
)
def test_jenkins_git_branch_loses_its_remote(git_branch: str, branch: str) -> None:
    assert detect_context(JENKINS | {"GIT_BRANCH": git_branch}).branch == branch


def test_jenkins_multibranch_uses_branch_name() -> None:
    env = JENKINS | {"BRANCH_NAME": "release/2.4", "GIT_BRANCH": "release/2.4", "STAGE_NAME": "Quality gate"}
    context = detect_context(env)
    assert (context.branch, context.job) == ("release/2.4", "Quality gate")


def test_jenkins_pull_request_uses_the_change_branch() -> None:
    env = JENKINS | {"BRANCH_NAME": "PR-42", "CHANGE_BRANCH": "feature/PAY-12", "CHANGE_TARGET": "main"}
    assert detect_context(env).branch == "feature/PAY-12"


@pytest.mark.parametrize(
    ("job_name", "extra", "project"),
    [
        ("org/app/main", {"BRANCH_NAME": "main"}, "org/app"),
        ("org/app/release%2F2.4", {"BRANCH_NAME": "release/2.4"}, "org/app"),  # Jenkins encodes the '/'
        ("org/app/PR-42", {"BRANCH_NAME": "PR-42", "CHANGE_ID": "42", "CHANGE_BRANCH": "feature/x"}, "org/app"),
        ("app/main", {"BRANCH_NAME": "main"}, "app"),
        ("main", {"BRANCH_NAME": "main"}, "main"),  # nothing above the branch: JOB_NAME it is
        ("org/app/main", {}, "org/app/main"),  # a plain job (no BRANCH_NAME) keeps JOB_NAME
        ("org/app/deploy", {"BRANCH_NAME": "main"}, "org/app/deploy"),  # JOB_NAME not ending in the branch
        ("org/app/main", {"BRANCH_NAME": ""}, "org/app/main"),
    ],
)
def test_a_jenkins_multibranch_job_is_one_project_across_its_branches(
    job_name: str, extra: dict[str, str], project: str
) -> None:
    """Each branch's job under a multibranch project shares the project's baselines, flaky history,
    releases and delivery (second review B3): its branch or PR is the branch, not part of the project."""
    assert detect_context(JENKINS | {"JOB_NAME": job_name, **extra}).project == project


def test_a_jenkins_multibranch_pipeline_is_its_branch_s_build() -> None:
    """Build numbers count per branch job, so once the branches share a project, main #512 and PR-42 #512
    must stay two pipelines (their parts are merged by project and pipeline; a deployment is stored once per
    pipeline and outcome)."""
    main = detect_context(JENKINS | {"JOB_NAME": "org/app/main", "BRANCH_NAME": "main"})
    pull = detect_context(JENKINS | {"JOB_NAME": "org/app/PR-42", "BRANCH_NAME": "PR-42", "CHANGE_ID": "42"})
    slash = detect_context(JENKINS | {"JOB_NAME": "org/app/release%2F2.4", "BRANCH_NAME": "release/2.4"})
    assert (main.pipeline, pull.pipeline, slash.pipeline) == ("main/512", "PR-42/512", "release%2F2.4/512")
    assert detect_context(JENKINS).pipeline == "512"  # a plain job's builds are its own
    no_build = {k: v for k, v in JENKINS.items() if k != "BUILD_NUMBER"} | {"JOB_NAME": "a/main", "BRANCH_NAME": "main"}
    assert detect_context(no_build).pipeline is None


def test_jenkins_is_recognised_by_its_home_or_build_tag() -> None:
    base = {k: v for k, v in JENKINS.items() if k != "JENKINS_URL"}
    assert detect_context(base | {"JENKINS_HOME": "/var/jenkins_home"}).ci == "jenkins"
    assert detect_context(base | {"BUILD_TAG": "jenkins-payments-api-512"}).ci == "jenkins"
    assert detect_context(base).ci is None


def test_jenkins_empty_variables_count_as_unset() -> None:
    env = JENKINS | {"CHANGE_BRANCH": "", "BRANCH_NAME": "", "BUILD_NUMBER": "", "BUILD_ID": "77"}
    context = detect_context(env)
    assert (context.branch, context.pipeline) == ("main", "77")


# --- GitLab ----------------------------------------------------------------------------------------


def test_gitlab_branch_pipeline() -> None:
    assert detect_context(GITLAB) == Context(
        ci="gitlab",
        project="payments/api",
        branch="main",
        commit="9b8a7c6d5e4f30211a2b3c4d5e6f708192a3b4c5",
        pipeline="90211",
        job="gate",
        url="https://gitlab.example.com/payments/api/-/jobs/4411",
        started_at="2026-03-15T09:00:00Z",
    )


def test_gitlab_merge_request_source_branch_wins() -> None:
    env = {k: v for k, v in GITLAB.items() if k != "CI_COMMIT_BRANCH"} | {
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/PAY-12",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_REF_NAME": "refs/merge-requests/7/head",
    }
    assert detect_context(env).branch == "feature/PAY-12"


def test_gitlab_tag_pipeline_falls_back_to_the_ref_name() -> None:
    env = {k: v for k, v in GITLAB.items() if k != "CI_COMMIT_BRANCH"} | {"CI_COMMIT_REF_NAME": "v2.4.0"}
    assert detect_context(env).branch == "v2.4.0"


def test_gitlab_without_a_job_url_links_the_pipeline() -> None:
    env = {k: v for k, v in GITLAB.items() if k != "CI_JOB_URL"}
    assert detect_context(env).url == "https://gitlab.example.com/payments/api/-/pipelines/90211"


# --- GitHub Actions --------------------------------------------------------------------------------


def test_github_push() -> None:
    assert detect_context(GITHUB) == Context(
        ci="github",
        project="acme/payments-api",
        branch="main",
        commit="0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5",
        pipeline="7781234567",
        job="gate",
        url="https://github.com/acme/payments-api/actions/runs/7781234567",
    )


def test_github_pull_request_uses_the_head_ref() -> None:
    env = GITHUB | {
        "GITHUB_HEAD_REF": "feature/PAY-12",
        "GITHUB_REF_NAME": "42/merge",
        "GITHUB_REF": "refs/pull/42/merge",
    }
    assert detect_context(env).branch == "feature/PAY-12"


def test_github_push_with_an_empty_head_ref() -> None:
    assert detect_context(GITHUB | {"GITHUB_HEAD_REF": ""}).branch == "main"


def test_github_without_ref_name_strips_refs_heads() -> None:
    env = {k: v for k, v in GITHUB.items() if k != "GITHUB_REF_NAME"}
    env["GITHUB_REF"] = "refs/heads/release/2.4"
    assert detect_context(env).branch == "release/2.4"


def test_github_enterprise_server_url() -> None:
    env = GITHUB | {"GITHUB_SERVER_URL": "https://github.acme.internal/"}
    assert detect_context(env).url == "https://github.acme.internal/acme/payments-api/actions/runs/7781234567"


def test_github_url_needs_repository_and_run() -> None:
    env = {k: v for k, v in GITHUB.items() if k not in ("GITHUB_SERVER_URL", "GITHUB_RUN_ID")}
    assert detect_context(env).url is None
    no_server = {k: v for k, v in GITHUB.items() if k != "GITHUB_SERVER_URL"}
    assert detect_context(no_server).url == "https://github.com/acme/payments-api/actions/runs/7781234567"


# --- job URLs: only http(s) becomes a link (issue 13, item 4) ----------------------------------------

HOSTILE_URLS = (
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)//https://ci.example/",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "//ci.example/no-scheme",
    "https://",  # no host
    "https://ci.example/job 1",  # a space would end a markdown link
    "https://ci.example/job/1\n# heading",
    "https://ci.example/\x1b[31m",
    "http://[::1",  # not a URL at all
)


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_jenkins_build_url_that_is_not_http_is_dropped_with_a_note(url: str) -> None:
    context = detect_context(JENKINS | {"BUILD_URL": url})
    assert context.url is None
    assert len(context.notes) == 1 and context.notes[0].startswith(f"BUILD_URL {url!a} is not an http(s) URL")
    assert context.notes[0].isprintable()  # the note goes to the CI log as it is


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_gitlab_job_url_that_is_not_http_falls_back_to_the_pipeline_url(url: str) -> None:
    context = detect_context(GITLAB | {"CI_JOB_URL": url})
    assert context.url == GITLAB["CI_PIPELINE_URL"]
    assert [note.split()[0] for note in context.notes] == ["CI_JOB_URL"]
    both = detect_context(GITLAB | {"CI_JOB_URL": url, "CI_PIPELINE_URL": url})
    assert both.url is None and len(both.notes) == 2


@pytest.mark.parametrize("server", ["javascript:alert(1)//", "data:,x", "ftp://github.example"])
def test_a_github_server_url_that_is_not_http_gives_no_run_url(server: str) -> None:
    context = detect_context(GITHUB | {"GITHUB_SERVER_URL": server})
    assert context.url is None  # not github.com either: that would link a run of someone else's server
    assert context.notes[0].startswith("GITHUB_SERVER_URL")


def test_http_urls_are_kept_as_given_and_notes_stay_out_of_the_verdict() -> None:
    url = 'HTTPS://ci.example:8443/job/a(1)/?q="x"#top'
    context = detect_context(JENKINS | {"BUILD_URL": url})
    assert (context.url, context.notes) == (url, ())
    noted = detect_context(JENKINS | {"BUILD_URL": "javascript:alert(1)"})
    assert "notes" not in noted.as_dict()
    assert noted == detect_context(JENKINS | {"BUILD_URL": ""})  # notes do not make two contexts differ


# --- none, and overrides ---------------------------------------------------------------------------


def test_outside_ci_nothing_is_known() -> None:
    assert detect_context({"HOME": "/home/dev", "GIT_BRANCH": "origin/main"}) == Context()
    fields = ("ci", "project", "branch", "commit", "pipeline", "job", "url", "started_at")
    assert Context().as_dict() == dict.fromkeys(fields)


def test_detect_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITLAB_CI", "GITHUB_ACTIONS", "JENKINS_URL", "JENKINS_HOME", "BUILD_TAG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    assert detect_context().project == "acme/payments-api"


def test_overrides_win_and_none_keeps_what_was_detected() -> None:
    detected = detect_context(GITHUB)
    overridden = detected.with_overrides(branch="release/2.4", project=None, commit="abc1234", pipeline=None)
    assert overridden.branch == "release/2.4"
    assert overridden.commit == "abc1234"
    assert overridden.project == "acme/payments-api"
    assert overridden.pipeline == "7781234567"
    assert detected.branch == "main"  # the detected context itself is unchanged


def test_overrides_work_outside_ci() -> None:
    context = detect_context({}).with_overrides(project="payments/api", branch="main")
    assert (context.ci, context.project, context.branch) == (None, "payments/api", "main")
