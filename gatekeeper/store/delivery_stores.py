"""The delivery store a command records in: the embedded store, or a store server with `--upload URL`.

Apart from `gatekeeper.store.delivery` so the server, which imports that module's documents, never
imports the embedded store or the HTTP client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from gatekeeper.store.delivery import DeliveryStore


@contextmanager
def open_delivery_store(store: str | None, upload: str | None) -> Iterator[tuple[DeliveryStore, str]]:
    """The store events are recorded in (the server when `upload` is given), and where it is, for messages."""
    with ExitStack() as stack:
        if upload:
            from gatekeeper.store.remote_delivery import RemoteDeliveryStore

            remote = RemoteDeliveryStore(upload)
            stack.callback(remote.close)
            yield remote, remote.base
            return
        from gatekeeper.store import default_store_path
        from gatekeeper.store.sqlite import SqliteStore

        path = Path(store) if store else default_store_path()
        yield stack.enter_context(SqliteStore(path)), str(path)
