"""Webhook test fixtures: a real HTTP receiver on 127.0.0.1 that records what it gets and answers as told, and the
real worker and private Redis of the scoring tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.processes import free_port
from tests.scoring.conftest import private_broker, workers  # noqa: F401  (fixtures)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """``script``: what to answer to each request in turn, (status, delay seconds); after it, ``default``."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, float]] = field(default_factory=list)
    default: tuple[int, float] = (200, 0.0)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def answer(self) -> tuple[int, float]:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.requests)} request(s), expected {count}")


def _handler(receiver_ref: list):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            receiver: Receiver = receiver_ref[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, delay = receiver.answer()
            receiver.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
            )
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up (its read timeout)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver_factory():
    servers: list[ThreadingHTTPServer] = []

    def make() -> Receiver:
        ref: list = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
        server.daemon_threads = True
        receiver = Receiver(server=server)
        ref.append(receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return receiver

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(receiver_factory) -> Receiver:
    return receiver_factory()


@pytest.fixture
def closed_url() -> str:
    """An address where nothing listens: the connection is refused."""
    return f"http://127.0.0.1:{free_port()}/hook"
