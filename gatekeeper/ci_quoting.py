"""What `gatekeeper init` takes from the repository (report names, its directory's name, workflow job ids),
written into each CI file in that file's own syntax: every such name is hostile input, and a YAML scalar, a
POSIX shell word, a GitHub `${{ }}` expression and a Groovy string each break (or run code) differently."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable

#: The text that opens a GitHub Actions expression in any workflow or action value.
GITHUB_EXPRESSION = "${{"
#: The same text as the value of an expression: the runner ends an expression at the first `}}` outside a
#: single-quoted string literal (actions/runner TemplateReader), so this evaluates to a literal `${{`.
GITHUB_LITERAL_OPEN = "${{ '${{' }}"


def printable(name: str) -> bool:
    """No control character, line break, invisible format mark, or byte that was not UTF-8 (a surrogate):
    what no CI file can name safely, nor a reviewer see."""
    return name.isprintable()


def shown(name: str) -> str:
    """A name for the terminal: as it is when it prints, escaped (Python literal) when it does not."""
    return name if name.isprintable() else ascii(name)


def report_argument(name: str) -> str:
    """The name as `gatekeeper check` reads it literally: `-x.xml` would be an option and `junit:x.xml` a
    forced format, so both are made `./`-relative."""
    return f"./{name}" if name.startswith("-") or ":" in name.partition("/")[0] else name


def yaml_scalar(value: str) -> str:
    """One YAML scalar on one line that loads back to exactly `value`: plain where PyYAML's emitter allows it,
    double-quoted (escapes for whatever does not print) otherwise."""
    import yaml

    plain = yaml.safe_dump(value, width=sys.maxsize, allow_unicode=True)
    if plain.endswith("\n...\n") and plain.count("\n") == 2:  # a plain scalar ends an open document
        return plain[: -len("\n...\n")]
    return yaml.safe_dump(value, width=sys.maxsize, allow_unicode=True, default_style='"').rstrip("\n")


def shell_words(values: Iterable[str]) -> str:
    """POSIX shell words, one per value, that no expansion, splitting or globbing changes."""
    return " ".join(shlex.quote(value) for value in values)


def github_text(value: str) -> str:
    """A workflow value that GitHub Actions evaluates to `value` itself: each `${{` made an expression whose
    result is that literal text."""
    return value.replace(GITHUB_EXPRESSION, GITHUB_LITERAL_OPEN)


def github_word(name: str) -> bool:
    """Whether the action's `reports` input (words split on whitespace by `read -a`) can carry the name."""
    return not any(character.isspace() for character in name)


def groovy_string(value: str) -> str:
    """A Groovy single-quoted string literal: no `$` interpolation; backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
