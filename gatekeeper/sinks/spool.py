"""The local spool: verdicts that could not be delivered yet, one file each, delivered later in order.

The spool's job is "never lose, keep order"; exactly-once storage is the server's (PUT by id is
idempotent), so delivering a spooled verdict twice is harmless, while losing one is not.

- Files are written atomically (temporary file, fsync, rename, fsync of the directory): a crash leaves
  either the whole verdict or nothing, never half a file that a later flush would choke on.
- Names sort in spooling order: `<nanoseconds since epoch, 20 digits>-<id>.json`.
- A flush locks each file with `fcntl.flock` before delivering it and removes it only after a 2xx, so two
  flushes at once deliver each verdict once; a lock dies with the process that held it, so a crashed
  flush never leaves a stale lock behind.
- A verdict the server refuses for good (any 4xx but 408/429, or an id no server takes) moves to
  `rejected/` with a `.reason.json` beside it: kept for a human, and no longer blocking the ones behind it.
- A spool that cannot be written (read-only, full, a file in the way) does not stop a flush: what cannot
  be removed or set aside is reported in `FlushReport.problems` and stays for the next flush (a second
  PUT of a delivered verdict is harmless, a refused one is refused again).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper.errors import GatekeeperError, UsageError
from gatekeeper.sinks.upload import DeliveryResult, Outcome, body_of, deliver, verdict_id_of
from gatekeeper.status import ExitStatus
from gatekeeper.store import make_workspace_directory

SPOOL_ENV = "GATEKEEPER_SPOOL"
REJECTED = "rejected"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")

Deliver = Callable[[dict[str, Any], float], DeliveryResult]
"""deliver(verdict, seconds_left) -> result; what flush calls for each file."""


class SpoolError(GatekeeperError):
    """The spool directory cannot be written: the verdict would be lost, so say it loudly."""

    status = ExitStatus.UPLOAD_FAILED


def default_spool_path() -> Path:
    """`$GATEKEEPER_SPOOL`, else `.gatekeeper/spool` in the current directory (the CI workspace, often cached)."""
    return Path(os.environ.get(SPOOL_ENV) or Path(".gatekeeper") / "spool")


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    path: Path
    verdict_id: str
    spooled_ns: int


@dataclass(slots=True)
class FlushReport:
    results: list[DeliveryResult] = field(default_factory=list)
    remaining: int = 0  # files still in the spool afterwards (undelivered or locked by another flush)
    stopped: str | None = None  # why the flush stopped early (the server is unreachable...)
    problems: dict[str, str] = field(default_factory=dict)  # verdict id -> why its file stayed in the spool

    @property
    def failed(self) -> list[DeliveryResult]:
        return [r for r in self.results if not r.delivered]


class Spool:
    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_spool_path()

    @property
    def rejected_directory(self) -> Path:
        return self.directory / REJECTED

    # -- writing ---------------------------------------------------------------------------------------

    def add(self, verdict: dict[str, Any]) -> Path:
        """Keep a verdict for later; a verdict already waiting under the same id is not added twice."""
        safe_id = safe_name(verdict_id_of(verdict))
        for entry in self.entries():
            if entry.verdict_id == safe_id:
                return entry.path
        name = f"{time.time_ns():020d}-{safe_id}.json"
        return self._write_atomically(self.directory, name, body_of(verdict))

    def reject(self, result: DeliveryResult, verdict: dict[str, Any] | None, entry_path: Path | None = None) -> Path:
        """Keep a refused verdict in `rejected/`, with the reason beside it: moved there from the spool
        (`entry_path`), or written there (a verdict that was never spooled)."""
        target_dir = self.rejected_directory
        moving = entry_path if entry_path is not None and entry_path.parent == self.directory else None
        name = moving.name if moving is not None else f"{time.time_ns():020d}-{safe_name(result.verdict_id)}.json"
        reason = {
            "id": result.verdict_id,
            "outcome": result.outcome.value,
            "status_code": result.status_code,
            "detail": result.detail,
            "rejected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._write_atomically(
            target_dir, name.removesuffix(".json") + ".reason.json", json.dumps(reason, indent=2).encode() + b"\n"
        )
        if moving is not None and moving.exists():
            try:
                os.replace(moving, target_dir / name)
            except OSError as error:
                raise SpoolError(
                    f"spool {self.directory}: cannot set {name} aside: {error.strerror or error}"
                ) from None
            _fsync_directory(self.directory)
            return target_dir / name
        assert verdict is not None
        return self._write_atomically(target_dir, name, body_of(verdict))

    def _write_atomically(self, directory: Path, name: str, data: bytes) -> Path:
        try:
            make_workspace_directory(directory)
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=directory)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, directory / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
            _fsync_directory(directory)
        except OSError as error:
            raise SpoolError(f"spool {directory}: cannot keep the verdict: {error.strerror or error}") from None
        return directory / name

    # -- reading ---------------------------------------------------------------------------------------

    def entries(self) -> list[SpoolEntry]:
        """Waiting verdicts, oldest first."""
        try:
            names = sorted(p.name for p in self.directory.iterdir() if p.is_file())
        except FileNotFoundError:
            return []
        except OSError as error:
            raise SpoolError(f"spool {self.directory}: cannot read it: {error.strerror or error}") from None
        found = []
        for name in names:
            stem, dot, suffix = name.partition(".")
            head, dash, rest = stem.partition("-")
            if suffix != "json" or not dot or not dash or not head.isdigit():
                continue  # temporary files and anything not ours
            found.append(SpoolEntry(self.directory / name, rest, int(head)))
        return found

    def rejected(self) -> list[tuple[Path, dict[str, Any]]]:
        """Refused verdicts and why, oldest first."""
        folder = self.rejected_directory
        if not folder.is_dir():
            return []
        kept = []
        for path in sorted(folder.glob("*.json")):
            if path.name.endswith(".reason.json") or path.name.startswith("."):
                continue
            reason_path = path.with_name(path.name.removesuffix(".json") + ".reason.json")
            try:
                reason = json.loads(reason_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                reason = {}
            kept.append((path, reason))
        return kept

    # -- delivering ------------------------------------------------------------------------------------

    def flush(self, deliver_one: Deliver, *, timeout: float) -> FlushReport:
        """Deliver waiting verdicts oldest first; stop at the first one that cannot be delivered now.

        Stopping keeps the order (nothing newer overtakes an older verdict), and once the server is
        unreachable there is no point spending the time budget on the rest.
        """
        report = FlushReport()
        deadline = time.monotonic() + timeout
        for entry in self.entries():
            left = deadline - time.monotonic()
            if left <= 0:
                report.stopped = "time budget spent"
                break
            with _locked(entry.path) as file:
                if file is None:
                    continue  # another flush has it, or already delivered it
                try:
                    verdict = json.loads(file.read().decode("utf-8"))
                    verdict_id_of(verdict)
                except (ValueError, UsageError) as error:
                    result = DeliveryResult(entry.verdict_id, Outcome.REJECTED, None, 0, f"unreadable: {error}")
                    report.results.append(result)
                    self._set_aside(entry.path, None, result, report)
                    continue
                result = deliver_one(verdict, left)
                report.results.append(result)
                if result.delivered:
                    try:
                        _remove(entry.path)
                    except OSError as error:
                        report.problems[result.verdict_id] = (
                            f"spool {self.directory}: cannot remove {entry.path.name} ({error.strerror or error}): "
                            "the next flush sends it again, which is harmless"
                        )
                    continue
                if result.final:
                    self._set_aside(entry.path, verdict, result, report)
                    continue
            report.stopped = result.detail
            break
        report.remaining = len(self.entries())
        return report

    def _set_aside(
        self, path: Path, verdict: dict[str, Any] | None, result: DeliveryResult, report: FlushReport
    ) -> None:
        """Move a refused verdict to `rejected/`; if the spool cannot be written, say so and go on."""
        try:
            self.reject(result, verdict, path)
        except SpoolError as error:
            report.problems[result.verdict_id] = f"{error}: it stays in the spool and is refused again next time"


def flush(
    url: str,
    token: str | None,
    *,
    directory: str | Path | None = None,
    timeout: float = 60.0,
    attempts: int = 6,
) -> FlushReport:
    """Deliver the spool at `directory` to the store server at `url`, oldest first."""
    from gatekeeper.store.http import new_session

    session = new_session(url)
    try:
        return Spool(directory).flush(
            lambda verdict, left: deliver(verdict, url, token, attempts=attempts, timeout=left, session=session),
            timeout=timeout,
        )
    finally:
        session.close()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Any]:
    """The open file, exclusively locked and still in the spool; None if locked elsewhere or gone."""
    import fcntl

    try:
        file = open(path, "rb")  # noqa: SIM115  # closed below, after the lock's work is done
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        # Locked, but the holder before us may have delivered and unlinked it between our open and lock.
        try:
            same = os.path.samestat(os.fstat(file.fileno()), os.stat(path))
        except FileNotFoundError:
            same = False
        yield file if same else None
    finally:
        file.close()


def _remove(path: Path) -> None:
    """Unlink a delivered verdict; an OSError other than "already gone" is the caller's to report."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename or unlink durable (a power cut must not bring back a delivered verdict or lose one)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def safe_name(verdict_id: str) -> str:
    return _SAFE.sub("_", verdict_id)[:100] or "verdict"
