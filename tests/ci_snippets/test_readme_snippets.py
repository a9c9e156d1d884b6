"""The README's "Add the gate to your CI" snippets stay short and name only options the snippets really take."""

from __future__ import annotations

import re

import yaml

from tests.ci_snippets.conftest import SNIPPETS
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks() -> dict[str, list[str]]:
    start = README.index("## Add the gate to your CI\n")
    section = README[start : README.index("\n## ", start + 1)]
    found: dict[str, list[str]] = {}
    for language, body in re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL):
        found.setdefault(language, []).append(body)
    return found


def test_one_snippet_per_ci_each_five_lines_or_fewer() -> None:
    snippets = blocks()
    assert len(snippets["groovy"]) == 1
    assert len(snippets["yaml"]) == 2
    for body in [*snippets["groovy"], *snippets["yaml"]]:
        assert len(body.strip().splitlines()) <= 5, body


def test_the_gitlab_snippet_gives_inputs_the_template_declares() -> None:
    snippet = yaml.safe_load(blocks()["yaml"][0])
    template = (SNIPPETS / "gitlab" / "gatekeeper.gitlab-ci.yml").read_text(encoding="utf-8")
    declared = set(yaml.safe_load(template.split("\n---\n")[0])["spec"]["inputs"])
    assert snippet["include"][0]["local"].endswith("gatekeeper.gitlab-ci.yml")
    assert set(snippet["include"][0]["inputs"]) <= declared


def test_the_github_snippet_gives_inputs_the_action_declares() -> None:
    step = yaml.safe_load(blocks()["yaml"][1])[0]
    action = yaml.safe_load((SNIPPETS / "github" / "action.yml").read_text(encoding="utf-8"))
    assert set(step["with"]) <= set(action["inputs"])


def test_the_jenkins_snippet_uses_options_the_step_documents() -> None:
    snippet = blocks()["groovy"][0]
    step = (SNIPPETS / "jenkins" / "vars" / "gatekeeper.groovy").read_text(encoding="utf-8")
    used = set(re.findall(r"(\w+):", snippet.split("gatekeeper(", 1)[1]))
    documented = set(re.findall(r"^ \*   (\w+) ", step, re.MULTILINE))
    assert used and used <= documented
