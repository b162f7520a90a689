"""Live Lockgate servers for the core tests: real uvicorn on a free loopback port, in a thread.

One copy for every test folder under tests/core (server, store, registry, security, ui):
``free_port``, ``wait_ready`` and ``ThreadServer``; the ``start_server`` fixture in
tests/core/conftest.py builds on them.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

__all__ = ["ThreadServer", "free_port", "thread_server", "wait_ready"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, *, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Wait until ``url/health`` answers 200; fail the test (with the process output) otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"server process exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(url + "/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail(f"server at {url} was not ready within {timeout} s")


class ThreadServer:
    """A uvicorn server running ``app`` in a background thread of the test process."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def thread_server(app: Any) -> Iterator[str]:
    """Serve ``app`` in a thread for the ``with`` block; yields the base URL."""
    server = ThreadServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()
