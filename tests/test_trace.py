"""Requirement keys (issue 19): which keys a text names, which commits of a change carry one, on real git
histories built here (squash merge, merge commits, reverts, lowercase keys, hostile messages), the
merge request's title from each CI, the policy's own pattern, the verdict's `trace` and the level-3 gate.
Every count is made by hand in the comments."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper import trace as trace_module
from gatekeeper.context import Context, detect_change_title
from gatekeeper.diff import git as git_module
from gatekeeper.engine import GateStatus, decide, evaluate_gate
from gatekeeper.errors import PolicyError
from gatekeeper.model import Evidence
from gatekeeper.outputs import renderer_for
from gatekeeper.policy import Comparison, Gate, IfAbsent, Policy, load_policy
from gatekeeper.trace import (
    DEFAULT_KEY_PATTERN,
    MAX_KEYS_PER_TEXT,
    MAX_TEXT_CHARS,
    PatternError,
    Trace,
    TracedCommit,
    compile_pattern,
    issue_keys,
    source_keys,
    trace_change,
)
from gatekeeper.verdict import LIST_LIMIT, Verdict, build, parse
from tests.conftest import REPO
from tests.diff.repo import Repo

# --- keys in a text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("PAY-12: card form", ["PAY-12"]),
        ("pay-12 lowercase, Pay-13 mixed", ["PAY-12", "PAY-13"]),  # github-for-jira#220: any case, upper-cased
        ("[PAY-1] (OPS-2) #DEV-3 {X9-4}", ["PAY-1", "OPS-2", "DEV-3", "X9-4"]),
        ("feature/PAY-12-card-form", ["PAY-12"]),  # a branch name: the key, not the words after it
        ("pay-12-card-form", ["PAY-12"]),
        ("Resolves PAY-12, PAY-12 and pay-12 again", ["PAY-12"]),  # once, in first-seen order
        ("see https://jira.example.com/browse/PAY-12", ["PAY-12"]),  # a browse link names the issue
        ("修复PAY-12问题", ["PAY-12"]),  # Chinese text around it is no word of the key
        ("Co-authored-by: x\n\nRefs: OPS_CORE-77", ["OPS_CORE-77"]),  # underscores in a project key
        ("release-1.2 node-18.04 lib-2.js web-3.example.com", []),  # versions, files, hosts
        ("https://github.com/o/repo-2/pull/5 http://node-3:8080 user@host-1", []),  # paths that go on, URL hosts
        ("CVE-2024-1234 2026-01-02 abc-12-34", []),  # longer identifiers and dates
        ("utf-8 SHA-256 md-5 ISO-8601 RFC-7231 pep-8 x86-64 CWE-79", []),  # standards, not projects
        ("A-1 AB-0 AB-012 12-34 PAY 12 PAY_12", []),  # one letter, no number 0, leading zero, no dash
        ("pay-12x abc1-2b", []),  # the word goes on
        ("a" * 300 + "-1", []),  # a project key of 300 letters is none (at most 255)
    ],
)
def test_issue_keys(text: str, keys: list[str]) -> None:
    assert issue_keys(text) == keys


def test_a_text_with_no_dash_and_number_is_answered_without_the_pattern() -> None:
    """Every key of the default pattern holds `-1` to `-9`: a text with none names no key, and `check` on a
    history without keys compiles no pattern (issue 16)."""
    compile_pattern.cache_clear()
    fullwidth = "\uff30\uff21\uff39\uff0d\uff11"  # PAY-1 in fullwidth letters, dash and digit
    assert issue_keys(f"release-0 of the card form (issue 16), PAY-0, pay-x1, {fullwidth}") == []
    assert compile_pattern.cache_info().misses == 0
    assert issue_keys("PAY-1") == ["PAY-1"] and compile_pattern.cache_info().misses == 1


@given(st.text(alphabet=st.sampled_from([*"aZ_.-/ 0159\n", "\u212a", "\u017f", "\uff11", "\uff0d"]), max_size=24))
def test_the_default_pattern_finds_nothing_where_no_dash_and_number_is(text: str) -> None:
    """What lets `issue_keys` skip the pattern: it never matches without one (any case, any script)."""
    if not any(f"-{digit}" in text for digit in "123456789"):
        assert list(compile_pattern(DEFAULT_KEY_PATTERN)(text)) == []


def test_a_text_is_searched_up_to_its_bound_and_gives_a_bounded_number_of_keys() -> None:
    assert issue_keys("x" * (MAX_TEXT_CHARS - 7) + " PAY-1") == ["PAY-1"]  # ends exactly at the bound
    assert issue_keys("x" * (MAX_TEXT_CHARS - 5) + " PAY-1") == []  # "PAY-" then the cut
    many = " ".join(f"PAY-{n}" for n in range(1, 200))
    assert issue_keys(many) == [f"PAY-{n}" for n in range(1, MAX_KEYS_PER_TEXT + 1)]


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 1_000_000,  # one endless word
        "a-" * 500_000,  # a dash after every letter: a key start everywhere, never a number
        ("ab" * 127 + "-") * 4_000,  # project keys of 254 characters with no number, over and over
        "a" * 254 + "-" + "1" * 100_000,  # a number longer than any key's
        "-1" * 500_000,
    ],
)
def test_hostile_texts_are_read_in_linear_time_and_name_no_key(hostile: str) -> None:
    """The default pattern never backtracks more than a key's length (the lookbehind refuses a start inside
    a word), and the text is cut first: each of these returns, with nothing found."""
    assert issue_keys(hostile) == []


def test_a_policy_pattern_is_the_key_or_its_first_group() -> None:
    only_ours = r"(?i)\b((?:PAY|OPS)-[1-9][0-9]*)\b"
    assert issue_keys("pay-12, ABC-3, ops-4", only_ours) == ["PAY-12", "OPS-4"]
    assert issue_keys("ticket #1234 and #77", r"#[0-9]+") == ["#1234", "#77"]  # no group: the whole match


RE2 = "not a regular expression RE2 accepts (a key pattern is RE2 syntax: no lookaround or backreferences): "


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(", RE2 + "missing ): ("),
        ("x*", "matches an empty text"),
        (r"(?<![a-z])PAY-[0-9]+", RE2 + "invalid perl operator: (?<!"),
        (r"PAY-[0-9]+(?!\.)", RE2 + "invalid perl operator: (?!"),
        (r"(PAY)-\1", RE2 + "invalid escape sequence: \\1"),
        ("(a++)+b", RE2 + "bad repetition operator: ++"),
        ("(?>a+)+b", RE2 + "invalid perl operator: (?>"),
        ("x" * 513, "513 characters long"),
    ],
)
def test_a_pattern_that_cannot_be_used_is_refused(pattern: str, problem: str) -> None:
    with pytest.raises(PatternError) as raised:
        compile_pattern(pattern)
    assert problem in str(raised.value)


def test_nested_and_repeated_repeats_are_accepted_on_re2() -> None:
    # what a backtracking engine needs minutes for is linear on RE2: no heuristic refuses them any more
    for pattern in ("(a+)+b", "(a|ab)+c", r"(\w+\s?)+$", "(a{1,30}){1,30}$", "a*a*a*b", r"[A-Z]{2,10}-\d+"):
        compile_pattern(pattern)
    compile_pattern(DEFAULT_KEY_PATTERN)  # ours, on Python's re: its lookarounds are not RE2 syntax


#: Hostile patterns that repeat without nesting: on Python's re each took > 20 s on a 2,000-character run.
HOSTILE = ("a*a*a*b", ".*.*=", "[a-z]+[a-z]+[a-z]+-", "(a+)+b", "(a|aa)+$b")


def test_hostile_patterns_end_on_a_whole_message_in_a_subprocess() -> None:
    # A run of the repeated character as long as a message is searched (MAX_TEXT_CHARS): each pattern finds
    # its one key at the end, or none; the subprocess's timeout is a hang's bound, not a measure.
    script = (
        "import json, sys\n"
        "from gatekeeper.trace import MAX_TEXT_CHARS, issue_keys\n"
        "texts = {'a*a*a*b': 'a' * (MAX_TEXT_CHARS - 1) + 'c', '.*.*=': 'x' * MAX_TEXT_CHARS,\n"
        "         '[a-z]+[a-z]+[a-z]+-': 'q' * MAX_TEXT_CHARS, '(a+)+b': 'a' * (MAX_TEXT_CHARS - 1) + '!',\n"
        "         '(a|aa)+$b': 'a' * MAX_TEXT_CHARS}\n"
        "found = {p: issue_keys(t, p) for p, t in texts.items()}\n"
        "found['ends'] = issue_keys('q' * (MAX_TEXT_CHARS - 20) + ' pay-12-', '[a-z]+[a-z]+[a-z]+-')\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    assert {pattern: found[pattern] for pattern in HOSTILE} == {pattern: [] for pattern in HOSTILE}
    # the long run of q's followed by a space is no key; 'pay-' is the leftmost match of 'pay-12-' ('12' is no letter)
    assert found["ends"] == ["PAY-"]


def test_a_pattern_of_one_s_own_finds_keys_on_re2() -> None:
    # group 1 is the key; upper-cased, each once; a lone surrogate (a branch name from the environment) is no error
    assert issue_keys("fix pay-1, PAY-1 and pay-22 \udcff done", r"(?i)\b(pay-[0-9]+)\b") == ["PAY-1", "PAY-22"]
    assert issue_keys("OPS-7 and ABC-1", r"(?P<key>OPS-\d+)") == ["OPS-7"]


# --- the policy's pattern ---------------------------------------------------------------------------


def test_a_bad_key_pattern_is_a_policy_error_naming_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "policy: team\ngates:\n  - {id: t, metric: trace.percent, min: 100}\ntrace:\n  key_pattern: '(?<!x)A-[0-9]'\n"
    )
    with pytest.raises(PolicyError) as raised:
        load_policy(policy)
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(f"{policy}:5:")
    assert f"trace.key_pattern: {RE2}invalid perl operator: (?<!" in raised.value.problems[0]


def test_the_key_pattern_is_inherited_and_recorded_in_the_effective_policy(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(
        "policy: org\ngates:\n  - {id: t, metric: trace.percent, min: 100}\ntrace: {key_pattern: 'PAY-[0-9]+'}\n"
    )
    (tmp_path / "team.yaml").write_text("policy: team\nextends: org.yaml\ngates: []\n")
    (tmp_path / "plain.yaml").write_text("policy: plain\ngates:\n  - {id: t, metric: trace.percent, min: 100}\n")
    team = load_policy(tmp_path / "team.yaml")
    assert team.trace_key_pattern == "PAY-[0-9]+"
    assert team.as_document()["trace"] == {"key_pattern": "PAY-[0-9]+"}
    plain = load_policy(tmp_path / "plain.yaml")
    assert plain.trace_key_pattern is None and "trace" not in plain.as_document()


# --- commits of a change, from git ------------------------------------------------------------------


def commit_file(repo: Repo, message: str, *options: str) -> str:
    """A commit whose message is exactly `message` (any characters git takes), via a message file."""
    path = repo.root.parent / "message.txt"
    path.write_bytes(message.encode("utf-8"))
    repo.git("commit", "-q", "--allow-empty", "--cleanup=verbatim", "-F", str(path), *options)
    return repo.head()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo.init(tmp_path / "repo")
    repo.commit("initial layout", **{"app.py": "a = 1\n"})
    return repo


def counted(trace: Trace) -> list[tuple[str, tuple[str, ...]]]:
    assert trace.commits is not None
    return [(commit.subject, commit.keys) for commit in trace.commits]


def test_a_merge_request_change_counts_its_commits_and_lists_the_merges_keys(repo: Repo) -> None:
    """feature: four commits and a merge of main into it; the change is merge-base(main, HEAD)..HEAD."""
    repo.git("checkout", "-q", "-b", "feature/pay-3-card")
    repo.commit("PAY-1 add the card form", **{"form.py": "form = 1\n"})
    repo.commit("fix typo", **{"card.py": "card = 2\n"})
    repo.commit("pay-2: validate the number", **{"card.py": "card = 3\n"})
    repo.git("revert", "--no-edit", repo.git("rev-parse", "HEAD~2"))  # 'Revert "PAY-1 add the card form"'
    repo.git("checkout", "-q", "main")
    repo.commit("OPS-9 hotfix on main", **{"app.py": "a = 2\n"})
    repo.git("checkout", "-q", "feature/pay-3-card")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'main' into feature/PAY-3-card", "main")
    head = repo.head()
    base = repo.git("merge-base", "main", "HEAD")  # main's tip, merged: OPS-9 is not the change's
    trace = trace_change(repo.root, base=base, head=head, sources=source_keys(branch="feature/pay-3-card", title=None))
    # Newest first; the merge commit is not counted. 4 commits, 3 carry a key (the revert quotes PAY-1).
    assert counted(trace) == [
        ('Revert "PAY-1 add the card form"', ("PAY-1",)),
        ("pay-2: validate the number", ("PAY-2",)),
        ("fix typo", ()),
        ("PAY-1 add the card form", ("PAY-1",)),
    ]
    assert trace.metrics() == {"trace.commits": 4, "trace.commits_with_key": 3, "trace.percent": 75.0}
    assert dict(trace.sources) == {"branch": ("PAY-3",), "merges": ("PAY-3",)}
    assert trace.keys == ("PAY-1", "PAY-2", "PAY-3")
    assert [commit.subject for commit in trace.without_key] == ["fix typo"]
    assert trace.range == f"change {base[:12]}..{head[:12]}"


def test_a_squash_merge_is_one_commit_carrying_the_keys_of_its_message(repo: Repo) -> None:
    start = repo.head()
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("PAY-4 first", **{"a.py": "1\n"})
    repo.commit("wip", **{"a.py": "2\n"})
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--squash", "topic")
    squash = commit_file(repo, "Card form (!12)\n\n* PAY-4 first\n* wip\n\nCloses pay-5\n")
    # On main with no change base: the commits since the branch's last verdict (at `start`): one commit.
    trace = trace_change(repo.root, since=[start])
    assert counted(trace) == [("Card form (!12)", ("PAY-4", "PAY-5"))]
    assert trace.commits is not None and trace.commits[0].sha == squash
    assert trace.metrics() == {"trace.commits": 1, "trace.commits_with_key": 1, "trace.percent": 100.0}
    assert trace.range == f"since the last verdict: {start[:12]}..{squash[:12]}"


def test_a_merge_at_head_with_no_base_traces_the_commits_it_merged(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("OPS-1 one", **{"b.py": "1\n"})
    repo.commit("two, no key", **{"b.py": "2\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main moves on, no key", **{"app.py": "a = 3\n"})  # first parent's: not merged, not counted
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'topic' (OPS-1)", "topic")
    trace = trace_change(repo.root)  # no base, no earlier verdict
    assert counted(trace) == [("two, no key", ()), ("OPS-1 one", ("OPS-1",))]  # 2 commits, 1 with a key
    assert trace.metrics()["trace.percent"] == 50.0
    assert dict(trace.sources) == {"merges": ("OPS-1",)}
    assert trace.range is not None and trace.range.startswith("HEAD and the commits it merged: ")


def test_with_no_base_and_no_earlier_verdict_head_alone_is_traced(repo: Repo) -> None:
    repo.commit("PAY-7 one", **{"c.py": "1\n"})
    repo.commit("two", **{"c.py": "2\n"})
    trace = trace_change(repo.root)
    assert counted(trace) == [("two", ())]
    assert trace.metrics() == {"trace.commits": 1, "trace.commits_with_key": 0, "trace.percent": 0.0}
    assert trace.range == "HEAD"


def test_the_last_verdict_head_descends_from_is_the_start(repo: Repo) -> None:
    """Earlier verdicts, newest first: one of HEAD itself (a re-run), twelve jobs' of a rewritten branch (not
    an ancestor; one candidate, not twelve of the ten tried), one that is not a commit id, then the one HEAD
    descends from."""
    checked = repo.head()
    repo.commit("PAY-8 one", **{"d.py": "1\n"})
    repo.git("checkout", "-q", "-b", "rewritten")
    rewritten = repo.commit("gone after a force-push", **{"d.py": "x\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("PAY-9 two", **{"d.py": "2\n"})
    head = repo.head()
    trace = trace_change(repo.root, since=[head, *[rewritten] * 12, "not-a-sha", checked])
    assert counted(trace) == [("PAY-9 two", ("PAY-9",)), ("PAY-8 one", ("PAY-8",))]
    assert trace.range == f"since the last verdict: {checked[:12]}..{head[:12]}"
    assert trace.notes == ()


def test_a_last_verdict_commit_missing_from_the_clone_leaves_head_alone_with_a_note(repo: Repo) -> None:
    elsewhere = "0123456789abcdef0123456789abcdef01234567"
    trace = trace_change(repo.root, since=[elsewhere])
    assert counted(trace) == [("initial layout", ())]
    assert trace.notes == ("the last verdict's commit 0123456789ab is not in this clone: HEAD traced alone",)


def test_no_git_history_gives_no_commits_and_no_metrics(tmp_path: Path) -> None:
    trace = trace_change(tmp_path, sources=source_keys(branch="PAY-1-x", title="Draft: pay-2 and OPS-3"))
    assert trace.commits is None and trace.metrics() == {}  # absent, not zero
    assert dict(trace.sources) == {"branch": ("PAY-1",), "title": ("PAY-2", "OPS-3")}
    assert trace.keys == ("OPS-3", "PAY-1", "PAY-2")


@pytest.fixture
def git_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every git command trace_change runs (the real one runs: this only writes its arguments down)."""
    runs: list[tuple[str, ...]] = []
    real = git_module.run_git_warned

    def counted(arguments: Sequence[str], cwd: Path, *, timeout: float = git_module.LOCAL_TIMEOUT) -> tuple[bytes, str]:
        runs.append(tuple(arguments))
        return real(arguments, cwd, timeout=timeout)

    monkeypatch.setattr(git_module, "run_git_warned", counted)
    return runs


def head_traced_the_long_way(directory: Path, at: str | None = None) -> Trace:
    """HEAD traced by the path that reads `since`: the top-level with HEAD's id, then its log (an earlier
    verdict that is no commit id is tried and skipped, so that path answers)."""
    return trace_change(directory, since=["not-a-commit-id"], at=at)


def test_head_alone_is_read_by_one_git_run_and_traced_as_by_two(repo: Repo, git_runs: list[tuple[str, ...]]) -> None:
    """check's usual case (no change, no earlier verdict): one `git log`, the same trace, from a subdirectory
    too and for the verdict's commit given as a full id."""
    first = repo.commit("PAY-7 one", **{"c.py": "1\n", "sub/d.py": "1\n"})
    repo.commit("two", **{"c.py": "2\n"})
    for directory, at in ((repo.root, None), (repo.root / "sub", None), (repo.root, first)):
        git_runs.clear()
        trace = trace_change(directory, at=at)
        assert [arguments[0] for arguments in git_runs] == ["log"]
        git_runs.clear()
        assert trace == head_traced_the_long_way(directory, at)
        assert [arguments[0] for arguments in git_runs] == ["rev-parse", "log"]
    assert counted(trace) == [("PAY-7 one", ("PAY-7",))] and trace.range == "HEAD" and trace.notes == ()


def test_where_one_git_run_cannot_tell_the_trace_is_the_long_way_s(tmp_path: Path, repo: Repo) -> None:
    """A merge at HEAD (its merged commits count), a verdict's commit the clone lacks (a note), a tree's id
    given as the commit, a clone with no commit yet (a note), no clone at all (no history, no note)."""
    missing = "0123456789abcdef0123456789abcdef01234567"
    tree = repo.git("rev-parse", "HEAD^{tree}")
    assert trace_change(repo.root, at=missing) == head_traced_the_long_way(repo.root, missing)
    assert trace_change(repo.root, at=missing).notes == (
        "the verdict's commit 0123456789ab is not in this clone: its commits not traced",
    )
    assert trace_change(repo.root, at=tree) == head_traced_the_long_way(repo.root, tree)
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("OPS-1 one", **{"b.py": "1\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main moves on", **{"app.py": "a = 3\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")
    merge = trace_change(repo.root)
    assert merge == head_traced_the_long_way(repo.root)
    assert counted(merge) == [("OPS-1 one", ("OPS-1",))]
    empty = Repo.init(tmp_path / "empty")
    assert trace_change(empty.root) == head_traced_the_long_way(empty.root)
    assert trace_change(empty.root).notes == ("no commit checked out (HEAD): no commits traced",)
    outside = tmp_path / "outside"
    outside.mkdir()
    assert trace_change(outside) == head_traced_the_long_way(outside) == Trace(pattern=DEFAULT_KEY_PATTERN)


def test_since_the_last_verdict_each_earlier_commit_is_one_git_run(repo: Repo, git_runs: list[tuple[str, ...]]) -> None:
    """check with an embedded store in CI: the top-level and HEAD's (or the verdict's) commit in one run, one
    `merge-base --is-ancestor` per earlier verdict's commit (whether the clone has it asked only when git
    refuses it), the log."""
    rewritten = repo.git("commit-tree", "-m", "gone after a force-push", repo.git("rev-parse", "HEAD^{tree}"))
    checked = repo.head()
    repo.commit("PAY-9 two", **{"d.py": "2\n"})
    trace = trace_change(repo.root, since=[rewritten, checked])
    assert counted(trace) == [("PAY-9 two", ("PAY-9",))] and trace.notes == ()
    assert [arguments[0] for arguments in git_runs] == ["rev-parse", "merge-base", "merge-base", "log"]
    git_runs.clear()
    assert trace_change(repo.root, since=[checked], at=repo.head()) == trace_change(repo.root, since=[checked])
    assert [arguments[0] for arguments in git_runs] == ["rev-parse", "merge-base", "log"] * 2


def test_outside_a_clone_git_runs_once(tmp_path: Path, git_runs: list[tuple[str, ...]]) -> None:
    """A job that checks out nothing (a gate job downloading reports): one git run says so, as before."""
    earlier = "0123456789abcdef0123456789abcdef01234567"  # an earlier verdict's commit: the other path, the same
    assert trace_change(tmp_path) == trace_change(tmp_path, since=[earlier]) == Trace(pattern=DEFAULT_KEY_PATTERN)
    assert len(git_runs) == 2


def test_a_range_of_more_commits_than_the_bound_is_not_traced(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    base = repo.head()
    for n in range(4):
        repo.commit(f"PAY-{n + 1}", **{"e.py": f"{n}\n"})
    monkeypatch.setattr(trace_module, "MAX_COMMITS", 3)
    trace = trace_change(repo.root, base=base, head=repo.head())
    assert trace.commits is None and trace.metrics() == {}
    assert trace.notes[0].startswith("more than 3 commits in change ")
    monkeypatch.setattr(trace_module, "MAX_COMMITS", 4)
    assert trace_change(repo.root, base=base, head=repo.head()).metrics()["trace.commits"] == 4


def test_hostile_commit_messages(repo: Repo) -> None:
    """A huge message with its key past the bound; one shaped like git log's own record separators; one
    that is a regular-expression bomb for a careless pattern; escape codes in a subject."""
    base = repo.head()
    commit_file(repo, "big change\n\n" + "x" * (2 * MAX_TEXT_CHARS) + "\nPAY-1\n")  # key past the bound
    fake = "0" * 40
    commit_file(repo, f"forged\x1f{fake}\x1f\n\x00".replace("\x00", "") + f"{fake}\x1f\x1fPAY-2 not mine")
    commit_file(repo, "a" * 50_000 + "-" + "\n(((((((((((((((((((((((((((((x" + "-1" * 10_000)
    commit_file(repo, "\x1b[31mred\x1b[0m PAY-3\tand\rmore")
    trace = trace_change(repo.root, base=base, head=repo.head())
    assert trace.commits is not None
    # 4 real commits, no forged one; the separators inside a message stay in it, so PAY-2 is its key.
    assert [commit.keys for commit in trace.commits] == [("PAY-3",), (), ("PAY-2",), ()]
    assert trace.metrics() == {"trace.commits": 4, "trace.commits_with_key": 2, "trace.percent": 50.0}
    assert all(len(commit.subject) <= trace_module.SUBJECT_CHARS for commit in trace.commits)
    assert trace.commits[0].subject == "\x1b[31mred\x1b[0m PAY-3 and more"  # kept as data, escaped when shown


# --- the merge request's title ----------------------------------------------------------------------


def test_the_title_from_gitlab_and_jenkins() -> None:
    title, notes = detect_change_title({"GITLAB_CI": "true", "CI_MERGE_REQUEST_TITLE": "Draft: PAY-1 card"})
    assert title is not None and (title.title, title.source, notes) == (
        "Draft: PAY-1 card",
        "CI_MERGE_REQUEST_TITLE",
        (),
    )
    title, _ = detect_change_title({"JENKINS_URL": "https://ci.example", "CHANGE_TITLE": "ops-2 " + "x" * 5000})
    assert title is not None and title.source == "CHANGE_TITLE" and len(title.title) == 1024
    assert detect_change_title({"CI_MERGE_REQUEST_TITLE": "PAY-1"}) == (None, ())  # not in GitLab CI: not read


def test_the_title_from_a_github_pull_request_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    event = tmp_path / "event.json"
    github = {"GITHUB_ACTIONS": "true", "GITHUB_HEAD_REF": "pay-3", "GITHUB_EVENT_PATH": str(event)}
    event.write_text(json.dumps({"pull_request": {"title": "PAY-3: card form", "number": 5}}))
    title, notes = detect_change_title(github)
    assert title is not None and (title.title, title.source, notes) == (
        "PAY-3: card form",
        "GITHUB_EVENT_PATH pull_request.title",
        (),
    )
    assert detect_change_title({**github, "GITHUB_HEAD_REF": ""}) == (None, ())  # a push event: no title read
    event.write_text("[" * 100_000 + "]" * 100_000)  # nested past the parser's recursion limit
    title, notes = detect_change_title(github)
    assert title is None and notes[0].endswith("cannot be read as JSON (RecursionError): no title")
    event.write_text('{"pull_request": {"title": 5}}')
    assert detect_change_title(github) == (None, ())
    event.write_text("{not json")
    assert detect_change_title(github)[1][0].endswith("(JSONDecodeError): no title")
    monkeypatch.setattr("gatekeeper.context.MAX_EVENT_BYTES", 64)
    event.write_text(json.dumps({"pull_request": {"title": "PAY-3", "body": "x" * 100}}))
    assert detect_change_title(github)[1] == (f"GITHUB_EVENT_PATH {str(event)!a} is over 64 bytes: its title not read",)
    assert detect_change_title({**github, "GITHUB_EVENT_PATH": str(tmp_path / "missing.json")})[0] is None


# --- the verdict and its outputs --------------------------------------------------------------------

TRACED = Policy(
    name="traced",
    path="gatekeeper.yaml",
    gates=(Gate(id="traced", condition=Comparison(metric="trace.percent", min=100), if_absent=IfAbsent.SKIP),),
)


def make_verdict(trace: Trace) -> Verdict:
    """The verdict `check` builds for `trace`: its metrics observed, its record in the verdict."""
    outcome = decide(Evidence(), TRACED, Context(), date(2026, 3, 15), observed=trace.metrics())
    return build(outcome=outcome, policy=TRACED, context=Context(), inputs=[], duration_ms=1, trace=trace)


def traced_verdict(commits: int, *, with_key: int) -> Verdict:
    """A verdict of `commits` commits, the first `with_key` carrying PAY-n, the rest none (newest first)."""
    listed = tuple(
        TracedCommit(sha=f"{n:040x}", keys=(f"PAY-{n}",) if n < with_key else (), subject=f"commit {n}")
        for n in range(commits)
    )
    trace = Trace(
        pattern=DEFAULT_KEY_PATTERN,
        commits=listed,
        range="change 000000000000..ffffffffffff",
        sources={"branch": ("PAY-0",), "title": ("OPS-1",)},
    )
    return make_verdict(trace)


def test_the_verdict_records_the_trace_and_reads_it_back() -> None:
    verdict = traced_verdict(3, with_key=2)
    document = verdict.to_json()
    assert document["metrics"]["trace.commits"] == 3 and document["metrics"]["trace.commits_with_key"] == 2
    assert document["trace"] == {
        "pattern": DEFAULT_KEY_PATTERN,
        "range": "change 000000000000..ffffffffffff",
        "commits": [  # the one without a key first
            {"sha": f"{2:040x}", "keys": [], "subject": "commit 2"},
            {"sha": f"{0:040x}", "keys": ["PAY-0"], "subject": "commit 0"},
            {"sha": f"{1:040x}", "keys": ["PAY-1"], "subject": "commit 1"},
        ],
        "keys": ["OPS-1", "PAY-0", "PAY-1"],
        "sources": {"branch": ["PAY-0"], "title": ["OPS-1"]},
    }
    assert parse(json.loads(json.dumps(document)), "verdict.json").to_json() == document  # schema-valid round trip


def test_a_long_list_of_commits_is_cut_and_counted() -> None:
    verdict = traced_verdict(LIST_LIMIT + 30, with_key=0)
    assert verdict.trace is not None and verdict.trace.commits is not None
    assert (len(verdict.trace.commits), verdict.trace.commits_omitted) == (LIST_LIMIT, 30)
    assert parse(verdict.to_json(), "v").trace == verdict.trace
    text = renderer_for("text")(verdict)
    assert (
        "trace (change 000000000000..ffffffffffff): 0 of 130 commits carry a requirement key; keys OPS-1, PAY-0" in text
    )
    assert "    … and 120 more" in text  # 10 listed of 130 without a key


def test_text_and_markdown_show_keys_and_commits_without_one_escaped() -> None:
    hostile = TracedCommit(sha="a" * 40, keys=(), subject="\x1b[31m<b>x</b> `code` | *bold*")
    trace = Trace(pattern=DEFAULT_KEY_PATTERN, commits=(hostile, TracedCommit(sha="b" * 40, keys=("PAY-1",))))
    verdict = make_verdict(trace)
    text = renderer_for("text")(verdict)
    assert "  trace: 1 of 2 commits carry a requirement key; keys PAY-1" in text
    assert "    aaaaaaaaaaaa  \\x1b[31m<b>x</b> `code` | *bold*" in text  # the escape shown, not sent
    markdown = renderer_for("markdown")(verdict)
    assert "**Traceability**: 1 of 2 commits carry a requirement key; keys: `PAY-1`" in markdown
    assert "- `aaaaaaaaaaaa` \\[31m\\<b\\>x\\</b\\> \\`code\\` \\| \\*bold\\*\n" in markdown  # ESC dropped


# --- the level-3 gate -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("branch", "metrics", "status"),
    [
        ("main", {"trace.commits": 4, "trace.commits_with_key": 4, "trace.percent": 100.0}, GateStatus.PASS),
        ("main", {"trace.commits": 4, "trace.commits_with_key": 3, "trace.percent": 75.0}, GateStatus.FAIL),
        ("release/2.1", {"trace.commits": 1, "trace.commits_with_key": 0, "trace.percent": 0.0}, GateStatus.FAIL),
        ("main", {"trace.commits": 0, "trace.commits_with_key": 0}, GateStatus.PASS),  # merges only
        ("main", {}, GateStatus.FAIL),  # no git history: traceability not shown
        ("feature/pay-1", {"trace.commits": 1, "trace.commits_with_key": 0, "trace.percent": 0.0}, GateStatus.SKIP),
    ],
)
def test_level_3_traces_every_commit_on_deploy_branches(
    branch: str, metrics: dict[str, float], status: GateStatus
) -> None:
    policy = load_policy(REPO / "rules" / "caict-cd" / "level-3.yaml")
    gate = next(gate for gate in policy.gates if gate.id == "commits-traced")
    assert gate.criterion.startswith("配置管理 / Configuration management — 变更管理·变更追溯")
    assert evaluate_gate(gate, metrics, branch).status is status
