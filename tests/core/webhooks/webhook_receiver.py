"""A real HTTP receiver for webhook tests: a threaded server on 127.0.0.1 that records every
request and answers as the test scripts it (status codes in turn, a delay, a redirect)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

__all__ = ["Delivery", "Receiver", "receiver"]


@dataclass(frozen=True)
class Delivery:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.time()


@dataclass
class Receiver:
    """What the receiver has seen and how it answers next."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    #: Statuses to answer in turn; the last one repeats.
    statuses: list[int] = field(default_factory=lambda: [200])
    #: Seconds to wait before answering, in turn; the last one repeats.
    delays: list[float] = field(default_factory=lambda: [0.0])
    redirect_to: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    served: int = 0

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Delivery]:
        """The first ``count`` deliveries, waiting for them; fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries[:count])
            time.sleep(0.02)
        pytest.fail(f"receiver got {len(self.deliveries)} deliveries, expected {count} within {timeout} s")

    def _next(self) -> tuple[int, float]:
        with self.lock:
            n = self.served
            self.served += 1
        return self.statuses[min(n, len(self.statuses) - 1)], self.delays[min(n, len(self.delays) - 1)]


def _handler(state: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, delay = state._next()
            if delay:
                time.sleep(delay)
            with state.lock:
                state.deliveries.append(Delivery(self.path, dict(self.headers.items()), body, time.time()))
            if state.redirect_to:
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            answer = f"answer {status}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A receiver listening on a free 127.0.0.1 port for the ``with`` block."""
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
