"""`gatekeeper init`: put a starter policy and the gate's CI snippet into a repository, so adding the gate
is one command and a review, not an afternoon with the README.

The snippets are ci-snippets/ of this repository, shipped inside the package (gatekeeper/ci_snippets
when installed).  Nothing that exists is overwritten without --force, and a CI file the team already
has (.gitlab-ci.yml, a Jenkinsfile, its workflows) is never edited: the next step says what to add.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TextIO

from gatekeeper.errors import UsageError
from gatekeeper.policy import resource_path
from gatekeeper.status import ExitStatus

POLICY_FILE = "gatekeeper.yaml"  # the name every snippet's `policy` input defaults to
LEVELS = range(1, 6)


class Ci(str, Enum):
    GITHUB = "github"
    GITLAB = "gitlab"
    JENKINS = "jenkins"


#: What marks a repository as using a CI (checked in this order).
MARKERS = {Ci.GITHUB: ".github", Ci.GITLAB: ".gitlab-ci.yml", Ci.JENKINS: "Jenkinsfile"}


@dataclass(frozen=True, slots=True, kw_only=True)
class InitOptions:
    directory: str = "."
    ci: Ci | None = None  # None: detected from the repository
    level: int | None = None  # None: the starter policy; 1-5: extends caict-cd/level-N
    force: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One file to write: where (relative to the repository) and its text."""

    path: str
    text: str
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    ci: Ci
    files: tuple[Planned, ...]
    next_steps: tuple[str, ...]


def run(options: InitOptions, out: TextIO) -> ExitStatus:
    root = Path(options.directory)
    if not root.is_dir():
        raise UsageError(f"{options.directory}: no such directory")
    plan = make_plan(root, options)
    if not options.force:
        for planned in plan.files:
            if (root / planned.path).exists():
                raise UsageError(f"{root / planned.path}: already exists; gatekeeper init --force overwrites it")
    for planned in plan.files:
        target = root / planned.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(planned.text, encoding="utf-8")
            if planned.text.startswith("#!"):
                target.chmod(0o755)
        except OSError as error:
            raise UsageError(f"{target}: cannot write it: {error.strerror}") from None
        out.write(f"wrote {planned.path}  ({planned.why})\n")
    out.write("\nnext:\n")
    for number, step in enumerate(plan.next_steps, 1):
        out.write(f"  {number}. {step}\n")
    return ExitStatus.PASS


def make_plan(root: Path, options: InitOptions) -> Plan:
    """The files to write and the steps to tell, for the CI named or detected; nothing is written here."""
    if options.level is not None and options.level not in LEVELS:
        raise UsageError(f"--level {options.level}: the levels are 1 to 5")
    ci = options.ci or detect(root)
    policy = Planned(path=POLICY_FILE, text=policy_text(_name(root), options.level), why=_policy_why(options.level))
    snippets = PLANNERS[ci](root)
    check_first = f"try it: gatekeeper rules validate {POLICY_FILE} && gatekeeper check --policy {POLICY_FILE} REPORTS…"
    return Plan(ci=ci, files=(policy, *snippets.files), next_steps=(check_first, *snippets.next_steps))


def detect(root: Path) -> Ci:
    """The one CI the repository shows signs of; none or several is a usage error asking for --ci."""
    found = [ci for ci, marker in MARKERS.items() if (root / marker).exists()]
    if len(found) == 1:
        return found[0]
    markers = ", ".join(MARKERS.values())
    if not found:
        raise UsageError(f"{root}: no CI found (none of {markers}): name one with --ci github|gitlab|jenkins")
    named = " and ".join(f"{ci.value} ({MARKERS[ci]})" for ci in found)
    raise UsageError(f"{root}: more than one CI found, {named}: choose one with --ci")


# -- the policy ---------------------------------------------------------------------------------------


def policy_text(name: str, level: int | None) -> str:
    """The starter policy's gates copied (to tune in place), or an `extends` of a maturity-level pack."""
    if level is None:
        starter = resource_path("rules", "starter.yaml").read_text(encoding="utf-8")
        body = re.sub(r"(?m)^policy: .*$", f"policy: {_quoted(name)}", _without_leading_comments(starter), count=1)
        return (
            f"# The quality gate of {name}, from gatekeeper's starter policy (`gatekeeper init`): tune the\n"
            '# thresholds to what the team enforces. Keys: README, "Policy reference"; your numbers:\n'
            "# `gatekeeper metrics REPORTS…`.\n"
            f"{body}"
        )
    return (
        f"# The quality gate of {name}: CAICT DevOps CD level {level} (`gatekeeper init --level {level}`).\n"
        "# Override a gate by repeating its id under gates: (the pack's locked gates cannot be), accept findings\n"
        f"# under waivers:. `gatekeeper rules show {POLICY_FILE}` prints the effective policy.\n"
        f"policy: {_quoted(name)}\n"
        "format: 1\n"
        f"extends: caict-cd/level-{level}\n"
        "gates: []\n"
    )


def _policy_why(level: int | None) -> str:
    return "the starter policy's gates" if level is None else f"extends caict-cd/level-{level}"


def _without_leading_comments(text: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def _name(root: Path) -> str:
    return root.resolve().name or "project"


def _quoted(value: str) -> str:
    """A YAML scalar that stays a string whatever the directory is called."""
    import json

    return value if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value) else json.dumps(value)


# -- the snippets -------------------------------------------------------------------------------------


def snippets_directory() -> Path:
    """ci-snippets/: inside the package when installed (gatekeeper/ci_snippets), beside it in a checkout."""
    installed = resource_path("ci_snippets")
    return installed if installed.is_dir() else resource_path("ci-snippets")


def snippet(relative: str) -> str:
    path = snippets_directory() / relative
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: the bundled CI snippet cannot be read: {error.strerror}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Snippets:
    """What one CI needs beside the policy: files to write, and the steps left to the team."""

    files: tuple[Planned, ...]
    next_steps: tuple[str, ...]


Planner = Callable[[Path], Snippets]


def _github(root: Path) -> Snippets:
    action = Planned(path=".github/actions/gatekeeper/action.yml", text=snippet("github/action.yml"),
                     why="the composite action: job summary, annotations, verdict")  # fmt: skip
    workflows = root / ".github" / "workflows"
    existing = sorted(p.name for p in workflows.glob("*.y*ml")) if workflows.is_dir() else []
    if existing:
        return Snippets(
            files=(action,),
            next_steps=(
                f"add the gate to your workflow ({', '.join(existing)}), after the tests and scans:\n"
                "       - uses: ./.github/actions/gatekeeper\n"
                "         with:\n"
                f"           policy: {POLICY_FILE}\n"
                "           reports: build/test-results/ coverage.xml bandit.json",
                "commit gatekeeper.yaml and .github/actions/gatekeeper/",
            ),
        )
    workflow = Planned(path=".github/workflows/gatekeeper.yml", text=snippet("github/workflow.yml"),
                       why="an example workflow: tests, a bandit scan, then the gate")  # fmt: skip
    return Snippets(
        files=(action, workflow),
        next_steps=(
            "adapt the test and scan steps of .github/workflows/gatekeeper.yml to your project, and its `reports:`",
            "commit gatekeeper.yaml and .github/",
        ),
    )


GITLAB_TEMPLATE = "ci/gatekeeper.gitlab-ci.yml"
GITLAB_INCLUDE = (
    "include:\n"
    f"  - local: {GITLAB_TEMPLATE}\n"
    "    inputs:\n"
    f"      policy: {POLICY_FILE}\n"
    "      reports: build/test-results/ coverage.xml bandit.json\n"
)


def _gitlab(root: Path) -> Snippets:
    template = Planned(path=GITLAB_TEMPLATE, text=snippet("gitlab/gatekeeper.gitlab-ci.yml"),
                       why="the gatekeeper job: gate junit, code quality, verdict artifacts")  # fmt: skip
    include = _indented(GITLAB_INCLUDE)
    if (root / ".gitlab-ci.yml").exists():
        return Snippets(
            files=(template,),
            next_steps=(
                "add to .gitlab-ci.yml (set `reports` to what your jobs write; the job runs in stage `test`):\n"
                + include,
                f"commit gatekeeper.yaml and {GITLAB_TEMPLATE}",
            ),
        )
    pipeline = Planned(path=".gitlab-ci.yml", text="# The pipeline: gatekeeper's quality gate (`gatekeeper init`).\n"
                       + GITLAB_INCLUDE, why="includes the gatekeeper job")  # fmt: skip
    return Snippets(
        files=(template, pipeline),
        next_steps=(
            "add your test and scan jobs to .gitlab-ci.yml and set `reports` to what they write",
            f"commit gatekeeper.yaml, .gitlab-ci.yml and {GITLAB_TEMPLATE}",
        ),
    )


JENKINS_LIBRARY = "ci/jenkins-library"
JENKINS_STAGE = (
    "stage('Quality gate') {\n"
    f"    steps {{ gatekeeper(policy: '{POLICY_FILE}', reports: ['build/test-results/', 'coverage.xml']) }}\n"
    "}\n"
)


def _jenkins(root: Path) -> Snippets:
    library = (
        Planned(path=f"{JENKINS_LIBRARY}/vars/gatekeeper.groovy", text=snippet("jenkins/vars/gatekeeper.groovy"),
                why="the shared-library step"),
        Planned(path=f"{JENKINS_LIBRARY}/resources/gatekeeper/gatekeeper-step.sh",
                text=snippet("jenkins/resources/gatekeeper/gatekeeper-step.sh"),
                why="the step's exit code -> build result mapping"),
    )  # fmt: skip
    register = (
        f"push {JENKINS_LIBRARY}/ (vars/ and resources/) to a Git repository and register it under Manage Jenkins >"
        " System > Global Pipeline Libraries as `gatekeeper`"
    )
    if (root / "Jenkinsfile").exists():
        stage = _indented(JENKINS_STAGE)
        return Snippets(
            files=library,
            next_steps=(
                register,
                f"in your Jenkinsfile: add `@Library('gatekeeper') _` at the top, and after the test stage:\n{stage}",
            ),
        )
    jenkinsfile = Planned(path="Jenkinsfile", text=snippet("jenkins/Jenkinsfile"),
                          why="an example declarative pipeline: tests, a bandit scan, then the gate")  # fmt: skip
    return Snippets(
        files=(*library, jenkinsfile), next_steps=(register, "adapt the Test stage of the Jenkinsfile to your project")
    )


PLANNERS: dict[Ci, Planner] = {Ci.GITHUB: _github, Ci.GITLAB: _gitlab, Ci.JENKINS: _jenkins}


def _indented(text: str) -> str:
    """A multi-line snippet inside a numbered next step."""
    return "\n".join(f"       {line}" for line in text.rstrip("\n").splitlines())
