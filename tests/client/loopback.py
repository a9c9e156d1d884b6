"""A small, real HTTP store on 127.0.0.1 that tests steer: scripted failures, then the store's contract.

It speaks the store server's upload contract (PUT /api/v1/verdicts/{id}: 201 new, 200 same body again,
409 other body, 401 without the expected token) and counts every PUT per id, so tests can tell
"delivered once" from "stored once".  Scripted answers ("close" drops the connection unanswered) come
first, then `default` ("store", or a status code returned forever).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Action = Any  # "store" | "close" | int | (int, {header: value})


@dataclass
class LoopbackStore:
    token: str | None = None
    script: list[Action] = field(default_factory=list)
    default: Action = "store"
    delay: float = 0.0
    bodies: dict[str, bytes] = field(default_factory=dict)
    puts: Counter[str] = field(default_factory=Counter)
    order: list[str] = field(default_factory=list)  # ids in the order they were first stored
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_action(self) -> Action:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def stored(self) -> dict[str, Any]:
        with self.lock:
            return {key: json.loads(body) for key, body in self.bodies.items()}


def _handler(store: LoopbackStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _reply(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply(200, {"status": "ready"})

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            prefix = "/api/v1/verdicts/"
            if not self.path.startswith(prefix):
                self._reply(404, {"detail": "not found"})
                return
            verdict_id = self.path[len(prefix) :]
            with store.lock:
                store.puts[verdict_id] += 1
            if store.delay:
                threading.Event().wait(store.delay)
            action = store.next_action()
            if action == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(action, int):
                self._reply(action, {"detail": f"scripted {action}"})
                return
            if isinstance(action, tuple):
                self._reply(action[0], {"detail": f"scripted {action[0]}"}, action[1])
                return
            if store.token and self.headers.get("Authorization") != f"Bearer {store.token}":
                self._reply(401, {"detail": "missing or wrong token"})
                return
            try:
                json.loads(body)
            except ValueError:
                self._reply(422, {"detail": "not JSON"})
                return
            with store.lock:
                known = store.bodies.get(verdict_id)
                if known is None:
                    store.bodies[verdict_id] = body
                    store.order.append(verdict_id)
                    status = 201
                else:
                    status = 200 if known == body else 409
            self._reply(status, {"id": verdict_id} if status < 300 else {"detail": "a different verdict has this id"})

    return Handler


@contextmanager
def serving(store: LoopbackStore) -> Iterator[LoopbackStore]:
    with serving_handler(_handler(store)) as url:
        store.url = url
        yield store


@contextmanager
def serving_handler(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` served on a free loopback port, in a thread, until the block ends: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    """A port nothing listens on (a server that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def verdict(number: int = 0, **extra: Any) -> dict[str, Any]:
    """A minimal verdict-shaped document (the loopback store checks only JSON and id)."""
    return {
        "schema": "gatekeeper.verdict/v1",
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "status": "pass",
        "created_at": "2025-01-01T00:00:00.000000Z",
        "context": {"project": "group/app", "branch": "main"},
        "metrics": {"tests.total": number},
        **extra,
    }
