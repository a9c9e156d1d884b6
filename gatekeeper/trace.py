"""Requirement keys (JIRA issue keys) in the commits of a change: which commits carry one, and which keys.

JIRA links a commit, a branch or a merge request to an issue through the issue key in its text
(`ABC-123`): a project key of two or more characters starting with a letter, a dash, the issue's
number.  github-for-jira matches keys case-insensitively and upper-cases them (github-for-jira#220
asks for lowercase keys; its parser accepts `jra-123`, `[JRA-123]`, `(JRA-123)`, `#JRA-123`); so does
`DEFAULT_KEY_PATTERN`, which also refuses what is clearly not a key: a key inside a word, a version
(`release-1.2`, `node-18.04`), a file name or host (`lib-2.js`, `web-3.example.com`), a path that goes
on (`repo-2/pull`), a date or identifier with more numbers (`CVE-2024-1234`), and the standards people
name in commit messages (UTF-8, SHA-256, ISO-8601, RFC-7231, PEP-8): a false key would hide an
untraced commit from the gate, a missed one shows and is fixed by the commit's author.

Every text is hostile: it is cut to `MAX_TEXT_CHARS` before matching, the default pattern runs in
time linear in its length, and a policy's own pattern is refused when it nests unbounded repeats (the
shape of catastrophic backtracking: `(a+)+`).
"""

from __future__ import annotations

import re
from functools import lru_cache

#: JIRA keys, case-tolerant; group 1 is the key.  Python `re` syntax.
DEFAULT_KEY_PATTERN = (
    r"(?i)"
    r"(?<![0-9a-z_.@$\\])(?<!://)"  # not inside a word, a dotted name, an e-mail address or a URL's host
    r"(?!(?:UTF|UCS|SHA|MD|ISO|CVE|CWE|RFC|PEP|X86)-)"  # standards, not projects
    r"([a-z][a-z0-9_]{1,254}-[1-9][0-9]{0,17})"
    r"(?![0-9a-z_]|[./][0-9a-z_]|-[0-9])"  # not a version, a file name, a path that goes on, a date
)

#: Characters of one text (a commit message, a branch name, a title) that are searched for keys; keys
#: are in a message's subject or trailers, a squash merge's list of messages stays well under it.
MAX_TEXT_CHARS = 16_384
#: Keys kept per text: the verdict lists them, and a message of a thousand keys is not a reference.
MAX_KEYS_PER_TEXT = 50
#: A policy's pattern longer than this is not a key pattern.
MAX_PATTERN_CHARS = 512
#: A key longer than this (a policy pattern matching too much) is not kept.
MAX_KEY_CHARS = 255


class PatternError(ValueError):
    """A key pattern that cannot be used; the message says why (the policy loader adds file and line)."""


@lru_cache(maxsize=16)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled, once; a PatternError when it is not a regular expression or could backtrack
    catastrophically on a hostile commit message."""
    if not pattern:
        raise PatternError("the key pattern is empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"the key pattern is {len(pattern):,} characters long (at most {MAX_PATTERN_CHARS})")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise PatternError(f"not a regular expression: {error}") from None
    if compiled.match("") is not None:
        raise PatternError("the key pattern matches an empty text: it would find a key in every commit")
    if _nested_repeat(pattern):
        raise PatternError(
            "the key pattern repeats a part that can match in more than one way (like `(a+)+` or `(a|ab)+`), "
            "which can take exponential time on a hostile commit message: make the inner part fixed-length, "
            "possessive (a++) or atomic ((?>...))"
        )
    return compiled


def issue_keys(text: str, pattern: str = DEFAULT_KEY_PATTERN) -> list[str]:
    """The keys `text` names, upper-cased, each once, in the order they first appear.

    The pattern's first group is the key when it has groups, else the whole match.
    """
    compiled = compile_pattern(pattern)
    keys: list[str] = []
    seen: set[str] = set()
    for match in compiled.finditer(text[:MAX_TEXT_CHARS]):
        found = match.group(1) if compiled.groups else match.group(0)
        if not found or len(found) > MAX_KEY_CHARS:
            continue
        key = found.strip().upper()
        if key and key not in seen:
            seen.add(key)
            keys.append(key)
            if len(keys) == MAX_KEYS_PER_TEXT:
                break
    return keys


def _nested_repeat(pattern: str) -> bool:
    """Whether an unbounded greedy or lazy repeat contains another repeat or an alternation: the shapes
    under which a regular-expression engine that backtracks can take exponential time."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]  # CPython's own parser (3.11+)
    except ImportError:  # pragma: no cover - another interpreter: the length cap is the only bound
        return False
    repeats = {parser.MAX_REPEAT, parser.MIN_REPEAT}
    unbounded = parser.MAXREPEAT

    def walk(items: object, inside: bool) -> bool:
        for op, argument in items:  # type: ignore[attr-defined]
            if op in repeats:
                low, high, body = argument
                if inside and low != high:
                    return True
                if walk(body, inside or high == unbounded or high > 1000):
                    return True
            elif op is parser.BRANCH:
                if inside and len(argument[1]) > 1:
                    return True
                if any(walk(branch, inside) for branch in argument[1]):
                    return True
            elif op is parser.SUBPATTERN:
                if walk(argument[-1], inside):
                    return True
            elif op in (parser.ASSERT, parser.ASSERT_NOT):
                if walk(argument[1], inside):
                    return True
            elif op is parser.ATOMIC_GROUP or op is parser.POSSESSIVE_REPEAT:
                continue  # an atomic group or possessive repeat never backtracks into itself
        return False

    return walk(parser.parse(pattern), False)
