"""Exit statuses: the contract CI scripts branch on (see README, "Exit codes")."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    PASS = 0
    """Every blocking gate held (a warning also exits 0 unless --warn-exit-code says otherwise)."""
    GATE_FAILED = 1
    """A blocking gate failed."""
    UNDECIDED = 2
    """The gate could not decide: bad or missing input, bad policy, usage error."""
    INTERNAL_ERROR = 3
    """A bug in gatekeeper; --debug shows the traceback."""
    UPLOAD_FAILED = 4
    """The verdict could not be delivered and --require-upload was given."""
    INTERRUPTED = 130
    """Stopped by Ctrl-C / SIGINT."""
