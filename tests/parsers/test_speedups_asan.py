"""The C extensions under AddressSanitizer: no read or write outside their buffers, on every test of theirs.

C that reads report bytes must never step past them, whatever the bytes.  Each extension's tests (the
comparison tests, which feed it generated and mutated documents, and its parser's tests) run again in
a child process with the extension built with `-fsanitize=address`, loaded in place of the normal one,
and Python's allocator switched to malloc so that every object's bounds are checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: Each extension: its tests, and the check that its parser took the sanitized build.
EXTENSIONS = {
    "_junit_speedups": (
        ("test_junit_speedups.py", "test_junit_properties.py", "test_junit.py"),
        "from gatekeeper.parsers import junit; assert junit.Scanner is module.Scanner",
    ),
    "_json_speedups": (
        ("test_json.py", "test_sarif.py", "test_coveragepy.py"),
        "from gatekeeper.parsers import _json; assert _json._scan is module.scan",
    ),
    "_lcov_speedups": (
        ("test_lcov_fast.py", "test_lcov.py"),
        "from gatekeeper.parsers import lcov; assert lcov._body is module.body",
    ),
}

CHILD = """
import importlib.util, sys
import pytest
spec = importlib.util.spec_from_file_location(sys.argv[1], sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.modules[spec.name] = module
exec(sys.argv[3])
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", *sys.argv[4:]]))
"""


@pytest.mark.parametrize("name", EXTENSIONS)
def test_the_extension_stays_inside_its_buffers(tmp_path: Path, name: str) -> None:
    compiler = shutil.which("gcc")
    if compiler is None:
        pytest.skip("gcc is not installed: it builds the extension with AddressSanitizer")
    runtime = subprocess.run([compiler, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(runtime):
        pytest.skip("gcc has no AddressSanitizer runtime (libasan)")
    tests, check = EXTENSIONS[name]
    source = HERE.parents[1] / "gatekeeper" / "parsers" / f"{name}.c"
    built = tmp_path / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = sysconfig.get_paths()["include"]
    flags = ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer", "-shared", "-fPIC"]
    subprocess.run([compiler, *flags, f"-I{include}", str(source), "-o", str(built)], check=True)
    environment = os.environ | {
        "LD_PRELOAD": runtime,
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "PYTHONMALLOC": "malloc",
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, f"gatekeeper.parsers.{name}", str(built), check, *(str(HERE / t) for t in tests)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=HERE.parents[1],
        timeout=600,
    )
    report = child.stdout[-3000:] + child.stderr[-3000:]
    assert "AddressSanitizer" not in report, report
    assert child.returncode == 0, report
    assert " passed" in child.stdout, report
