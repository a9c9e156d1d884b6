"""The real tools that run the CI snippets, where `.ci/run` installs them, and a clean CI-like environment.

Each fixture skips, saying what is missing and how to get it, only where its tool is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO

if TYPE_CHECKING:
    from tests.client.realserver import ServeProcess

SNIPPETS = REPO / "ci-snippets"
EXAMPLES = REPO / "examples"
NODE_BIN = REPO / ".ci" / "node" / "node_modules" / ".bin"
CHECK_JSONSCHEMA = REPO / ".ci" / "venv-check-jsonschema" / "bin" / "check-jsonschema"
VENV_BIN = Path(sys.executable).parent  # where this test run's gatekeeper is installed
INSTALL_HINT = "run the CI-snippets block of .ci/run to install it"

#: the four reports of each bundled example the snippets are run on
REPORTS = ("junit.xml", "coverage.xml", "bandit.json", "semgrep.json")

#: a policy whose only gate warns on the bundled passing example (31 tests < 1000)
WARN_POLICY = """policy: warn-only
gates:
  - id: many-tests
    criterion: the suite is large enough
    metric: tests.total
    min: 1000
    severity: warn
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """An installed tool and how to run it."""

    path: Path

    def run(
        self, *args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.path), *args],
            cwd=cwd,
            env=dict(env) if env is not None else ci_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def ci_environment(**extra: str) -> dict[str, str]:
    """This machine's environment without any CI's variables (the suite may itself run in CI) or gatekeeper's
    own settings, with this run's gatekeeper first on PATH."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "GITLAB_", "CI_", "JENKINS_", "RUNNER_", "GATEKEEPER_"))
        and key not in {"CI", "BUILD_URL", "JOB_NAME", "BUILD_NUMBER", "GIT_COMMIT", "GIT_BRANCH"}
    }
    environment["PATH"] = f"{VENV_BIN}{os.pathsep}{environment.get('PATH', '')}"
    environment.update(extra)
    return environment


def _tool(path: Path, what: str) -> Tool:
    if not path.exists():
        pytest.skip(f"{what} not found at {path.relative_to(REPO)}: {INSTALL_HINT}")
    return Tool(path=path)


@pytest.fixture(scope="session")
def gitlab_ci_local() -> Tool:
    if shutil.which("rsync") is None:
        pytest.skip(f"rsync (which gitlab-ci-local needs) is not installed: {INSTALL_HINT}")
    return _tool(NODE_BIN / "gitlab-ci-local", "gitlab-ci-local@4.73.0")


@pytest.fixture(scope="session")
def groovy_lint() -> Tool:
    if shutil.which("java") is None:
        pytest.skip("npm-groovy-lint needs Java (17+), which is not installed")
    return _tool(NODE_BIN / "npm-groovy-lint", "npm-groovy-lint@16.2.0")


@pytest.fixture(scope="session")
def check_jsonschema() -> Tool:
    return _tool(CHECK_JSONSCHEMA, "check-jsonschema (in its own venv)")


@pytest.fixture(scope="session")
def bash() -> Path:
    found = shutil.which("bash")
    if found is None:
        pytest.skip("bash is not installed")
    return Path(found)


def example_reports(project: str) -> list[str]:
    return [str(EXAMPLES / project / "reports" / name) for name in REPORTS]


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadServer:
    """A running `gatekeeper serve` on its own SQLite file, and an upload token for it, as a CI project has."""

    server: ServeProcess
    token: str

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def upload_server(tmp_path: Path) -> Iterator[UploadServer]:
    """The store server the snippets upload to in a test, stopped afterwards (skips where it cannot run)."""
    from tests.client.realserver import ServeProcess, require_server

    require_server()
    (tmp_path / "server").mkdir()
    server = ServeProcess(directory=tmp_path / "server")
    token = server.token("--scope", "upload")
    server.start()
    try:
        yield UploadServer(server=server, token=token)
    finally:
        server.stop()
