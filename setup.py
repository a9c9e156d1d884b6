"""The optional C speedups, the one part of the build pyproject.toml does not declare: setuptools still calls
`[tool.setuptools.ext-modules]` experimental and warns about it at every build (tests/test_packaging.py).

Both are optional, so an install with no C compiler still works, on the slower pure-Python paths.
"""

from __future__ import annotations

from setuptools import Extension, setup

setup(
    ext_modules=[
        # The JUnit parser's hot path (gatekeeper/parsers/_junit_speedups.c).
        Extension("gatekeeper.parsers._junit_speedups", ["gatekeeper/parsers/_junit_speedups.c"], optional=True),
        # The JSON depth guard's loop (gatekeeper/parsers/_json_speedups.c).
        Extension("gatekeeper.parsers._json_speedups", ["gatekeeper/parsers/_json_speedups.c"], optional=True),
    ]
)
