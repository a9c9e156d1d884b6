"""Organisation policies (issue 4, item 4): one central policy, pinned by URL and digest, that teams
extend and tune — except for the gates it locks.

The central policy is served by a real HTTP server on 127.0.0.1 (plain http is allowed only to this
machine); the cache lives in a temporary GATEKEEPER_CACHE.  Nothing here leaves the machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.policy import Policy, fetch, load_policy, resource_path
from gatekeeper.status import ExitStatus

CENTRAL = """\
policy: acme-central
model: caict-devops-cd
level: 3
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
  - id: no-high-findings
    criterion: security findings are an organisation rule
    all:
      - {metric: findings.critical, max: 0}
      - {metric: findings.high, max: 0}
    locked: true
  - id: line-coverage
    metric: coverage.lines.percent
    min: 60
"""


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert raised.value.status is ExitStatus.UNDECIDED
    for problem in raised.value.problems:
        assert "\n" not in problem
    return raised.value.problems


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line of the first line holding `fragment`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if fragment in line)


def locked(child: Path, line: int, gate: str, parent: Path | str, parent_line: int, action: str = "overridden") -> str:
    """The one-line error: the child's file:line (a column may follow) naming the parent's file:line (a
    bundled pack by its name, a fetched policy by its URL)."""
    return (
        rf"{re.escape(str(child))}:{line}(:\d+)?: gate '{gate}' is locked by "
        rf"{re.escape(str(parent))}:{parent_line} and cannot be {action}"
    )


def unknown(child: Path, line: int, gate: str) -> str:
    """The error for `enabled: false` on a gate no parent has."""
    where = rf"{re.escape(str(child))}:{line}(:\d+)?"
    return rf"{where}: 'enabled: false' on gate '{gate}', which no extended policy defines"


def assert_problems(path: Path, *patterns: str) -> None:
    problems = problems_of(path)
    assert len(problems) == len(patterns), problems
    for problem, pattern in zip(problems, patterns, strict=True):
        assert re.fullmatch(pattern, problem), f"{problem!r} does not match {pattern!r}"


# --- locked gates ----------------------------------------------------------------------------------


@pytest.fixture
def central(tmp_path: Path) -> Path:
    return write(tmp_path / "central.yaml", CENTRAL)


#: The line of the locked gate in CENTRAL, where every lock error points.
LOCKED_AT = CENTRAL.splitlines().index("  - id: no-high-findings") + 1


def test_a_team_tunes_what_is_not_locked(central: Path) -> None:
    team = write(central.parent / "team.yaml", """\
policy: team
extends: central.yaml
gates:
  - id: line-coverage
    metric: coverage.lines.percent
    min: 80
  - id: tests-all-pass
    enabled: false
""")  # fmt: skip
    policy = load_policy(team)
    assert [gate.id for gate in policy.gates] == ["no-high-findings", "line-coverage"]
    locked = policy.gates[0]
    assert locked.locked and locked.source == f"{central}:{LOCKED_AT}"
    assert policy.gates[1].condition.min == 80
    assert (policy.model, policy.level) == ("caict-devops-cd", 3)  # inherited


def test_overriding_a_locked_gate_names_both_places(central: Path) -> None:
    team = write(central.parent / "team.yaml", """\
policy: team
extends: central.yaml
gates:
  - id: line-coverage
    metric: coverage.lines.percent
    min: 80
  - id: no-high-findings
    metric: findings.high
    max: 5
""")  # fmt: skip
    assert_problems(team, locked(team, 7, "no-high-findings", central, LOCKED_AT))


def test_switching_off_a_locked_gate_is_an_error(central: Path) -> None:
    team = write(central.parent / "team.yaml", """\
policy: team
extends: central.yaml
gates:
  - id: no-high-findings
    enabled: false
""")  # fmt: skip
    assert_problems(team, locked(team, 5, "no-high-findings", central, LOCKED_AT, "switched off"))


def test_switching_off_a_gate_nobody_defines_is_an_error(central: Path) -> None:
    """A typo in `enabled: false` would otherwise switch off nothing, silently."""
    team = write(central.parent / "team.yaml", """\
policy: team
extends: central.yaml
gates:
  - id: tests-al-pass
    enabled: false
""")  # fmt: skip
    assert_problems(team, unknown(team, 4, "tests-al-pass"))


def test_every_problem_is_reported_at_once(central: Path) -> None:
    team = write(central.parent / "team.yaml", """\
policy: team
extends: central.yaml
gates:
  - id: no-high-findings
    metric: findings.high
    max: 5
  - id: nothing-like-this
    enabled: false
""")  # fmt: skip
    assert_problems(
        team,
        locked(team, 4, "no-high-findings", central, LOCKED_AT),
        unknown(team, 7, "nothing-like-this"),
    )


def test_a_lock_holds_through_every_generation(central: Path) -> None:
    """The division extends the organisation; a team extends the division: the lock still names central."""
    write(central.parent / "division.yaml", "policy: division\nextends: central.yaml\n")
    team = write(central.parent / "team.yaml", """\
policy: team
extends: division.yaml
gates:
  - id: no-high-findings
    metric: findings.high
    max: 5
""")  # fmt: skip
    assert_problems(team, locked(team, 4, "no-high-findings", central, LOCKED_AT))


def test_a_second_parent_cannot_replace_a_locked_gate(central: Path) -> None:
    """`extends: [central, loose]`: the later parent's gate of the same id must not slip past the lock."""
    loose = write(central.parent / "loose.yaml", """\
policy: loose
gates:
  - id: no-high-findings
    metric: findings.high
    max: 100
""")  # fmt: skip
    team = write(central.parent / "team.yaml", "policy: team\nextends: [central.yaml, loose.yaml]\n")
    both = rf" \(both are extended by {re.escape(str(team))}\)"
    assert_problems(team, locked(loose, 3, "no-high-findings", central, LOCKED_AT) + both)


def test_two_parents_sharing_the_locked_gate_are_no_override(central: Path) -> None:
    """Two divisions extending the same central policy: the team extends both, and the gate is one gate."""
    write(central.parent / "payments.yaml", "policy: payments\nextends: central.yaml\n")
    write(central.parent / "cards.yaml", "policy: cards\nextends: central.yaml\n")
    team = write(central.parent / "team.yaml", "policy: team\nextends: [payments.yaml, cards.yaml]\n")
    policy = load_policy(team)
    assert [gate.id for gate in policy.gates] == ["tests-all-pass", "no-high-findings", "line-coverage"]


def test_a_team_can_lock_its_own_gates(central: Path) -> None:
    write(central.parent / "team.yaml", """\
policy: team
extends: central.yaml
gates:
  - id: no-secrets
    metric: findings.total
    max: 0
    locked: true
""")  # fmt: skip
    service = write(central.parent / "service.yaml", """\
policy: service
extends: team.yaml
gates:
  - id: no-secrets
    metric: findings.total
    max: 3
""")  # fmt: skip
    assert_problems(service, locked(service, 4, "no-secrets", central.parent / "team.yaml", 4))


def test_the_bundled_packs_lock_their_security_gates(tmp_path: Path) -> None:
    team = write(tmp_path / "team.yaml", """\
policy: team
extends: caict-cd/level-3
gates:
  - id: no-critical-or-high-findings
    metric: findings.critical
    max: 0
""")  # fmt: skip
    pack = resource_path("rules", "caict-cd", "level-3.yaml")
    locked_at = line_of(pack, "id: no-critical-or-high-findings")
    # The pack by its bundled name, never by where it is installed (a site-packages path in a CI log).
    assert_problems(team, locked(team, 4, "no-critical-or-high-findings", "caict-cd/level-3", locked_at))


# --- pinned URLs -----------------------------------------------------------------------------------


class PolicyServer:
    """A real HTTP server on 127.0.0.1 serving policy files, counting the requests it answers; a path in
    `redirects` answers 302 to its Location, one in `streams` sends its chunk every `pause` seconds, forever."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        self.redirects: dict[str, str] = {}
        self.streams: dict[str, tuple[bytes, float]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path in server.streams:
                    chunk, pause = server.streams[self.path]
                    self.send_response(200)
                    self.end_headers()
                    with contextlib.suppress(OSError):  # until the client hangs up
                        while True:
                            self.wfile.write(chunk)
                            time.sleep(pause)
                    return
                body = server.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body if body is not None else b"not found")

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: pytest shows stderr of failing tests

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("GATEKEEPER_CACHE", str(directory))
    return directory


@pytest.fixture
def server() -> Iterator[PolicyServer]:
    running = PolicyServer({"/policies/central.yaml": CENTRAL.encode()})
    yield running
    if running.thread.is_alive():
        running.stop()


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def pinned_team(directory: Path, url: str, sha256: str, name: str = "team.yaml") -> Path:
    return write(directory / name, f"""\
policy: team
extends:
  url: {url}
  sha256: {sha256}
gates:
  - id: line-coverage
    metric: coverage.lines.percent
    min: 80
""")  # fmt: skip


def test_a_pinned_policy_is_fetched_once_and_cached(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    url = server.url("/policies/central.yaml")
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    policy = load_policy(team)
    assert [gate.id for gate in policy.gates] == ["tests-all-pass", "no-high-findings", "line-coverage"]
    assert policy.gates[2].condition.min == 80
    cached = cache / "policies" / f"{digest(CENTRAL)}.yaml"
    assert cached.read_text(encoding="utf-8") == CENTRAL
    assert policy.chain == (str(team), f"{url} (cached as {cached})")
    assert server.requests == ["/policies/central.yaml"]

    load_policy(team)
    assert server.requests == ["/policies/central.yaml"]  # the second load reads the cache
    server.stop()
    # With the server gone, the pin still resolves from the cache, for this policy and any other.
    assert load_policy(team).digest == policy.digest
    other = pinned_team(tmp_path, url, digest(CENTRAL), name="other-team.yaml")
    assert load_policy(other).digest == policy.digest  # same content, same digest, whatever the file


def test_a_locked_gate_of_a_fetched_policy_stays_locked(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    url = server.url("/policies/central.yaml")
    team = write(tmp_path / "team.yaml", f"""\
policy: team
extends: {{url: {url}, sha256: {digest(CENTRAL)}}}
gates:
  - id: no-high-findings
    metric: findings.high
    max: 3
""")  # fmt: skip
    cached = cache / "policies" / f"{digest(CENTRAL)}.yaml"
    assert_problems(team, locked(team, 4, "no-high-findings", f"{url} (cached as {cached})", LOCKED_AT))


def test_a_digest_mismatch_is_refused_naming_the_extends(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    """The server's file changed (or was tampered with): the pin refuses it, and nothing is cached."""
    url = server.url("/policies/central.yaml")
    pinned = digest(CENTRAL.replace("min: 60", "min: 0"))  # the pin of another version
    team = pinned_team(tmp_path, url, pinned)
    assert problems_of(team) == [
        f"{team}:3:3: extends {url}: sha256 is {digest(CENTRAL)}, not the pinned {pinned}; refused"
    ]
    assert not list(cache.rglob("*.yaml"))


def test_a_corrupt_cache_entry_is_fetched_again(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    url = server.url("/policies/central.yaml")
    cached = cache / "policies" / f"{digest(CENTRAL)}.yaml"
    cached.parent.mkdir(parents=True)
    cached.write_text("policy: truncated\n", encoding="utf-8")
    assert load_policy(pinned_team(tmp_path, url, digest(CENTRAL))).gates[0].id == "tests-all-pass"
    assert server.requests == ["/policies/central.yaml"]
    assert cached.read_text(encoding="utf-8") == CENTRAL


def test_a_missing_file_on_the_server_is_a_clear_error(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    url = server.url("/policies/moved.yaml")
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    assert problems_of(team) == [f"{team}:3:3: extends {url}: cannot fetch: Not Found"]


@pytest.mark.parametrize(
    "url",
    ["http://policies.example.com/central.yaml", "http://10.0.0.8/central.yaml", "http://[::2]/central.yaml"],
)
def test_plain_http_to_another_machine_is_refused(tmp_path: Path, cache: Path, url: str) -> None:
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    assert problems_of(team) == [
        f"{team}:3:3: extends {url}: only https:// URLs (or http:// on this machine) may be fetched"
    ]


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_https_url_is_a_clear_error(tmp_path: Path, cache: Path) -> None:
    url = f"https://127.0.0.1:{closed_port()}/central.yaml"
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    (problem,) = problems_of(team)
    assert problem.startswith(f"{team}:3:3: extends {url}: cannot fetch: ")
    assert "refused" in problem.lower()


def test_this_machine_is_never_reached_through_a_proxy(
    tmp_path: Path, cache: Path, server: PolicyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI runner's http_proxy (without no_proxy) must not swallow the local mirror."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    team = pinned_team(tmp_path, server.url("/policies/central.yaml"), digest(CENTRAL))
    assert load_policy(team).gates[0].id == "tests-all-pass"


def test_a_fetched_policy_may_not_extend_a_relative_path(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    """Relative to what? The cache holds the fetched file alone; its neighbours on the server are not pinned."""
    central = "policy: central\nextends: base.yaml\ngates:\n  - {id: g, metric: tests.total, min: 1}\n"
    server.files["/policies/central.yaml"] = central.encode()
    server.files["/policies/base.yaml"] = b"policy: base\n"
    team = pinned_team(tmp_path, server.url("/policies/central.yaml"), digest(central))
    cached = cache / "policies" / f"{digest(central)}.yaml"
    url = server.url("/policies/central.yaml")
    assert problems_of(team) == [
        f"{url} (cached as {cached}):2:10: extends 'base.yaml': a fetched policy may extend only bundled packs "
        "or pinned URLs"
    ]
    assert server.requests == ["/policies/central.yaml"]


def test_a_fetched_policy_may_not_reach_out_of_the_packs(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    """A pack name with `..` would load any YAML file on the machine as a "bundled pack"."""
    elsewhere = write(tmp_path / "elsewhere.yaml", "policy: elsewhere\n")
    sneaky = os.path.relpath(elsewhere.with_suffix(""), resource_path("rules"))
    assert ".." in sneaky
    central = f"policy: central\nextends: {sneaky}\n"
    server.files["/policies/central.yaml"] = central.encode()
    team = pinned_team(tmp_path, server.url("/policies/central.yaml"), digest(central))
    (problem,) = problems_of(team)
    assert problem.endswith(f"extends '{sneaky}': a fetched policy may extend only bundled packs or pinned URLs")


def test_a_fetched_policy_may_extend_a_bundled_pack(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    central = "policy: central\nextends: caict-cd/level-3\ngates:\n  - {id: g, metric: tests.total, min: 5}\n"
    server.files["/policies/central.yaml"] = central.encode()
    team = pinned_team(tmp_path, server.url("/policies/central.yaml"), digest(central))
    policy: Policy = load_policy(team)
    assert (policy.model, policy.level) == ("caict-devops-cd", 3)
    assert {"no-critical-or-high-findings", "g", "line-coverage"} <= {gate.id for gate in policy.gates}


def test_a_mistake_in_a_fetched_policy_names_its_url(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    """Its author knows the URL they published, not the digest-named file our cache keeps it in."""
    central = "policy: central\ngates:\n  - {id: g, metric: tests.totl, min: 5}\n"
    server.files["/policies/central.yaml"] = central.encode()
    url = server.url("/policies/central.yaml")
    team = pinned_team(tmp_path, url, digest(central))
    (problem,) = problems_of(team)
    cached = cache / "policies" / f"{digest(central)}.yaml"
    assert problem.startswith(f"{url} (cached as {cached}):3:")
    assert "tests.totl" in problem


@pytest.mark.parametrize(
    ("sha256", "message"),
    [
        ("sha256:" + "a" * 64, "is not 64 lowercase hex digits (write the digits without the 'sha256:' prefix)"),
        ("A" * 64, "is not 64 lowercase hex digits (write it in lowercase)"),
        ("abc", "sha256 'abc' is not 64 lowercase hex digits"),
    ],
)  # fmt: skip
def test_a_malformed_pin_says_what_is_wrong_with_it(tmp_path: Path, sha256: str, message: str) -> None:
    """Not "expects a policy file or bundled pack name": the author wrote a pin, and the pin is wrong."""
    pin = f'{{url: "https://x.example/c.yaml", sha256: "{sha256}"}}'
    team = write(tmp_path / "team.yaml", f"policy: team\nextends: {pin}\n")
    (problem,) = problems_of(team)
    assert problem.startswith(f"{team}:2:10: extends: ")
    assert message in problem


# --- redirects, size and time (issue 13, item 11) --------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://example.invalid/central.yaml",  # plain http to another machine
        "file:///etc/passwd",
        "ftp://127.0.0.1/central.yaml",
    ],
)
def test_a_redirect_is_checked_like_the_first_url(
    tmp_path: Path, cache: Path, server: PolicyServer, location: str
) -> None:
    """Each hop passes the rule the first URL did; the pin alone is no defence when the content is the same."""
    url = server.url("/policies/moved.yaml")
    server.redirects["/policies/moved.yaml"] = location
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    assert problems_of(team) == [
        f"{team}:3:3: extends {url}: redirected to {location}: only https:// URLs (or http:// on this machine) "
        "may be fetched; refused"
    ]
    assert server.requests == ["/policies/moved.yaml"]
    assert not list(cache.rglob("*.yaml"))


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("http://127.0.0.1:8000/a.yaml", "http://localhost:9000/b.yaml", True),
        ("http://127.0.0.1:8000/a.yaml", "https://policies.example.com/b.yaml", True),
        ("https://policies.example.com/a.yaml", "https://mirror.example.org/b.yaml", True),
        ("http://127.0.0.1:8000/a.yaml", "http://policies.example.com/b.yaml", False),
        ("https://policies.example.com/a.yaml", "http://policies.example.com/b.yaml", False),  # a downgrade
        ("https://policies.example.com/a.yaml", "http://127.0.0.1:8080/admin", False),
        ("https://policies.example.com/a.yaml", "https://[::1]/b.yaml", False),
        ("https://policies.example.com/a.yaml", "file:///etc/passwd", False),
    ],
)  # fmt: skip
def test_the_rule_for_each_redirect(source: str, target: str, allowed: bool) -> None:
    assert (fetch.redirect_problem(source, target) is None) is allowed


def test_an_allowed_redirect_is_followed(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    server.redirects["/policies/old.yaml"] = "/policies/central.yaml"  # relative, as servers often send
    team = pinned_team(tmp_path, server.url("/policies/old.yaml"), digest(CENTRAL))
    assert load_policy(team).gates[0].id == "tests-all-pass"
    assert server.requests == ["/policies/old.yaml", "/policies/central.yaml"]


def test_a_redirect_loop_ends(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    server.redirects["/a.yaml"] = "/b.yaml"
    server.redirects["/b.yaml"] = server.url("/a.yaml")
    url = server.url("/a.yaml")
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    assert problems_of(team) == [f"{team}:3:3: extends {url}: more than {fetch.MAX_REDIRECTS} redirects; refused"]
    assert len(server.requests) == fetch.MAX_REDIRECTS + 1


def test_an_endless_answer_is_cut_at_the_size_limit(tmp_path: Path, cache: Path, server: PolicyServer) -> None:
    server.streams["/policies/endless.yaml"] = (b"#" * 65536 + b"\n", 0.0)
    url = server.url("/policies/endless.yaml")
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    assert problems_of(team) == [f"{team}:3:3: extends {url}: larger than {1 << 20} bytes; not a policy"]


def test_a_trickling_answer_is_cut_at_the_deadline(
    tmp_path: Path, cache: Path, server: PolicyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte every 50 ms keeps every read within the socket timeout; the deadline is for the whole fetch."""
    monkeypatch.setattr(fetch, "FETCH_TIMEOUT_SECONDS", 1.0)
    server.streams["/policies/slow.yaml"] = (b"#", 0.05)
    url = server.url("/policies/slow.yaml")
    team = pinned_team(tmp_path, url, digest(CENTRAL))
    problems: list[list[str]] = []
    # In a thread, so that a fetch without a deadline fails this test instead of hanging it (for hours).
    loading = threading.Thread(target=lambda: problems.append(problems_of(team)), daemon=True)
    loading.start()
    loading.join(timeout=20)
    assert problems == [[f"{team}:3:3: extends {url}: no complete answer within 1 seconds; refused"]]
