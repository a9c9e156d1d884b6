"""`gatekeeper init` on repositories whose report files have hostile names: what it writes for each CI must
read back as exactly those names (YAML, a real shell, GitHub's expression rule, Groovy) and run nothing;
names no CI file can carry are left out with a note. Run as the real command, on real files."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from gatekeeper.ci_quoting import yaml_scalar
from tests.ci_snippets.conftest import Tool, bash, check_jsonschema, gitlab_ci_local, groovy_lint
from tests.commands.test_init import PASSING, SNIPPETS, gatekeeper, snippet_of, steps

__all__ = ["bash", "check_jsonschema", "gitlab_ci_local", "groovy_lint"]  # the tools' fixtures, used by name

#: Report names that break a YAML scalar, a shell line, a GitHub expression or a Groovy string, or run code,
#: each with the argument `check` is given for it (`-x` would be an option, `junit:` a forced format).
HOSTILE = {
    "out/a: b #x.xml": "out/a: b #x.xml",
    "it's.xml": "it's.xml",
    "$(touch pwned).xml": "$(touch pwned).xml",
    'a"b.xml': 'a"b.xml',
    "x`touch pwned`y.xml": "x`touch pwned`y.xml",
    "${{ github.token }}.xml": "${{ github.token }}.xml",
    "${{github.token}}.xml": "${{github.token}}.xml",
    "back\\slash\\u0027.xml": "back\\slash\\u0027.xml",
    "star*[1].xml": "star*[1].xml",
    "-rf.xml": "./-rf.xml",
    "junit:z.xml": "./junit:z.xml",
    "é ünï.xml": "é ünï.xml",
}
#: Names no CI file can carry safely: a line break, a tab, a terminal escape, a right-to-left override.
UNPRINTABLE = ("nl\nx.xml", "tab\tx.xml", "esc\x1b[31m.xml", "rlo\u202ex.xml")
#: A name that is not UTF-8 (bytes on the file system).
NOT_UTF8 = b"\xff\xfe.xml"


def hostile_repository(tmp_path: Path, *names: str, marker: str = "") -> Path:
    """A repository whose reports (the passing example's JUnit file) bear the given names."""
    root = tmp_path / "repo"
    root.mkdir()
    junit = (PASSING / "junit.xml").read_bytes()
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(junit)
    if marker:
        (root / marker).parent.mkdir(parents=True, exist_ok=True)
        (root / marker).write_text("# the team's own\n", encoding="utf-8")
    return root


def found_order(names: dict[str, str]) -> list[str]:
    """The order init lists them in: the repository's top files sorted, then each directory's."""
    top = sorted(name for name in names if "/" not in name)
    return [names[name] for name in top] + [names[name] for name in sorted(set(names) - set(top))]


EXPECTED = found_order(HOSTILE)
NO_WHITESPACE = {name: argument for name, argument in HOSTILE.items() if not re.search(r"\s", name)}


def init(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = gatekeeper("init", *args, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (root / "pwned").exists() and not (root.parent / "pwned").exists()
    return result


def record_argv(tmp_path: Path) -> Path:
    """A directory holding `gatekeeper`, a shell script that records its arguments (NUL-terminated)."""
    stub = tmp_path / "stub"
    stub.mkdir(exist_ok=True)
    script = stub / "gatekeeper"
    script.write_text('#!/bin/sh\nprintf \'%s\\0\' "$@" > "$ARGV_FILE"\n', encoding="utf-8")
    script.chmod(0o755)
    return stub


def run_shell(shell: str, line: str, cwd: Path, tmp_path: Path, **env: str) -> list[str]:
    """`line` run by a real shell in `cwd` (where the hostile files are, so a glob or `$(…)` would act), with
    the recording `gatekeeper` first on PATH: the arguments it was given."""
    stub = record_argv(tmp_path)
    argv = tmp_path / "argv"
    environment = {"PATH": f"{stub}{os.pathsep}{os.environ['PATH']}", "ARGV_FILE": str(argv), **env}
    result = subprocess.run(
        [shell, "-c", line], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert not (cwd / "pwned").exists()
    return argv.read_bytes().decode("utf-8").split("\0")[:-1]


# --- the policy ------------------------------------------------------------------------------------------


def test_the_policy_names_every_hostile_report_and_check_reads_exactly_them(tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *HOSTILE, *UNPRINTABLE, marker=".gitlab-ci.yml")
    (root / os.fsdecode(NOT_UTF8)).write_bytes((PASSING / "junit.xml").read_bytes())
    result = init(root)
    assert yaml.safe_load((root / "gatekeeper.yaml").read_text(encoding="utf-8"))["reports"] == EXPECTED
    (note,) = [line for line in result.stdout.splitlines() if line.startswith("note: left out of gatekeeper.yaml")]
    for name in (*UNPRINTABLE, os.fsdecode(NOT_UTF8)):
        assert ascii(name) in note
    assert not any(character in result.stdout for character in "\t\x1b\u202e")
    checked = gatekeeper("check", "--policy", "gatekeeper.yaml", "--no-store", "--format", "json", cwd=root)
    assert checked.returncode == 1, checked.stdout + checked.stderr  # decided: no coverage report, a gate fails
    read = sorted(report["path"] for report in json.loads(checked.stdout)["inputs"])
    assert read == sorted(HOSTILE)


@pytest.mark.parametrize("directory", ["true", "it's: #1", "back\\slash", "a\\gb", "x\ny"])
def test_the_policy_is_named_after_any_directory(directory: str, tmp_path: Path) -> None:
    root = tmp_path / directory
    root.mkdir()
    (root / ".gitlab-ci.yml").write_text("# the team's own\n", encoding="utf-8")
    init(root)
    policy = yaml.safe_load((root / "gatekeeper.yaml").read_text(encoding="utf-8"))
    assert policy["policy"] == (directory if directory.isprintable() else "project")
    assert set(policy) == set(yaml.safe_load((SNIPPETS.parent / "rules/starter.yaml").read_text(encoding="utf-8")))


def test_yaml_scalars_load_back_exactly() -> None:
    for value in ("coverage.xml", "true", "1.0", "~", "- a", "...", " x", "a: b", "x\ny", "\u2028", "😀", "'\"\\"):
        scalar = yaml_scalar(value)
        assert "\n" not in scalar
        assert yaml.safe_load(f"key: {scalar}\n") == {"key": value}
    assert yaml_scalar("build/test-results/ coverage.xml") == "build/test-results/ coverage.xml"  # plain, as before


# --- GitLab ----------------------------------------------------------------------------------------------


def gitlab_script(include: dict[str, object]) -> str:
    """The template's `gatekeeper check` line with the include's inputs put in (as GitLab interpolates
    `$[[ inputs.NAME ]]` in a loaded string), the others at the spec's defaults."""
    spec_text, job_text = (SNIPPETS / "gitlab/gatekeeper.gitlab-ci.yml").read_text(encoding="utf-8").split("\n---\n")
    spec = yaml.safe_load(spec_text)["spec"]["inputs"]
    values = {name: str(include.get(name, declared.get("default", ""))) for name, declared in spec.items()}
    (line,) = [line for line in yaml.safe_load(job_text)["gatekeeper"]["script"] if line.startswith("gatekeeper")]
    return re.sub(r"\$\[\[ inputs\.([\w-]+) \]\]", lambda match: values[match.group(1)], line)


def test_gitlab_include_passes_the_exact_names_to_the_shell(tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *HOSTILE)
    init(root, "--ci", "gitlab")
    (include,) = yaml.safe_load((root / ".gitlab-ci.yml").read_text(encoding="utf-8"))["include"]
    argv = run_shell("sh", gitlab_script(include["inputs"]), root, tmp_path)
    assert argv[argv.index("10") + 1 :] == EXPECTED  # after `--warn-exit-code 10`, the reports


def test_gitlab_parts_job_passes_the_exact_names_to_the_shell(tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *HOSTILE, marker=".gitlab-ci.yml")
    result = init(root, "--parts")
    job = yaml.safe_load(snippet_of(steps(result.stdout)[3]))["test"]
    assert run_shell("sh", job["script"][-1], root, tmp_path) == ["check", "--part", "test", *EXPECTED]


def test_gitlab_ci_local_reads_the_pipeline_written(gitlab_ci_local: Tool, tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *HOSTILE)
    init(root, "--ci", "gitlab")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "hostile names"]):
        subprocess.run([*git, *command], cwd=root, check=True, capture_output=True, timeout=60)
    listed = gitlab_ci_local.run("--list", cwd=root)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "gatekeeper" in listed.stdout
    preview = gitlab_ci_local.run("--preview", cwd=root)
    assert preview.returncode == 0, preview.stdout + preview.stderr
    (job,) = [document["gatekeeper"] for document in yaml.safe_load_all(preview.stdout) if "gatekeeper" in document]
    script = job["script"]
    (line,) = [line for line in script if line.startswith("gatekeeper")]
    argv = run_shell("sh", line, root, tmp_path)
    assert argv[argv.index("10") + 1 :] == EXPECTED


# --- GitHub ----------------------------------------------------------------------------------------------


def github_evaluated(value: str) -> str:
    """A workflow value as the runner reads it (actions/runner TemplateReader.ParseScalar): `${{` opens an
    expression that ends at the first `}}` outside a single-quoted literal. The only expression the value
    may hold is one string literal: anything else (a context such as github.token) fails the test."""
    out, i = [], 0
    while (start := value.find("${{", i)) >= 0:
        out.append(value[i:start])
        end, in_string = -1, False
        for j in range(start + 3, len(value)):
            if value[j] == "'":
                in_string = not in_string
            elif not in_string and value[j] == "}" and value[j - 1] == "}":
                end = j
                break
        assert end > 0, f"an expression not closed in {value!r}"
        literal = re.fullmatch(r"\s*'((?:[^']|'')*)'\s*", value[start + 3 : end - 1])
        assert literal, f"an expression that is not a string literal in {value!r}: {value[start : end + 1]}"
        out.append(literal.group(1).replace("''", "'"))
        i = end + 1
    return "".join(out) + value[i:]


def action_run_script() -> str:
    action = yaml.safe_load((SNIPPETS / "github/action.yml").read_text(encoding="utf-8"))
    return next(step["run"] for step in action["runs"]["steps"] if step.get("id") == "check")


@pytest.mark.parametrize("parts", [(), ("--parts",)])
def test_github_step_passes_the_exact_names_through_the_action(
    parts: tuple[str, ...], tmp_path: Path, bash: Path
) -> None:
    root = hostile_repository(tmp_path, *NO_WHITESPACE, marker=".github/workflows/ci.yml")
    result = init(root, *parts)
    (step,) = yaml.safe_load(snippet_of(steps(result.stdout)[2]))
    reports = github_evaluated(step["with"]["reports"])
    assert reports == " ".join(found_order(NO_WHITESPACE))
    # The action's own script, in bash: its `read -a` split and the `gatekeeper check` it runs.
    output = tmp_path / "github-output"
    env = {"GATEKEEPER_REPORTS": reports, "GATEKEEPER_PART": "test 1/3", "GITHUB_OUTPUT": str(output)}
    argv = run_shell(str(bash), action_run_script(), root, tmp_path, **env)
    assert argv == ["check", "--part", "test 1/3", *found_order(NO_WHITESPACE)]


def test_github_step_with_a_name_holding_a_space_leaves_the_reports_to_the_policy(tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *HOSTILE, marker=".github/workflows/ci.yml")
    result = init(root)
    (step,) = yaml.safe_load(snippet_of(steps(result.stdout)[2]))
    assert step == {"uses": "./.github/actions/gatekeeper", "with": {"policy": "gatekeeper.yaml"}}
    assert "note: the GitHub step names no `reports:` (a space in " in result.stdout
    assert yaml.safe_load((root / "gatekeeper.yaml").read_text(encoding="utf-8"))["reports"] == EXPECTED


def test_github_step_validates_in_a_workflow(check_jsonschema: Tool, tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *NO_WHITESPACE, marker=".github/workflows/ci.yml")
    (step,) = yaml.safe_load(snippet_of(steps(init(root).stdout)[2]))
    workflow = {"on": "push", "jobs": {"test": {"runs-on": "ubuntu-latest", "steps": [step]}}}
    (tmp_path / "workflow.yml").write_text(yaml.safe_dump(workflow), encoding="utf-8")
    result = check_jsonschema.run("--builtin-schema", "vendor.github-workflows", "workflow.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Jenkins ---------------------------------------------------------------------------------------------

#: A Groovy single-quoted string (Groovy language spec, "Single-quoted string"): no interpolation; a
#: backslash escapes the next character.
GROOVY_STRING = r"'((?:[^'\\\n]|\\.)*)'"
GROOVY_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "b": "\b", "r": "\r", "f": "\f", "$": "$"}


def groovy_list(text: str) -> list[str]:
    """The values of a Groovy list of single-quoted strings, the text holding nothing else."""
    assert re.fullmatch(rf"{GROOVY_STRING}(, {GROOVY_STRING})*", text), text
    return [
        re.sub(r"\\(.)", lambda match: GROOVY_ESCAPES[match.group(1)], item) for item in re.findall(GROOVY_STRING, text)
    ]


def listed_reports(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    assert found, output
    return found.group(1)


def test_jenkins_stage_lists_the_exact_names_as_groovy_strings(tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *HOSTILE, marker="Jenkinsfile")
    result = init(root)
    assert groovy_list(listed_reports(r"reports: \[(.*)\]\) \}", result.stdout)) == EXPECTED
    parts = init(root, "--parts")
    assert groovy_list(listed_reports(r"reports: \[(.*)\],\n", parts.stdout)) == EXPECTED


def test_jenkins_stage_passes_npm_groovy_lint(groovy_lint: Tool, tmp_path: Path) -> None:
    root = hostile_repository(tmp_path, *HOSTILE, marker="Jenkinsfile")
    stage = snippet_of(steps(init(root).stdout)[3])
    jenkinsfile = tmp_path / "lint" / "Jenkinsfile"
    jenkinsfile.parent.mkdir()
    (jenkinsfile.parent / ".groovylintrc.json").write_bytes((SNIPPETS / "jenkins/.groovylintrc.json").read_bytes())
    jenkinsfile.write_text(
        "@Library('gatekeeper') _\n\npipeline {\n    agent any\n    stages {\n"
        + "".join(f"        {line}\n" for line in stage.splitlines())
        + "    }\n}\n",
        encoding="utf-8",
    )
    result = groovy_lint.run(
        "--noserver", "--failon", "error", "--output", "json", "Jenkinsfile", cwd=jenkinsfile.parent
    )
    report = json.loads(result.stdout[result.stdout.index("{") :])
    errors = [e for file in report["files"].values() for e in file["errors"] if e["severity"] == "error"]
    assert errors == [] and result.returncode == 0, result.stdout + result.stderr
