"""`gatekeeper init`: put a starter policy and the gate's CI snippet into a repository, so adding the gate
is one command and a review, not an afternoon with the README.

The snippets are ci-snippets/ of this repository, shipped inside the package (gatekeeper/ci_snippets
when installed).  Nothing that exists is overwritten without --force (it is kept, and the files still
missing are written, so a second CI's snippet can be added later), and a CI file the team already has
(.gitlab-ci.yml, a Jenkinsfile, its workflows) is never edited: the next step says what to add.

The report files already in the repository (found by content, as `check` finds them) fill the policy's
`reports:` and the snippets' report lists, so the first `gatekeeper check` reads what the build writes.

`--parts` offers the parallel-jobs shape instead of the single gate job (each test job records a part, one
last job decides: ci-snippets' parts snippets), `--deploy` adds what records each deployment for the four
delivery keys; without them the last next step says they exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TextIO

from gatekeeper.ci_quoting import (
    github_text,
    github_word,
    groovy_string,
    printable,
    report_argument,
    shell_words,
    shown,
    yaml_scalar,
)
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
    parts: bool = False  # tests split over parallel jobs: each records a part, one last job decides
    deploy: bool = False  # also record deployments (deploy record) for the four delivery keys


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
    notes: tuple[str, ...] = ()  # what was found but left out of a file, and why


def run(options: InitOptions, out: TextIO) -> ExitStatus:
    root = Path(options.directory)
    if not root.is_dir():
        raise UsageError(f"{options.directory}: no such directory")
    plan = make_plan(root, options)
    kept = [] if options.force else [planned for planned in plan.files if (root / planned.path).exists()]
    # Everything in place refuses, unless --parts or --deploy asked for steps to tell (some write no file).
    if len(kept) == len(plan.files) and not (options.parts or options.deploy):
        names = ", ".join(str(root / planned.path) for planned in kept)
        raise UsageError(f"{names}: already exist{'s' if len(kept) == 1 else ''}; gatekeeper init --force overwrites")
    for planned in plan.files:
        target = root / planned.path
        if planned in kept:
            out.write(f"kept {planned.path}  (it exists; gatekeeper init --force overwrites it)\n")
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(planned.text, encoding="utf-8")
            if planned.text.startswith("#!"):
                target.chmod(0o755)
        except OSError as error:
            raise UsageError(f"{target}: cannot write it: {error.strerror}") from None
        out.write(f"wrote {planned.path}  ({planned.why})\n")
    for note in plan.notes:
        out.write(f"note: {note}\n")
    out.write("\nnext:\n")
    for number, step in enumerate(plan.next_steps, 1):
        out.write(f"  {number}. {step}\n")
    return ExitStatus.PASS


def make_plan(root: Path, options: InitOptions) -> Plan:
    """The files to write and the steps to tell, for the CI named or detected; nothing is written here."""
    if options.level is not None and options.level not in LEVELS:
        raise UsageError(f"--level {options.level}: the levels are 1 to 5")
    ci = options.ci or detect(root)
    found = find_reports(root)
    reports = tuple(report for report in found if printable(report))[:MAX_NAMED]
    unnamed = tuple(shown(report) for report in found if not printable(report))
    left_out = (
        (
            f"left out of {POLICY_FILE} and the CI snippets: {', '.join(unnamed)} (a character in the name does not "
            "print: a control character, line break, invisible mark or byte that is not UTF-8, which no CI file "
            "can name safely); rename it",
        )
        if unnamed
        else ()
    )
    policy = Planned(path=POLICY_FILE, text=policy_text(_name(root), options.level, reports),
                     why=_policy_why(options.level, reports))  # fmt: skip
    listed = reports or PLACEHOLDER_REPORTS
    # `init --deploy` run later over a gate already in place (either shape) adds the deployment recording
    # alone: planning the single-job gate again would write its files beside a parts setup and tell steps
    # that undo it.
    adding = options.deploy and not (options.parts or options.force) and gate_in_place(root, ci)
    no_snippets = Snippets(files=(), next_steps=())
    snippets = no_snippets if adding else (PARTS_PLANNERS if options.parts else PLANNERS)[ci](root, listed)
    deploy = DEPLOY_PLANNERS[ci](root, listed) if options.deploy else no_snippets
    to_check = "" if reports else " REPORTS…"  # with none found, the policy names none either
    check_first = (
        f"try it: gatekeeper rules validate {POLICY_FILE} && gatekeeper check --policy {POLICY_FILE}{to_check}"
    )
    offered = [
        f"{flag} {what}"
        for flag, what, given in (
            ("--parts", "(tests split over parallel jobs, one decision over all of them)", options.parts or adding),
            ("--deploy", "(record each deployment for the four delivery keys)", options.deploy),
        )
        if not given
    ]
    more = (f"more from gatekeeper init: {'; '.join(offered)}",) if offered else ()
    return Plan(
        ci=ci,
        files=(policy, *snippets.files, *deploy.files),
        next_steps=(check_first, *snippets.next_steps, *deploy.next_steps, *more),
        notes=(*left_out, *snippets.notes),
    )


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


# -- the reports already in the repository ---------------------------------------------------------------

#: What the snippets name when the repository holds no report yet: what their example pipelines write.
PLACEHOLDER_REPORTS = ("build/test-results/", "coverage.xml", "bandit.json")
#: Directories no build writes its reports into: tools' environments and caches (every hidden directory is
#: skipped too), and test fixtures (report files a project's own tests read, not what its build writes).
SKIPPED_DIRECTORIES = frozenset(
    {"node_modules", "venv", "env", "__pycache__", "site-packages", "vendor", "fixtures", "testdata", "resources"}
)
#: How report files are named (detection then decides by content); any other file is not opened.
REPORT_SUFFIXES = frozenset({".xml", ".json", ".sarif", ".info", ".lcov", ".out"})
MAX_DEPTH = 6  # build/test-results/test/TEST-x.xml is 4 deep; target/site/jacoco/jacoco.xml 4
MAX_EXAMINED = 2000  # files opened at most, so init stays quick in a monorepo
MAX_NAMED = 12  # report paths named in the policy at most (directories count once)


def find_reports(root: Path) -> tuple[str, ...]:
    """The report files in the repository, relative to it: detected by content (as `check` does), a directory
    holding several of them named once (`dir/`, which `check` walks); a bounded walk. Each is named as `check`
    reads it literally (report_argument); any name at all, hostile ones too: the caller decides what to write,
    and names MAX_NAMED at most."""
    from gatekeeper.errors import InputError
    from gatekeeper.parsers.detect import detect

    found: list[str] = []
    for number, path in enumerate(_candidates(root)):
        if number >= MAX_EXAMINED:
            break
        try:
            if path.stat().st_size and detect(path) is not None:
                found.append(path.relative_to(root).as_posix())
        except (InputError, OSError):
            continue
    return tuple(report_argument(name) for name in _collapsed(found))


def _candidates(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        depth = len(Path(directory).relative_to(root).parts)
        subdirectories[:] = (
            []
            if depth >= MAX_DEPTH
            else sorted(d for d in subdirectories if not d.startswith(".") and d not in SKIPPED_DIRECTORIES)
        )
        for name in sorted(files):
            if Path(name).suffix in REPORT_SUFFIXES:
                yield Path(directory) / name


def _collapsed(paths: list[str]) -> tuple[str, ...]:
    """Several reports in one directory (not the repository's top) become that directory: a Surefire or Gradle
    results directory holds one file per test class, and the next run may add one."""
    by_directory: dict[str, list[str]] = {}
    for path in paths:
        by_directory.setdefault(path.rpartition("/")[0], []).append(path)
    named: list[str] = []
    for directory, inside in by_directory.items():
        if directory and len(inside) > 1:
            named.append(f"{directory}/")
        else:
            named.extend(inside)
    directories = [name for name in named if name.endswith("/")]
    return tuple(name for name in named if not any(name != d and name.startswith(d) for d in directories))


# -- the policy ---------------------------------------------------------------------------------------


def policy_text(name: str, level: int | None, reports: tuple[str, ...] = ()) -> str:
    """The starter policy's gates copied (to tune in place), or an `extends` of a maturity-level pack; the
    reports found, if any, as its `reports:` (what `check` reads when given no report)."""
    listed = "".join(f"  - {yaml_scalar(report)}\n" for report in reports)
    reports_block = f"reports:  # found in the repository by `gatekeeper init`\n{listed}" if reports else ""
    if level is None:
        starter = resource_path("rules", "starter.yaml").read_text(encoding="utf-8")
        named = f"policy: {yaml_scalar(name)}"  # a function: a replacement string would read its backslashes
        body = re.sub(r"(?m)^policy: .*$", lambda _: named, _without_leading_comments(starter), count=1)
        body = re.sub(r"(?m)^(format: .*\n)", lambda match: match.group(1) + reports_block, body, count=1)
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
        f"policy: {yaml_scalar(name)}\n"
        "format: 1\n"
        f"{reports_block}"
        f"extends: caict-cd/level-{level}\n"
        "gates: []\n"
    )


def _policy_why(level: int | None, reports: tuple[str, ...]) -> str:
    why = "the starter policy's gates" if level is None else f"extends caict-cd/level-{level}"
    return f"{why}; reports: {' '.join(reports)}" if reports else why


def _without_leading_comments(text: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


def _name(root: Path) -> str:
    """The policy's name: the repository directory's, unless it has none or holds a character that does not
    print (it is also written into a comment line)."""
    name = root.resolve().name
    return name if name and printable(name) else "project"


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
    notes: tuple[str, ...] = ()


Planner = Callable[[Path, tuple[str, ...]], Snippets]

#: A shell line that runs a project's tests (what a workflow's test job has and its other jobs lack).
TEST_COMMAND = re.compile(
    r"(?m)(^|[\s;&|(])(pytest|py\.test|tox|nox|jest|vitest|ctest|phpunit|rspec"
    r"|python3?\s+-m\s+(pytest|unittest)|(mvn|mvnw|\./mvnw)\b[^\n]*\s(test|verify|install)"
    r"|(gradle|gradlew|\./gradlew)\b[^\n]*\s(test|check|build)|(npm|yarn|pnpm)\s+(run\s+)?test"
    r"|(go|cargo|dotnet)\s+test|make\s+(test|check))\b"
)


def _github(root: Path, reports: tuple[str, ...]) -> Snippets:
    action = Planned(path=".github/actions/gatekeeper/action.yml", text=snippet("github/action.yml"),
                     why="the composite action: job summary, annotations, verdict")  # fmt: skip
    workflows = root / ".github" / "workflows"
    existing = sorted(p for p in workflows.glob("*.y*ml") if p.is_file()) if workflows.is_dir() else []
    if existing:
        testing = [found for path in existing for found in testing_jobs(path)]
        where = (
            f"to the job that runs the tests ({', '.join(testing)})"
            if testing
            else f"to your workflow ({', '.join(shown(p.name) for p in existing)})"
        )
        step = f"- uses: ./.github/actions/gatekeeper\n  with:\n    policy: {POLICY_FILE}\n{github_reports(reports, 4)}"
        return Snippets(
            files=(action,),
            next_steps=(
                f"add the gate {where}, after the tests and scans:\n{_indented(step)}",
                "commit gatekeeper.yaml and .github/actions/gatekeeper/",
            ),
            notes=github_notes(reports),
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


def _github_parts(root: Path, reports: tuple[str, ...]) -> Snippets:
    action = Planned(path=".github/actions/gatekeeper/action.yml", text=snippet("github/action.yml"),
                     why="the composite action: records a part, or decides over every part")  # fmt: skip
    workflows = root / ".github" / "workflows"
    if workflows.is_dir() and any(p.is_file() for p in workflows.glob("*.y*ml")):
        return Snippets(
            files=(action,),
            next_steps=(
                "split the test job over a matrix (strategy.matrix.shard: [1, 2, 3]); in it, after the tests:\n"
                + _indented(github_part_step(reports)),
                "and add a job after it that decides once over every part (it waits for the missing ones):\n"
                + _indented(GITHUB_GATE_JOB),
                "set the repository variable GATEKEEPER_URL and the secret GATEKEEPER_TOKEN (an upload token, "
                "`gatekeeper tokens create --scope upload`): the matrix jobs' parts meet on the store server",
                "commit gatekeeper.yaml and .github/actions/gatekeeper/",
            ),
            notes=github_notes(reports),
        )
    workflow = Planned(path=".github/workflows/gatekeeper.yml", text=snippet("github/parts-workflow.yml"),
                       why="an example workflow: tests over a 3-job matrix, each a part, then one gate")  # fmt: skip
    return Snippets(
        files=(action, workflow),
        next_steps=(
            "adapt the test steps of .github/workflows/gatekeeper.yml to your project, and its `reports:`",
            "set the repository variable GATEKEEPER_URL and the secret GATEKEEPER_TOKEN (an upload token): "
            "the matrix jobs' parts meet on the store server",
            "commit gatekeeper.yaml and .github/",
        ),
    )


def github_part_step(reports: tuple[str, ...]) -> str:
    """The matrix job's step that records its part (shard N of 3), for a workflow the user already has."""
    return (
        "- uses: ./.github/actions/gatekeeper\n"
        "  with:\n"
        "    part: test ${{ matrix.shard }}/3\n"
        f"{github_reports(reports, 4)}"
        "    store-url: ${{ vars.GATEKEEPER_URL }}\n"
        "    token: ${{ secrets.GATEKEEPER_TOKEN }}\n"
    )


def github_reports(reports: tuple[str, ...], indent: int) -> str:
    """The action's `reports:` input line: the names as GitHub reads them back; none when one holds whitespace
    (the action splits the input on it), so that the action reads the policy's `reports:`, which has them all."""
    if not all(github_word(report) for report in reports):
        return ""
    return f"{' ' * indent}reports: {yaml_scalar(github_text(' '.join(reports)))}\n"


def github_notes(reports: tuple[str, ...]) -> tuple[str, ...]:
    """Why the step has no `reports:` (github_reports), naming the reports that made it so."""
    spaced = [shown(report) for report in reports if not github_word(report)]
    if not spaced:
        return ()
    return (
        f"the GitHub step names no `reports:` (a space in {', '.join(spaced)} would split it in the action's "
        f"space-separated input): the action reads {POLICY_FILE}'s `reports:`, which names every report found",
    )


GITHUB_GATE_JOB = """\
gate:
  needs: test   # the matrix job
  if: always()
  runs-on: ubuntu-latest
  steps:
    - uses: actions/checkout@v4
    - uses: ./.github/actions/gatekeeper
      with:
        policy: gatekeeper.yaml
        pipeline-final: "true"
        expect-parts: "3"
        store-url: ${{ vars.GATEKEEPER_URL }}
        token: ${{ secrets.GATEKEEPER_TOKEN }}
"""


def _github_deploy(root: Path, reports: tuple[str, ...]) -> Snippets:
    return Snippets(
        files=(),
        next_steps=(
            "record each deployment: check out with `fetch-depth: 0` in the deploy job, and make this its last "
            "step (its DEPLOY_ENVIRONMENT yours; the repository variable GATEKEEPER_URL and the secret "
            "GATEKEEPER_TOKEN, an upload token, set):\n" + _indented(github_deploy_step()),
        ),
    )


def github_deploy_step() -> str:
    """The deploy workflow's recording step, as ci-snippets/github/deploy.yml has it (one text, not two)."""
    text = snippet("github/deploy.yml")
    start = text.index("      - name: Record the deployment")
    return "\n".join(line[4:] for line in text[start:].rstrip("\n").splitlines()) + "\n"


def testing_jobs(workflow: Path) -> list[str]:
    """`job` in file.yml for each job of a GitHub workflow whose `run:` steps run tests; a workflow that does
    not parse is judged on its whole text (named without a job)."""
    import yaml

    try:
        text = workflow.read_text(encoding="utf-8", errors="replace")
        document = yaml.safe_load(text)
    except (OSError, yaml.YAMLError):
        document, text = None, ""
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, dict):
        return [shown(workflow.name)] if TEST_COMMAND.search(text) else []
    found = []
    for job_id, job in jobs.items():
        steps = job.get("steps") if isinstance(job, dict) else None
        runs = [str(step.get("run", "")) for step in steps or () if isinstance(step, dict)]
        if any(TEST_COMMAND.search(run) for run in runs):
            found.append(f"`{shown(str(job_id))}` in {shown(workflow.name)}")
    return found


GITLAB_TEMPLATE = "ci/gatekeeper.gitlab-ci.yml"


def gitlab_include(reports: tuple[str, ...]) -> str:
    return (
        "include:\n"
        f"  - local: {GITLAB_TEMPLATE}\n"
        "    inputs:\n"
        f"      policy: {POLICY_FILE}\n"
        f"      reports: {yaml_scalar(shell_words(reports))}\n"  # the template puts the input into a shell line
    )


def _gitlab(root: Path, reports: tuple[str, ...]) -> Snippets:
    template = Planned(path=GITLAB_TEMPLATE, text=snippet("gitlab/gatekeeper.gitlab-ci.yml"),
                       why="the gatekeeper job: gate junit, code quality, verdict artifacts")  # fmt: skip
    include = _indented(gitlab_include(reports))
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
                       + gitlab_include(reports), why="includes the gatekeeper job")  # fmt: skip
    return Snippets(
        files=(template, pipeline),
        next_steps=(
            "add your test and scan jobs to .gitlab-ci.yml and set `reports` to what they write",
            f"commit gatekeeper.yaml, .gitlab-ci.yml and {GITLAB_TEMPLATE}",
        ),
    )


GITLAB_PARTS_TEMPLATE = "ci/gatekeeper-parts.gitlab-ci.yml"
GITLAB_DEPLOY_TEMPLATE = "ci/gatekeeper-deploy.gitlab-ci.yml"


def gitlab_parts_include(reports: tuple[str, ...]) -> tuple[str, str]:
    """The include of the parts template, and a parallel test job that records its part."""
    include = f"include:\n  - local: {GITLAB_PARTS_TEMPLATE}\n    inputs:\n      policy: {POLICY_FILE}\n"
    return include, (
        "test:\n"
        "  extends: .gatekeeper-part\n"
        "  parallel: 3\n"
        "  script:\n"
        "    - ./run-tests.sh || true   # the gate judges the failures, with every part's coverage\n"
        f"    - {yaml_scalar(f'gatekeeper check --part test {shell_words(reports)}')}\n"
    )


def _gitlab_parts(root: Path, reports: tuple[str, ...]) -> Snippets:
    template = Planned(path=GITLAB_PARTS_TEMPLATE, text=snippet("gitlab/gatekeeper-parts.gitlab-ci.yml"),
                       why="the parallel jobs' parts and the final gatekeeper job that decides once")  # fmt: skip
    include, job = gitlab_parts_include(reports)
    store = (
        "set the template's `store-url` input and a masked CI/CD variable GATEKEEPER_TOKEN (an upload token): "
        "jobs on different runners meet on the store server"
    )
    if (root / ".gitlab-ci.yml").exists():
        return Snippets(
            files=(template,),
            next_steps=(
                f"add to .gitlab-ci.yml (the final job runs in stage .post, after every part):\n{_indented(include)}",
                f"and make the test job record its part (its script runs your tests):\n{_indented(job)}",
                store,
                f"commit gatekeeper.yaml and {GITLAB_PARTS_TEMPLATE}",
            ),
        )
    heading = "# The pipeline: gatekeeper's quality gate over parallel jobs (`gatekeeper init --parts`).\n"
    pipeline = Planned(path=".gitlab-ci.yml", text=heading + include, why="includes the parts and the final job")
    return Snippets(
        files=(template, pipeline),
        next_steps=(
            f"add your test job to .gitlab-ci.yml, recording its part:\n{_indented(job)}",
            store,
            f"commit gatekeeper.yaml, .gitlab-ci.yml and {GITLAB_PARTS_TEMPLATE}",
        ),
    )


def _gitlab_deploy(root: Path, reports: tuple[str, ...]) -> Snippets:
    template = Planned(path=GITLAB_DEPLOY_TEMPLATE, text=snippet("gitlab/gatekeeper-deploy.gitlab-ci.yml"),
                       why="records each deployment job's outcome for the four delivery keys")  # fmt: skip
    include = (
        "include:\n"
        f"  - local: {GITLAB_DEPLOY_TEMPLATE}\n"
        "    inputs:\n"
        '      store-url: ""   # your gatekeeper store server (token in GATEKEEPER_TOKEN)\n'
        "\n"
        "deploy-prod:\n"
        "  extends: .gatekeeper-deploy\n"
        "  environment: production\n"
        "  script: ./deploy.sh\n"
    )
    return Snippets(
        files=(template,),
        next_steps=(
            "record each deployment: include the template (one more entry of `include:` if .gitlab-ci.yml has "
            "one), let every deployment job (one with an "
            f"`environment:`) extend `.gatekeeper-deploy`, and commit {GITLAB_DEPLOY_TEMPLATE}:\n{_indented(include)}",
        ),
    )


JENKINS_LIBRARY = "ci/jenkins-library"


def jenkins_stage(reports: tuple[str, ...]) -> str:
    listed = ", ".join(groovy_string(report) for report in reports)  # the library's step quotes each for sh
    return f"stage('Quality gate') {{\n    steps {{ gatekeeper(policy: '{POLICY_FILE}', reports: [{listed}]) }}\n}}\n"


def _jenkins(root: Path, reports: tuple[str, ...]) -> Snippets:
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
        stage = _indented(jenkins_stage(reports))
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


def _jenkins_parts(root: Path, reports: tuple[str, ...]) -> Snippets:
    single = _jenkins(root, reports)
    library, register = single.files[:2], single.next_steps[0]  # the same shared library, registered alike
    if (root / "Jenkinsfile").exists():
        listed = ", ".join(groovy_string(report) for report in reports)
        stages = (
            "// in each parallel test stage N of 3, after its tests:\n"
            f"gatekeeper(policy: '{POLICY_FILE}', part: \"test ${{N}}/3\", reports: [{listed}],\n"
            "           url: 'https://gatekeeper.example.com', tokenCredentialsId: 'gatekeeper-token')\n"
            "// and in a stage after them all:\n"
            f"gatekeeper(policy: '{POLICY_FILE}', pipelineFinal: true, expectParts: 3, wait: 300,\n"
            "           url: 'https://gatekeeper.example.com', tokenCredentialsId: 'gatekeeper-token')\n"
        )
        return Snippets(
            files=library,
            next_steps=(
                register,
                "in your Jenkinsfile: add `@Library('gatekeeper') _` at the top; each parallel stage records a "
                f"part, a last stage decides once (parts meet on the store server `url`):\n{_indented(stages)}",
            ),
        )
    jenkinsfile = Planned(path="Jenkinsfile", text=snippet("jenkins/Jenkinsfile.parallel"),
                          why="an example pipeline: 3 parallel test stages, each a part, then one gate")  # fmt: skip
    return Snippets(
        files=(*library, jenkinsfile),
        next_steps=(register, "adapt the shards and the store server `url` of the Jenkinsfile to your project"),
    )


def _jenkins_deploy(root: Path, reports: tuple[str, ...]) -> Snippets:
    return Snippets(
        files=(),
        next_steps=(
            "record each deployment: in the deploying pipeline (full clone; DEPLOY_ENVIRONMENT, GATEKEEPER_URL and "
            "GATEKEEPER_PROJECT, the project the gate records verdicts under, in its environment; a credential "
            f"`gatekeeper-token`), add:\n{_indented(jenkins_deploy_post())}",
        ),
    )


def jenkins_deploy_post() -> str:
    """The `post` block of ci-snippets/jenkins/Jenkinsfile.deploy (one text, not two)."""
    text = snippet("jenkins/Jenkinsfile.deploy")
    start = text.index("    post {")
    end = text.rindex("}")  # the pipeline's own closing brace
    return "\n".join(line[4:] for line in text[start:end].rstrip().splitlines()) + "\n"


#: Files only the gate's snippets write (single job or parts), per CI: one there means the gate is in place.
GATE_FILES: dict[Ci, tuple[str, ...]] = {
    Ci.GITHUB: (".github/actions/gatekeeper/action.yml",),
    Ci.GITLAB: (GITLAB_TEMPLATE, GITLAB_PARTS_TEMPLATE),
    Ci.JENKINS: (f"{JENKINS_LIBRARY}/vars/gatekeeper.groovy",),
}


def gate_in_place(root: Path, ci: Ci) -> bool:
    """Whether an earlier `gatekeeper init` (either shape) set up the gate for this CI in the repository."""
    return any((root / path).exists() for path in GATE_FILES[ci])


PLANNERS: dict[Ci, Planner] = {Ci.GITHUB: _github, Ci.GITLAB: _gitlab, Ci.JENKINS: _jenkins}
PARTS_PLANNERS: dict[Ci, Planner] = {Ci.GITHUB: _github_parts, Ci.GITLAB: _gitlab_parts, Ci.JENKINS: _jenkins_parts}
DEPLOY_PLANNERS: dict[Ci, Planner] = {Ci.GITHUB: _github_deploy, Ci.GITLAB: _gitlab_deploy, Ci.JENKINS: _jenkins_deploy}


def _indented(text: str) -> str:
    """A multi-line snippet inside a numbered next step."""
    return "\n".join(f"       {line}".rstrip() for line in text.rstrip("\n").splitlines())
