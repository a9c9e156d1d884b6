"""Reading a JUnit report imports only what that path needs.

The parse path's import is part of every run (and of the benchmark's "within 1.3x of a bare pyexpat
loop"), so a module-level import of something only another path uses (globbing, hashing, JSON, the
CLI, the store) would quietly make every run slower.  Checked in a fresh interpreter, by module name.
"""

from __future__ import annotations

import subprocess
import sys

#: gatekeeper's own modules on the path `parser_for("junit")(path)` + `metrics.compute`.
JUNIT_PATH = {
    "gatekeeper",
    "gatekeeper.errors",
    "gatekeeper.status",
    "gatekeeper.model",
    "gatekeeper.metrics",
    "gatekeeper.parsers",
    "gatekeeper.parsers._xml",
    "gatekeeper.parsers.junit",
    "gatekeeper.parsers._reruns",  # re-runs in JUnit files (issue 18)
    "gatekeeper.parsers._junit_speedups",  # the C hot path (tests/parsers/test_junit_speedups.py: always built here)
}
#: Standard-library and third-party modules that other paths use and this one must not import.
NOT_NEEDED = {"glob", "hashlib", "json", "xml.etree.ElementTree", "click", "sqlalchemy", "ijson", "gzip", "zlib"}

PROBE = """
import sys
before = set(sys.modules)
from gatekeeper.metrics import compute
from gatekeeper.parsers import parser_for
parser_for("junit")
imported = sorted(set(sys.modules) - before)
print(" ".join(imported))
"""


def imported_by_the_junit_path() -> set[str]:
    completed = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return set(completed.stdout.split())


def test_reading_junit_imports_only_its_own_modules() -> None:
    imported = imported_by_the_junit_path()
    assert {name for name in imported if name.startswith("gatekeeper")} == JUNIT_PATH
    assert imported & NOT_NEEDED == set()
