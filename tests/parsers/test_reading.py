"""One read per report file: detection, parsing and the sha256 share the bytes read (`Source`).

Counted at the system calls: every `os.open` and every byte `os.read`/`os.pread` return, per file, while
`read_report` or `iter_reports` run, whatever the parser (one pass, two passes, streams side by side,
SQLite reading the file itself).  The sha256 is checked against hashlib's over the file's bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from gatekeeper.errors import InputError
from gatekeeper.parsers import CHUNK_SIZE, Source, open_report, read_report, read_reports

CORPUS = Path(__file__).resolve().parents[1] / "data"


class Reads:
    """What the process opened and read, by file name, while installed."""

    def __init__(self) -> None:
        self.opened: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self._names: dict[int, str] = {}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reads]:
    seen = Reads()
    real_open, real_read, real_pread = os.open, os.read, os.pread

    def counting_open(path: object, flags: int, *rest: int, **options: object) -> int:
        fd = real_open(path, flags, *rest, **options)  # type: ignore[arg-type]
        name = os.path.basename(os.fsdecode(path))  # type: ignore[arg-type]
        seen.opened[name] += 1
        seen._names[fd] = name
        return fd

    def counting_read(fd: int, size: int) -> bytes:
        data = real_read(fd, size)
        seen.bytes[seen._names.get(fd, "?")] += len(data)
        return data

    def counting_pread(fd: int, size: int, offset: int) -> bytes:
        data = real_pread(fd, size, offset)
        seen.bytes[seen._names.get(fd, "?")] += len(data)
        return data

    monkeypatch.setattr(os, "open", counting_open)
    monkeypatch.setattr(os, "read", counting_read)
    monkeypatch.setattr(os, "pread", counting_pread)
    yield seen


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def junit(path: Path, cases: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f'<testcase classname="c" name="t{i}" time="0.001"/>' for i in range(cases))
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="s">{body}</testsuite>\n')
    return path


@pytest.mark.parametrize("cases", [3, 60_000])  # one piece; several (the file is larger than CHUNK_SIZE)
def test_a_junit_file_is_opened_once_and_each_byte_read_once(tmp_path: Path, reads: Reads, cases: int) -> None:
    path = junit(tmp_path / "results.xml", cases)
    assert (path.stat().st_size > CHUNK_SIZE) == (cases > 3)
    report = read_report(path)
    assert (report.format, report.sha256) == ("junit", sha256(path))
    assert report.evidence.tests is not None and report.evidence.tests.passed == cases
    assert reads.opened["results.xml"] == 1
    assert reads.bytes["results.xml"] == path.stat().st_size


def test_a_directory_walk_reads_each_report_once_and_skips_the_rest_after_one_read(
    tmp_path: Path, reads: Reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for index in range(3):
        junit(tmp_path / "out" / f"TEST-{index}.xml", 2)
    (tmp_path / "out" / "notes.txt").write_text("not a report\n", encoding="utf-8")
    reports = read_reports(["out"])
    assert [Path(r.path).name for r in reports] == ["TEST-0.xml", "TEST-1.xml", "TEST-2.xml"]
    for name in ("TEST-0.xml", "TEST-1.xml", "TEST-2.xml", "notes.txt"):
        assert reads.opened[name] == 1, name
        assert reads.bytes[name] == (tmp_path / "out" / name).stat().st_size, name


def sarif_two_runs(path: Path) -> Path:
    """Two runs whose results name their files by artifact index, artifacts after the results: read in
    more than one pass, with streams open side by side."""
    run = {
        "results": [
            {
                "ruleId": "r",
                "level": "error",
                "message": {"text": "m"},
                "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}, "region": {"startLine": 3}}}],
            }
        ],
        "tool": {"driver": {"name": "scanner", "rules": [{"id": "r"}]}},
        "artifacts": [{"location": {"uri": "src/app.py"}}],
    }
    path.write_text(json.dumps({"version": "2.1.0", "runs": [run, run]}), encoding="utf-8")
    return path


def test_a_report_read_in_several_passes_is_still_opened_once_and_hashed_once(tmp_path: Path, reads: Reads) -> None:
    path = sarif_two_runs(tmp_path / "scan.sarif")
    report = read_report(path)
    assert report.format == "sarif" and len(report.evidence.findings or ()) == 2
    assert report.sha256 == sha256(path)
    assert reads.opened["scan.sarif"] == 1
    assert reads.bytes["scan.sarif"] >= path.stat().st_size  # passes read again; the hash takes each byte once


def test_a_file_the_parser_never_reads_through_us_is_still_hashed_whole(tmp_path: Path) -> None:
    """coverage.py's data file is read by SQLite: the sha256 reads what no stream did."""
    path = tmp_path / ".coverage"
    connection = sqlite3.connect(path)
    connection.execute("create table t (x)")
    connection.executemany("insert into t values (?)", [("x" * 1000,)] * 3000)  # ~3 MB: several pieces
    connection.commit()
    connection.close()
    assert path.stat().st_size > CHUNK_SIZE
    fd = os.open(path, os.O_RDONLY)
    source = Source(path, fd, os.fstat(fd))
    try:
        assert source.sha256() == sha256(path)
    finally:
        source.close()


def test_streams_over_one_source_keep_their_own_positions_and_the_hash_takes_each_byte_once(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(range(256)) * (3 * CHUNK_SIZE // 256 + 7))
    fd = os.open(path, os.O_RDONLY)
    source = Source(path, fd, os.fstat(fd))
    try:
        first, second = _stream(source), _stream(source)
        assert first.read(10) == path.read_bytes()[:10]
        second.seek(CHUNK_SIZE + 5)  # past the first piece and the hashed part: not hashed from here
        assert second.read(100) == path.read_bytes()[CHUNK_SIZE + 5 : CHUNK_SIZE + 105]
        assert first.read() == path.read_bytes()[10:]
        assert second.read(3) == path.read_bytes()[CHUNK_SIZE + 105 : CHUNK_SIZE + 108]
        assert source.sha256() == sha256(path)
    finally:
        source.close()


def _stream(source: Source) -> BinaryIO:
    """A stream over `source`, as `open_report` hands one to a parser while `read_report` runs."""
    from gatekeeper.parsers import _READING

    token = _READING.set(source)
    try:
        return open_report(source.path)
    finally:
        _READING.reset(token)


def test_outside_read_report_a_parser_opens_a_plain_file(tmp_path: Path) -> None:
    path = junit(tmp_path / "a.xml", 1)
    with open_report(path) as stream:
        assert stream.read() == path.read_bytes()


def test_a_file_and_its_hard_link_are_one_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    junit(tmp_path / "a.xml", 1)
    os.link(tmp_path / "a.xml", tmp_path / "b.xml")
    assert [Path(r.path).name for r in read_reports(["a.xml", "b.xml"])] == ["a.xml"]


@pytest.mark.parametrize(
    "head",
    [
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite',
        "<?xml version='1.0'?><testsuites",
        '<?xml version="1.0" encoding="utf-8" standalone="yes" ?>\r\n<testcase',
        "\ufeff<testsuite",
        "  \n<testsuite",
    ],
)
@pytest.mark.parametrize("rest", [' name="s"/>', ' name="s', " name=s>"])
def test_detection_s_shortcut_for_the_usual_junit_start_agrees_with_expat(tmp_path: Path, head: str, rest: str) -> None:
    """What expat says at the root (JUnit, or the one-line refusal), reading the report says too."""
    from gatekeeper.parsers import detect

    path = tmp_path / "r.xml"
    path.write_text(head + rest, encoding="utf-8")
    data = path.read_bytes()
    assert detect._PLAIN_JUNIT_START.match(data.removeprefix(b"\xef\xbb\xbf"))
    try:
        by_expat = detect._detect_xml(path, data)
    except InputError as refused:
        with pytest.raises(InputError) as raised:
            read_report(path)
        assert str(raised.value) == str(refused)
    else:
        assert by_expat == "junit" == read_report(path).format


@pytest.mark.parametrize(
    "head",
    [
        "<!-- a comment --><testsuite>",
        '<!DOCTYPE testsuite SYSTEM "x.dtd"><testsuite>',
        '<?xml version="1.0" encoding="ISO-8859-1"?><testsuite>',
        ' <?xml version="1.0"?><testsuite>',
        '<?xml version="1.1"?><testsuite>',
        "<testsuitex>",
        "<testsuite:x>",
        "<ns:testsuite>",
    ],
)
def test_any_other_start_is_left_to_expat(head: str) -> None:
    from gatekeeper.parsers import detect

    assert detect._PLAIN_JUNIT_START.match(head.encode()) is None
