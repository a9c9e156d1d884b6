"""A prototype of cheaper per-result work for gatekeeper/parsers/sarif.py, with gatekeeper's own code.

Where a SARIF parse goes (198 MB, 100,000 results, CPU seconds in one process; `json.load` 2.6):
pass one over the whole file for `runs.item.tool` 1.5, pass two building every result 1.7, and
gatekeeper's Python per result 1.2 (12 µs each).  This prototype trims only the last part, by
memoising pure functions that see the same few values again and again, and pausing the cyclic GC:

1. `uri_to_path` per distinct URI (4,000 files here, 100,000 results);
2. `severity_from_security_severity` per distinct value (the rule's, re-read for every result);
3. no cyclic GC while results stream (results and findings are acyclic).

The two passes stay: they are 1.2x `json.load` on their own; see bench/README.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fast_common import no_cyclic_gc, patched

from gatekeeper.model import Evidence
from gatekeeper.parsers import _security, sarif


def _memoised(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`function` cached for hashable arguments (strings, numbers, None); others pass through."""
    cached = lru_cache(maxsize=65536)(function)

    def call(value: Any) -> Any:
        try:
            return cached(value)
        except TypeError:  # unhashable (a list or dict where a scalar belongs)
            return function(value)

    return call


def parse(path: Path) -> Evidence:
    """`gatekeeper.parsers.sarif.parse` with the changes above (fresh caches per call)."""
    replacements = {
        "uri_to_path": _memoised(_security.uri_to_path),
        "severity_from_security_severity": _memoised(_security.severity_from_security_severity),
    }
    with patched(sarif, **replacements), no_cyclic_gc():
        return sarif.parse(path)
