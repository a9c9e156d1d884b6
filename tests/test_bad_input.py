"""Bad input through the installed console script, as a CI user meets it.

Every case: exit 2 ("the gate could not decide"), exactly one line on stderr naming the file and what
is wrong, and no traceback anywhere.  Hostile XML (entity bombs, external entities) is refused without
reading a local file or opening a connection.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import corpus_path

GATEKEEPER = Path(sys.executable).parent / "gatekeeper"
JUNIT = '<testsuite name="s"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>'


@dataclass(frozen=True, slots=True)
class Run:
    code: int
    stdout: str
    stderr: str


def gatekeeper(*arguments: str, cwd: Path, memory_limit: int | None = None) -> Run:
    """The installed console script, run the way CI runs it."""
    if not GATEKEEPER.exists():
        pytest.skip(f"console script not installed at {GATEKEEPER}")

    def limit_memory() -> None:  # keeps a pathological input from taking the machine down with it
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    completed = subprocess.run(
        [str(GATEKEEPER), *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
        preexec_fn=limit_memory,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def assert_input_error(run: Run, names: str, problem: str) -> str:
    """Exit 2, one stderr line naming `names` and saying `problem`, no traceback, no partial output."""
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert run.code == 2, run
    line = lines[0]
    assert line.startswith("gatekeeper: error: "), line
    assert names in line and problem in line, line
    assert run.stdout == "", "no metrics may be printed when an input is bad"
    return line


def test_a_missing_file(tmp_path: Path) -> None:
    assert_input_error(gatekeeper("metrics", "nowhere.xml", cwd=tmp_path), "nowhere.xml", "no such file")


def test_a_directory_with_no_report_in_it(tmp_path: Path) -> None:
    """A user pointing at the wrong directory expects to hear so, not "no reports found" and exit 0."""
    (tmp_path / "build" / "test-results").mkdir(parents=True)
    (tmp_path / "build" / "test-results" / "output.log").write_text("BUILD SUCCESSFUL\n", encoding="utf-8")
    run = gatekeeper("metrics", "build", cwd=tmp_path)
    assert_input_error(run, "build", "no report found here (1 file looked at")


def test_an_unknown_forced_format(tmp_path: Path) -> None:
    (tmp_path / "file").write_text(JUNIT, encoding="utf-8")
    run = gatekeeper("metrics", "nope:file", cwd=tmp_path)
    assert_input_error(run, "nope:file", "unknown format 'nope' (known formats: junit, ")


def test_an_unrecognised_text_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("These are not the reports you are looking for.\n", encoding="utf-8")
    run = gatekeeper("metrics", "notes.txt", cwd=tmp_path)
    assert_input_error(run, "notes.txt", "not a report gatekeeper can read (use FORMAT:PATH to force")


def test_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "TEST-empty.xml").write_bytes(b"")
    assert_input_error(gatekeeper("metrics", "TEST-empty.xml", cwd=tmp_path), "TEST-empty.xml", "is empty")


def test_a_binary_file(tmp_path: Path) -> None:
    (tmp_path / "results.xml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(4096))
    assert_input_error(gatekeeper("metrics", "results.xml", cwd=tmp_path), "results.xml", "a binary file")


def test_a_binary_file_forced_as_junit(tmp_path: Path) -> None:
    (tmp_path / "results.xml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    run = gatekeeper("metrics", "junit:results.xml", cwd=tmp_path)
    assert_input_error(run, "results.xml", "malformed XML at line 1")


def test_malformed_xml(tmp_path: Path) -> None:
    (tmp_path / "results.xml").write_text('<testsuite><testcase name="a"></testsuite>', encoding="utf-8")
    run = gatekeeper("metrics", "results.xml", cwd=tmp_path)
    line = assert_input_error(run, "results.xml", ": mismatched tag")
    assert "results.xml: malformed XML at line 1, column " in line


def test_truncated_xml_from_the_corpus(tmp_path: Path) -> None:
    path = corpus_path("edge/tests/pytest-truncated.xml")
    run = gatekeeper("metrics", str(path), cwd=tmp_path)
    assert_input_error(run, str(path), "the document ends early (truncated?)")


def test_truncated_json_from_the_corpus(tmp_path: Path) -> None:
    """yajl's error text is three lines (message, excerpt, arrow); the user gets the first."""
    path = corpus_path("edge/security/celery-bandit-2021-truncated.json")
    run = gatekeeper("metrics", str(path), cwd=tmp_path)
    assert_input_error(run, str(path), "premature EOF")


def test_an_unsupported_declared_encoding(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text('<?xml version="1.0" encoding="Shift_JIS"?><a/>', encoding="ascii")
    run = gatekeeper("metrics", "r.xml", cwd=tmp_path)
    assert_input_error(run, "r.xml", "unsupported character encoding 'Shift_JIS'")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuites><testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite></testsuites>
"""


@pytest.mark.parametrize("forced", ["", "junit:", "cobertura:"])
def test_a_billion_laughs_document(tmp_path: Path, forced: str) -> None:
    (tmp_path / "lol.xml").write_text(BILLION_LAUGHS, encoding="utf-8")
    run = gatekeeper("metrics", f"{forced}lol.xml", cwd=tmp_path, memory_limit=1 << 30)
    assert_input_error(run, "lol.xml", "refused: the document declares the entity 'lol'")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local port that records whether anything connected to it (the kernel queues the connection)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER-4f1c\n", encoding="utf-8")
    return secret


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A file that cannot be read without hanging: opening it for reading blocks until a writer comes."""
    path = tmp_path / "never-open-me"
    os.mkfifo(path)
    return path


def xxe(entity: str) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE testsuites [\n  {entity}\n]>\n'
        '<testsuites><testsuite name="&xxe;"><testcase name="t"/></testsuite></testsuites>\n'
    )


@pytest.mark.parametrize("forced", ["", "junit:", "cobertura:", "jacoco:", "clover:"])
def test_an_external_entity_pointing_at_a_local_file_is_refused_unread(
    tmp_path: Path, secret_file: Path, fifo: Path, forced: str
) -> None:
    for target in (secret_file, fifo):  # the FIFO hangs the run (timeout) if anything opens it
        (tmp_path / "xxe.xml").write_text(xxe(f'<!ENTITY xxe SYSTEM "file://{target}">'), encoding="utf-8")
        run = gatekeeper("metrics", f"{forced}xxe.xml", cwd=tmp_path)
        assert_input_error(run, "xxe.xml", "refused: the document declares the entity 'xxe'")
        assert "TOP-SECRET" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    "entity",
    [
        '<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/steal">',
        '<!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/evil.dtd"> %remote;',
        '<!ENTITY xxe SYSTEM "http://127.0.0.1:9/">',
    ],
    ids=["general", "parameter", "discard-port"],
)
def test_an_external_entity_pointing_at_a_url_is_refused_unfetched(
    tmp_path: Path, listener: socket.socket, entity: str
) -> None:
    port = listener.getsockname()[1]
    (tmp_path / "xxe.xml").write_text(xxe(entity.format(port=port)), encoding="utf-8")
    run = gatekeeper("metrics", "xxe.xml", cwd=tmp_path)
    assert_input_error(run, "xxe.xml", "refused: the document declares the")
    assert connections(listener) == 0


def test_the_corpus_xxe_sample_is_refused(tmp_path: Path) -> None:
    path = corpus_path("edge/tests/jenkins-xxe-external-entity.xml")
    run = gatekeeper("metrics", str(path), cwd=tmp_path)
    assert_input_error(run, str(path), "refused: the document declares the parameter entity 'sp'")


def test_a_doctype_without_entities_is_accepted_and_its_dtd_never_fetched(
    tmp_path: Path, listener: socket.socket
) -> None:
    """Cobertura and JaCoCo write `<!DOCTYPE … SYSTEM "…dtd">`: fine, as long as nothing is fetched."""
    port = listener.getsockname()[1]
    (tmp_path / "coverage.xml").write_text(
        '<?xml version="1.0" ?>\n'
        f'<!DOCTYPE coverage SYSTEM "http://127.0.0.1:{port}/coverage-04.dtd">\n'
        '<coverage line-rate="0.5" branch-rate="0" lines-covered="1" lines-valid="2" version="7.4">'
        '<sources><source>/src</source></sources><packages><package name="p"><classes>'
        '<class name="a.py" filename="a.py" line-rate="0.5"><methods/><lines>'
        '<line number="1" hits="1"/><line number="2" hits="0"/></lines></class>'
        "</classes></package></packages></coverage>\n",
        encoding="utf-8",
    )
    (tmp_path / "junit.xml").write_text(
        f'<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:{port}/junit.dtd">{JUNIT}', encoding="utf-8"
    )
    run = gatekeeper("metrics", "--format", "json", "coverage.xml", "junit.xml", cwd=tmp_path)
    assert run.code == 0, run
    assert '"coverage.lines.covered": 1' in run.stdout and '"tests.total": 2' in run.stdout
    assert connections(listener) == 0


def test_a_glob_that_matches_nothing(tmp_path: Path) -> None:
    run = gatekeeper("metrics", "reports/**/TEST-*.xml", cwd=tmp_path)
    assert_input_error(run, "reports/**/TEST-*.xml", "no files match this pattern")


def test_reports_given_alongside_a_bad_one_are_not_silently_dropped(tmp_path: Path) -> None:
    """`metrics` fails closed: no partial table (it would read as the whole picture), and the one error
    line names the bad file, not the good ones; `check` also records what it had read (iter_reports)."""
    (tmp_path / "good-1.xml").write_text(JUNIT, encoding="utf-8")
    (tmp_path / "good-2.xml").write_text(JUNIT, encoding="utf-8")
    (tmp_path / "bad.xml").write_text("<testsuite><testcase>", encoding="utf-8")
    run = gatekeeper("metrics", "good-1.xml", "bad.xml", "good-2.xml", cwd=tmp_path)
    line = assert_input_error(run, "bad.xml", "ends early")
    assert "good-" not in line


def test_a_bad_file_found_by_a_directory_walk_is_named(tmp_path: Path) -> None:
    """A walk skips files that are not reports, but never a report that is broken."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "TEST-a.xml").write_text(JUNIT, encoding="utf-8")
    (tmp_path / "out" / "TEST-b.xml").write_text('<testsuite name="b"><testcase name="x">', encoding="utf-8")
    (tmp_path / "out" / "build.log").write_text("ok\n", encoding="utf-8")
    run = gatekeeper("metrics", "out", cwd=tmp_path)
    assert_input_error(run, str(Path("out") / "TEST-b.xml"), "ends early")


DEEP_JSON = {
    "arrays": b'{"version": "2.1.0", "runs": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
    "objects": b'{"meta": {"version": "7.4"}, "files": ' + b'{"a":' * 40_000 + b"1" + b"}" * 40_000 + b"}",
    "interleaved": b'{"runs": [' + b"[1," * 70_000 + b"1" + b"]" * 70_000 + b"]}",
    "unclosed": b'{"runs": [' + b"[" * 2_000_000,
}


@pytest.mark.parametrize("forced", ["", "sarif:", "coverage-json:", "bandit:", "semgrep:", "gitlab-security:"])
@pytest.mark.parametrize("shape", DEEP_JSON)
def test_deeply_nested_json(tmp_path: Path, forced: str, shape: str) -> None:
    """JSON readers keep a prefix per nesting level (memory grows with the square of the depth): the
    depth guard refuses 200 KB-2 MB of nesting in one line, before memory grows."""
    (tmp_path / "deep.json").write_bytes(DEEP_JSON[shape])
    run = gatekeeper("metrics", f"{forced}deep.json", cwd=tmp_path, memory_limit=1 << 30)
    line = assert_input_error(run, "deep.json", "")
    if forced or shape != "unclosed":  # detection gives up on an unclosed 2 MB array: not a report
        assert line.endswith("deep.json: JSON nested deeper than 128 levels: not a report"), line
