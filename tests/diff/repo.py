"""Real git repositories for the change tests: built in tmp_path, with fixed authors, dates and config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

_ISOLATED = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.invalid",
    "GIT_COMMITTER_NAME": "Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "LC_ALL": "C",
}


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any CI's variables, and git isolated from the user's config."""
    ci = ("GITHUB_", "GITLAB", "CI_", "JENKINS", "CHANGE_", "GATEKEEPER_STORE", "GIT_DIR", "GIT_WORK_TREE")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ci)}
    env.update(_ISOLATED)
    env.update(extra or {})
    return env


class Repo:
    """A work tree driven by the real git command line."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def init(cls, root: Path, branch: str = "main") -> Repo:
        root.mkdir(parents=True, exist_ok=True)
        repo = cls(root)
        repo.git("init", "-q", "-b", branch)
        return repo

    def git(self, *arguments: str) -> str:
        completed = subprocess.run(
            ["git", *arguments], cwd=self.root, env=environment(), capture_output=True, check=False, timeout=60
        )
        assert completed.returncode == 0, f"git {' '.join(arguments)}: {completed.stderr.decode()}"
        return completed.stdout.decode("utf-8", "replace").strip()

    def write(self, path: str, text: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8", newline="")

    def commit(self, message: str, **files: str | bytes) -> str:
        """Write `files` (keyword names with `__` for `/`), stage everything, commit; the new commit's id."""
        for name, text in files.items():
            self.write(name.replace("__", "/"), text)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def lines(count: int, prefix: str = "line") -> str:
    """`count` numbered lines, `line1` … `lineN`, each ending in a newline."""
    return "".join(f"{prefix}{n}\n" for n in range(1, count + 1))
