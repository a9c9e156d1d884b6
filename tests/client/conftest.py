from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.loopback import LoopbackStore, serving


@pytest.fixture
def store() -> Iterator[LoopbackStore]:
    with serving(LoopbackStore()) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_proxy_or_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's own environment variables must come from the test, never from the machine."""
    for name in ("GATEKEEPER_URL", "GATEKEEPER_TOKEN", "GATEKEEPER_SPOOL", "GATEKEEPER_PUSHGATEWAY"):
        monkeypatch.delenv(name, raising=False)
