"""One exception root; each error knows the exit status it maps to, and prints as one line."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gatekeeper.status import ExitStatus


def one_line(message: object) -> str:
    """A message as one line for the user, whitespace runs (a library's multi-line message, an indented
    excerpt) as one space; an exception with no message is named by its type."""
    text = " ".join(str(message).split())
    if not text and isinstance(message, BaseException):
        return type(message).__name__
    return text


class GatekeeperError(Exception):
    """Root of every error a user can cause; `cli` prints `str(error)` and exits with `status`."""

    status: ExitStatus = ExitStatus.INTERNAL_ERROR


class UsageError(GatekeeperError):
    status = ExitStatus.UNDECIDED


class InputError(GatekeeperError):
    """A report that is missing, unreadable, unrecognised or malformed."""

    status = ExitStatus.UNDECIDED

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class PolicyError(GatekeeperError):
    """A policy that cannot be used; carries every problem found, each as `file:line:column: problem`."""

    status = ExitStatus.UNDECIDED

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreError(GatekeeperError):
    """A verdict store that cannot be opened, read or written, or a verdict it cannot take."""

    status = ExitStatus.UNDECIDED

    def __init__(self, store: str | Path, problem: str) -> None:
        self.store = str(store)
        self.problem = problem
        super().__init__(f"verdict store {self.store}: {problem}")


class StoreRefused(StoreError):
    """A store server's refusal that asking again cannot change (a 4xx other than 408 and 429: the token,
    its scope, the request itself), so a job waiting on the server stops at once instead of retrying."""


#: Longest path a message names whole; a longer one keeps its ends (`shown_path`).
MAX_SHOWN_PATH = 120


def shown_path(path: str | Path) -> str:
    """A path as an error names it: a huge one (a generated name, a pasted mistake) keeps its two ends, so
    the message stays one readable line."""
    text = str(path)
    if len(text) <= MAX_SHOWN_PATH:
        return text
    return f"{text[: MAX_SHOWN_PATH // 2]}…{text[-(MAX_SHOWN_PATH // 2 - 1) :]}"


def os_reason(error: OSError) -> str:
    """The OS's reason alone ("File name too long"), without the path `str(error)` repeats."""
    return error.strerror or one_line(error)


def path_status(
    path: str | Path, unreadable: Callable[[str, str], GatekeeperError] = InputError
) -> os.stat_result | None:
    """What `stat` says of a path the user gave, None when nothing is there.

    `Path.exists()` and `is_dir()` raise on Python 3.11 for a name over 255 bytes or no permission, and
    call a symlink loop absent; each such path is `unreadable(path, "cannot be read: <reason>")` here
    (an InputError or a StoreError, exit 2), never an internal error or "no such file".
    """
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise unreadable(shown_path(path), f"cannot be read: {os_reason(error)}") from None
    except ValueError:  # a NUL byte in the name
        raise unreadable(shown_path(path), "cannot be read: the name holds a NUL byte") from None
