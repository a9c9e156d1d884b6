"""`gatekeeper init` on temporary repositories, run as the real command: what it writes for each CI, that
the policy it writes validates and gates the bundled example, and that it never overwrites silently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gatekeeper.commands.init import snippets_directory
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
SNIPPETS = snippets_directory()
PASSING = REPO / "examples" / "passing" / "reports"


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    env.pop("GATEKEEPER_POLICY", None)
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def files_in(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def repository(tmp_path: Path, *markers: str) -> Path:
    """A repository with the given files (a path ending in / is a directory)."""
    root = tmp_path / "repo"
    root.mkdir()
    for marker in markers:
        target = root / marker
        if marker.endswith("/"):
            target.mkdir(parents=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("# the team's own\n", encoding="utf-8")
    return root


def assert_copied(root: Path, written: str, snippet: str) -> None:
    assert (root / written).read_text(encoding="utf-8") == (SNIPPETS / snippet).read_text(encoding="utf-8")


def assert_policy_validates(root: Path) -> str:
    result = gatekeeper("rules", "validate", "gatekeeper.yaml", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("gatekeeper.yaml: ok")
    return result.stdout


# --- each CI -------------------------------------------------------------------------------------------


def test_github_detected_with_no_workflow_gets_the_action_and_the_example_workflow(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert files_in(root) == {
        "gatekeeper.yaml", ".github/actions/gatekeeper/action.yml", ".github/workflows/gatekeeper.yml",
    }  # fmt: skip
    assert_copied(root, ".github/actions/gatekeeper/action.yml", "github/action.yml")
    assert_copied(root, ".github/workflows/gatekeeper.yml", "github/workflow.yml")
    workflow = yaml.safe_load((root / ".github/workflows/gatekeeper.yml").read_text(encoding="utf-8"))
    uses = [step["uses"] for job in workflow["jobs"].values() for step in job["steps"] if "uses" in step]
    assert "./.github/actions/gatekeeper" in uses  # the action is where the workflow looks for it
    for line in ("wrote gatekeeper.yaml", "wrote .github/actions/gatekeeper/action.yml", "next:"):
        assert line in result.stdout
    assert_policy_validates(root)


def test_github_with_a_workflow_gets_the_action_and_the_step_to_add(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/workflows/ci.yml")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert files_in(root) == {"gatekeeper.yaml", ".github/actions/gatekeeper/action.yml", ".github/workflows/ci.yml"}
    assert (root / ".github/workflows/ci.yml").read_text(encoding="utf-8") == "# the team's own\n"
    step = result.stdout.split("after the tests and scans:\n", 1)[1].split("\n  3.", 1)[0]
    parsed = yaml.safe_load(step)
    assert parsed == [
        {
            "uses": "./.github/actions/gatekeeper",
            "with": {"policy": "gatekeeper.yaml", "reports": "build/test-results/ coverage.xml bandit.json"},
        }
    ]
    assert len(step.strip().splitlines()) <= 5


def test_gitlab_with_a_pipeline_gets_the_template_and_the_include_to_add(tmp_path: Path) -> None:
    root = repository(tmp_path, ".gitlab-ci.yml")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert files_in(root) == {"gatekeeper.yaml", "ci/gatekeeper.gitlab-ci.yml", ".gitlab-ci.yml"}
    assert_copied(root, "ci/gatekeeper.gitlab-ci.yml", "gitlab/gatekeeper.gitlab-ci.yml")
    assert (root / ".gitlab-ci.yml").read_text(encoding="utf-8") == "# the team's own\n"
    include = yaml.safe_load(result.stdout.split("the job runs in stage `test`):\n", 1)[1].split("\n  3.", 1)[0])
    assert include["include"][0]["local"] == "ci/gatekeeper.gitlab-ci.yml"
    assert (root / include["include"][0]["local"]).is_file()
    assert_policy_validates(root)


def test_gitlab_named_without_a_pipeline_gets_one_that_includes_the_job(tmp_path: Path) -> None:
    root = repository(tmp_path)
    result = gatekeeper("init", "--ci", "gitlab", cwd=root)
    assert result.returncode == 0, result.stderr
    pipeline = yaml.safe_load((root / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    included = pipeline["include"][0]
    assert (root / included["local"]).is_file()
    # The inputs given are the ones the template declares.
    spec = next(yaml.safe_load_all((root / included["local"]).read_text(encoding="utf-8")))["spec"]
    assert set(included["inputs"]) <= set(spec["inputs"])


def test_jenkins_with_a_jenkinsfile_gets_the_library_and_the_stage_to_add(tmp_path: Path) -> None:
    root = repository(tmp_path, "Jenkinsfile")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    library = "ci/jenkins-library"
    assert files_in(root) == {
        "gatekeeper.yaml", "Jenkinsfile", f"{library}/vars/gatekeeper.groovy",
        f"{library}/resources/gatekeeper/gatekeeper-step.sh",
    }  # fmt: skip
    assert (root / "Jenkinsfile").read_text(encoding="utf-8") == "# the team's own\n"
    assert_copied(root, f"{library}/vars/gatekeeper.groovy", "jenkins/vars/gatekeeper.groovy")
    assert_copied(
        root, f"{library}/resources/gatekeeper/gatekeeper-step.sh", "jenkins/resources/gatekeeper/gatekeeper-step.sh"
    )
    assert os.access(root / library / "resources/gatekeeper/gatekeeper-step.sh", os.X_OK)
    assert "@Library('gatekeeper') _" in result.stdout
    assert "stage('Quality gate')" in result.stdout
    assert_policy_validates(root)


def test_jenkins_named_without_a_jenkinsfile_gets_the_example_pipeline(tmp_path: Path) -> None:
    root = repository(tmp_path)
    result = gatekeeper("init", "--ci", "jenkins", cwd=root)
    assert result.returncode == 0, result.stderr
    assert_copied(root, "Jenkinsfile", "jenkins/Jenkinsfile")
    assert "wrote Jenkinsfile" in result.stdout


def test_a_directory_argument_is_the_repository(tmp_path: Path) -> None:
    root = repository(tmp_path, ".gitlab-ci.yml")
    result = gatekeeper("init", str(root), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (root / "gatekeeper.yaml").is_file() and not (tmp_path / "gatekeeper.yaml").exists()


# --- the policy ----------------------------------------------------------------------------------------


def test_the_starter_policy_written_gates_the_passing_example(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/")
    assert gatekeeper("init", cwd=root).returncode == 0
    policy = yaml.safe_load((root / "gatekeeper.yaml").read_text(encoding="utf-8"))
    starter = yaml.safe_load((REPO / "rules" / "starter.yaml").read_text(encoding="utf-8"))
    assert policy == {**starter, "policy": "repo"}  # the starter's gates, named after the repository
    result = gatekeeper(
        "check", "--policy", "gatekeeper.yaml", "--no-store", "--format", "json",
        str(PASSING / "junit.xml"), str(PASSING / "coverage.xml"), str(PASSING / "bandit.json"), cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status": "pass"' in result.stdout


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_a_level_policy_extends_that_pack_and_validates(level: int, tmp_path: Path) -> None:
    root = repository(tmp_path, ".gitlab-ci.yml")
    result = gatekeeper("init", "--level", str(level), cwd=root)
    assert result.returncode == 0, result.stderr
    policy = yaml.safe_load((root / "gatekeeper.yaml").read_text(encoding="utf-8"))
    assert policy["extends"] == f"caict-cd/level-{level}"
    assert f"level {level} of caict-devops-cd" in assert_policy_validates(root)


def test_a_level_outside_1_to_5_is_refused(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/")
    result = gatekeeper("init", "--level", "6", cwd=root)
    assert result.returncode == 2
    assert files_in(root) == set()


# --- refusals --------------------------------------------------------------------------------------------


def test_no_ci_found_asks_for_ci_and_writes_nothing(tmp_path: Path) -> None:
    root = repository(tmp_path)
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "no CI found" in result.stderr and "--ci github|gitlab|jenkins" in result.stderr
    assert files_in(root) == set()


def test_more_than_one_ci_found_asks_to_choose(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/", "Jenkinsfile")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 2
    assert "github (.github) and jenkins (Jenkinsfile)" in result.stderr and "--ci" in result.stderr
    assert files_in(root) == {"Jenkinsfile"}


def test_an_existing_file_is_kept_and_the_missing_ones_written(tmp_path: Path) -> None:
    root = repository(tmp_path, ".gitlab-ci.yml", "ci/gatekeeper.gitlab-ci.yml")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "kept ci/gatekeeper.gitlab-ci.yml  (it exists; gatekeeper init --force overwrites it)" in result.stdout
    assert "wrote gatekeeper.yaml" in result.stdout
    assert files_in(root) == {".gitlab-ci.yml", "ci/gatekeeper.gitlab-ci.yml", "gatekeeper.yaml"}
    assert (root / "ci/gatekeeper.gitlab-ci.yml").read_text(encoding="utf-8") == "# the team's own\n"

    forced = gatekeeper("init", "--force", cwd=root)
    assert forced.returncode == 0, forced.stderr
    assert_copied(root, "ci/gatekeeper.gitlab-ci.yml", "gitlab/gatekeeper.gitlab-ci.yml")
    assert (root / ".gitlab-ci.yml").read_text(encoding="utf-8") == "# the team's own\n"  # never edited


def test_a_second_run_with_everything_in_place_refuses_and_writes_nothing(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/")
    assert gatekeeper("init", cwd=root).returncode == 0
    before = {name: (root / name).read_bytes() for name in files_in(root)}
    again = gatekeeper("init", "--level", "3", cwd=root)
    assert again.returncode == 2
    assert again.stdout == ""
    assert again.stderr.strip() == (
        "gatekeeper: error: gatekeeper.yaml, .github/actions/gatekeeper/action.yml: already exist;"
        " gatekeeper init --force overwrites"
    )
    assert {name: (root / name).read_bytes() for name in files_in(root)} == before


def test_a_second_ci_is_added_without_force_and_the_policy_kept(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/")
    assert gatekeeper("init", cwd=root).returncode == 0
    policy = (root / "gatekeeper.yaml").read_bytes()
    result = gatekeeper("init", "--ci", "gitlab", cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("kept gatekeeper.yaml  (it exists; gatekeeper init --force overwrites it)\n")
    assert "wrote ci/gatekeeper.gitlab-ci.yml" in result.stdout and "wrote .gitlab-ci.yml" in result.stdout
    assert (root / "gatekeeper.yaml").read_bytes() == policy
    assert_copied(root, "ci/gatekeeper.gitlab-ci.yml", "gitlab/gatekeeper.gitlab-ci.yml")
    assert {".github/actions/gatekeeper/action.yml", ".github/workflows/gatekeeper.yml"} <= files_in(root)


# --- what the repository already has ----------------------------------------------------------------------

CI_WORKFLOW = """\
name: CI
on: [push]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ruff check .
  unit:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Test
        run: |
          pip install -e .
          python -m pytest --junitxml=build/test-results/test/TEST-all.xml
"""
RELEASE_WORKFLOW = "name: Release\non: [push]\njobs:\n  publish:\n    steps:\n      - run: python -m build\n"


def test_github_names_the_job_that_runs_the_tests(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/workflows/")
    (root / ".github/workflows/ci.yml").write_text(CI_WORKFLOW, encoding="utf-8")
    (root / ".github/workflows/release.yml").write_text(RELEASE_WORKFLOW, encoding="utf-8")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "add the gate to the job that runs the tests (`unit` in ci.yml), after the tests and scans:" in result.stdout
    assert "release.yml" not in result.stdout and "`lint`" not in result.stdout


def test_github_with_no_test_job_found_lists_the_workflows(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/workflows/")
    (root / ".github/workflows/release.yml").write_text(RELEASE_WORKFLOW, encoding="utf-8")
    (root / ".github/workflows/docs.yml").write_text("{not: yaml: at all\n", encoding="utf-8")
    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "add the gate to your workflow (docs.yml, release.yml), after the tests and scans:" in result.stdout


def test_the_reports_in_the_repository_fill_the_policy_and_the_snippet(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/workflows/", "package.json", "docs/conf.json")
    (root / ".github/workflows/ci.yml").write_text(CI_WORKFLOW, encoding="utf-8")
    results = root / "build/test-results/test"
    results.mkdir(parents=True)
    for name in ("TEST-a.xml", "TEST-b.xml"):  # one file per test class, as Gradle and Surefire write them
        (results / name).write_bytes((PASSING / "junit.xml").read_bytes())
    (root / "coverage.xml").write_bytes((PASSING / "coverage.xml").read_bytes())
    (root / "bandit.json").write_bytes((PASSING / "bandit.json").read_bytes())
    # Reports no build of this repository wrote: a dependency's, a tool environment's, a test fixture.
    for decoy in ("node_modules/dep/junit.xml", ".venv/lib/coverage.xml", "tests/fixtures/junit.xml"):
        (root / decoy).parent.mkdir(parents=True, exist_ok=True)
        (root / decoy).write_bytes((PASSING / "junit.xml").read_bytes())
    (root / "empty.xml").write_bytes(b"")

    result = gatekeeper("init", cwd=root)
    assert result.returncode == 0, result.stderr
    found = ["bandit.json", "coverage.xml", "build/test-results/test/"]
    policy = yaml.safe_load((root / "gatekeeper.yaml").read_text(encoding="utf-8"))
    assert policy["reports"] == found
    step = yaml.safe_load(result.stdout.split("after the tests and scans:\n", 1)[1].split("\n  3.", 1)[0])
    assert step[0]["with"]["reports"] == " ".join(found)
    assert "gatekeeper check --policy gatekeeper.yaml\n" in result.stdout  # no REPORTS… left to fill in

    # `check` with no report named reads what the policy names: both test files, the coverage and the scan.
    checked = gatekeeper("check", "--policy", "gatekeeper.yaml", "--no-store", "--format", "json", cwd=root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    verdict = json.loads(checked.stdout)
    assert sorted(Path(report["path"]).name for report in verdict["inputs"]) == sorted(
        ["TEST-a.xml", "TEST-b.xml", "coverage.xml", "bandit.json"]
    )


def test_reports_found_fill_the_gitlab_include_and_the_jenkins_stage(tmp_path: Path) -> None:
    root = repository(tmp_path, "Jenkinsfile")
    (root / "target/site/jacoco").mkdir(parents=True)
    (root / "target/site/jacoco/coverage.xml").write_bytes((PASSING / "coverage.xml").read_bytes())
    jenkins = gatekeeper("init", cwd=root)
    assert jenkins.returncode == 0, jenkins.stderr
    assert "gatekeeper(policy: 'gatekeeper.yaml', reports: ['target/site/jacoco/coverage.xml'])" in jenkins.stdout
    gitlab = gatekeeper("init", "--ci", "gitlab", cwd=root)
    assert gitlab.returncode == 0, gitlab.stderr
    pipeline = yaml.safe_load((root / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert pipeline["include"][0]["inputs"]["reports"] == "target/site/jacoco/coverage.xml"


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = gatekeeper("init", "no-such-repo", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "gatekeeper: error: no-such-repo: no such directory"


# --- parts and deployments (--parts, --deploy) -----------------------------------------------------------


def steps(output: str) -> dict[int, str]:
    """The numbered next steps, each with its indented snippet lines (dedented)."""
    found: dict[int, list[str]] = {}
    number = 0
    for line in output.split("\nnext:\n", 1)[1].splitlines():
        head, _, rest = line.strip().partition(". ")
        if line.startswith("  ") and not line.startswith("   ") and head.isdigit():
            number = int(head)
            found[number] = [rest]
        elif number:
            found[number].append(line[7:])
    return {key: "\n".join(lines) for key, lines in found.items()}


def snippet_of(step: str) -> str:
    """The snippet a step shows, as the text to paste (ending in a newline)."""
    return step.split("\n", 1)[1] + "\n"


def test_plain_init_offers_parts_and_deploy(tmp_path: Path) -> None:
    for ci in ("github", "gitlab", "jenkins"):
        (tmp_path / ci).mkdir()
        root = repository(tmp_path / ci)
        result = gatekeeper("init", "--ci", ci, cwd=root)
        assert result.returncode == 0, result.stderr
        last = list(steps(result.stdout).values())[-1]
        assert last == (
            "more from gatekeeper init: --parts (tests split over parallel jobs, one decision over all of them); "
            "--deploy (record each deployment for the four delivery keys)"
        )


def test_gitlab_parts_without_a_pipeline_includes_the_parts_template(tmp_path: Path) -> None:
    root = repository(tmp_path)
    result = gatekeeper("init", "--ci", "gitlab", "--parts", cwd=root)
    assert result.returncode == 0, result.stderr
    assert files_in(root) == {"gatekeeper.yaml", "ci/gatekeeper-parts.gitlab-ci.yml", ".gitlab-ci.yml"}
    assert_copied(root, "ci/gatekeeper-parts.gitlab-ci.yml", "gitlab/gatekeeper-parts.gitlab-ci.yml")
    included = yaml.safe_load((root / ".gitlab-ci.yml").read_text(encoding="utf-8"))["include"][0]
    spec = next(yaml.safe_load_all((root / included["local"]).read_text(encoding="utf-8")))["spec"]
    assert set(included["inputs"]) <= set(spec["inputs"])
    job = yaml.safe_load(snippet_of(steps(result.stdout)[2]))["test"]
    assert (job["extends"], job["parallel"]) == (".gatekeeper-part", 3)
    assert job["script"][-1] == "gatekeeper check --part test build/test-results/ coverage.xml bandit.json"
    assert (
        "--deploy" in list(steps(result.stdout).values())[-1]
        and "--parts" not in list(steps(result.stdout).values())[-1]
    )
    assert_policy_validates(root)


def test_gitlab_parts_and_deploy_with_a_pipeline_give_the_includes_to_add(tmp_path: Path) -> None:
    root = repository(tmp_path, ".gitlab-ci.yml")
    result = gatekeeper("init", "--parts", "--deploy", cwd=root)
    assert result.returncode == 0, result.stderr
    assert files_in(root) == {
        "gatekeeper.yaml", ".gitlab-ci.yml", "ci/gatekeeper-parts.gitlab-ci.yml", "ci/gatekeeper-deploy.gitlab-ci.yml",
    }  # fmt: skip
    assert_copied(root, "ci/gatekeeper-deploy.gitlab-ci.yml", "gitlab/gatekeeper-deploy.gitlab-ci.yml")
    assert (root / ".gitlab-ci.yml").read_text(encoding="utf-8") == "# the team's own\n"
    told = steps(result.stdout)
    include = yaml.safe_load(snippet_of(told[2]))["include"][0]
    assert include["local"] == "ci/gatekeeper-parts.gitlab-ci.yml" and (root / include["local"]).is_file()
    deploy = yaml.safe_load(snippet_of(told[6]))
    assert deploy["include"][0]["local"] == "ci/gatekeeper-deploy.gitlab-ci.yml"
    spec = next(yaml.safe_load_all((root / deploy["include"][0]["local"]).read_text(encoding="utf-8")))["spec"]
    assert set(deploy["include"][0]["inputs"]) <= set(spec["inputs"])
    assert deploy["deploy-prod"]["extends"] == ".gatekeeper-deploy"
    assert not any(step.startswith("more from gatekeeper init") for step in told.values())


def test_github_parts_without_a_workflow_writes_the_matrix_workflow(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/")
    result = gatekeeper("init", "--parts", cwd=root)
    assert result.returncode == 0, result.stderr
    assert_copied(root, ".github/workflows/gatekeeper.yml", "github/parts-workflow.yml")
    assert_copied(root, ".github/actions/gatekeeper/action.yml", "github/action.yml")


def test_github_parts_and_deploy_with_a_workflow_give_the_steps(tmp_path: Path) -> None:
    root = repository(tmp_path, ".github/workflows/ci.yml")
    result = gatekeeper("init", "--parts", "--deploy", cwd=root)
    assert result.returncode == 0, result.stderr
    assert files_in(root) == {"gatekeeper.yaml", ".github/actions/gatekeeper/action.yml", ".github/workflows/ci.yml"}
    told = steps(result.stdout)
    action = yaml.safe_load((root / ".github/actions/gatekeeper/action.yml").read_text(encoding="utf-8"))
    (part,) = yaml.safe_load(snippet_of(told[2]))
    assert part["with"]["part"] == "test ${{ matrix.shard }}/3" and set(part["with"]) <= set(action["inputs"])
    gate = yaml.safe_load(snippet_of(told[3]))["gate"]
    final = gate["steps"][-1]["with"]
    assert final["pipeline-final"] == "true" and set(final) <= set(action["inputs"])
    (record,) = yaml.safe_load(snippet_of(told[6]))
    workflow = yaml.safe_load((SNIPPETS / "github/deploy.yml").read_text(encoding="utf-8"))
    assert record == workflow["jobs"]["deploy"]["steps"][-1]  # the snippet's own step, word for word


def test_jenkins_parts_and_deploy(tmp_path: Path) -> None:
    (tmp_path / "bare").mkdir()
    (tmp_path / "own").mkdir()
    bare = repository(tmp_path / "bare")
    result = gatekeeper("init", "--ci", "jenkins", "--parts", cwd=bare)
    assert result.returncode == 0, result.stderr
    assert_copied(bare, "Jenkinsfile", "jenkins/Jenkinsfile.parallel")
    own = repository(tmp_path / "own", "Jenkinsfile")
    result = gatekeeper("init", "--parts", "--deploy", cwd=own)
    assert result.returncode == 0, result.stderr
    told = steps(result.stdout)
    assert 'part: "test ${N}/3"' in told[3] and "pipelineFinal: true" in told[3]
    post = snippet_of(told[4])
    assert post.startswith("post {\n    always {") and post.endswith("\n}\n")
    assert 'gatekeeper deploy record --project "$GATEKEEPER_PROJECT"' in post  # the gate's project, not JOB_NAME
    assert "a deploy job is another job" in post and "GATEKEEPER_PROJECT, the project the gate records" in told[4]
    assert post.count("{") == post.count("}")


def test_deploy_added_later_to_a_repository_with_everything_else(tmp_path: Path) -> None:
    """init, then init --deploy: the files in place are kept, the new step told (not 'already exist')."""
    root = repository(tmp_path, ".github/")
    assert gatekeeper("init", cwd=root).returncode == 0
    before = {name: (root / name).read_bytes() for name in files_in(root)}
    result = gatekeeper("init", "--deploy", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "kept gatekeeper.yaml" in result.stdout and "record each deployment" in result.stdout
    assert {name: (root / name).read_bytes() for name in files_in(root)} == before


@pytest.mark.parametrize("ci", ["github", "gitlab", "jenkins"])
@pytest.mark.parametrize("first", [(), ("--parts",)])
def test_deploy_added_later_leaves_the_gate_of_either_shape_alone(
    ci: str, first: tuple[str, ...], tmp_path: Path
) -> None:
    """init [--parts], then init --deploy: only the deployment recording is added; the single-job gate is not
    planned again (its GitLab template was written beside a parts setup, its steps told over it)."""
    root = repository(tmp_path)
    assert gatekeeper("init", "--ci", ci, *first, cwd=root).returncode == 0
    before = {name: (root / name).read_bytes() for name in files_in(root)}
    result = gatekeeper("init", "--ci", ci, "--deploy", cwd=root)
    assert result.returncode == 0, result.stderr
    added = {"gitlab": {"ci/gatekeeper-deploy.gitlab-ci.yml"}}.get(ci, set())
    assert files_in(root) == set(before) | added
    assert {name: (root / name).read_bytes() for name in before} == before
    told = list(steps(result.stdout).values())
    assert len(told) == 2 and told[0].startswith("try it:") and told[1].startswith("record each deployment")
