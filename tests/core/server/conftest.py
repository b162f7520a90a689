"""Live Lockgate servers for the server tests: real uvicorn on a free port, in a thread or a process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, *, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"server process exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(url + "/health", timeout=1.0).status_code == 200:
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
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def start_server() -> Iterator[Callable[..., str]]:
    """Start in-thread servers with ``create_app(**kwargs)``; returns their base URL."""
    from lockgate.server.app import create_app

    servers: list[ThreadServer] = []

    def start(**kwargs: Any) -> str:
        server = ThreadServer(create_app(**kwargs)).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def artifacts_dir(tmp_path: Path) -> Path:
    path = tmp_path / "server-artifacts"
    path.mkdir()
    return path


@pytest.fixture
def server_url(start_server: Callable[..., str], sqlite_uri: str, artifacts_dir: Path) -> str:
    """A live server on a fresh SQLite file, proxying artifacts into ``artifacts_dir``."""
    return start_server(backend_store_uri=sqlite_uri, artifacts_destination=str(artifacts_dir))


@pytest.fixture
def start_process_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start ``lockgate server`` as real OS processes (``python -m lockgate.cli.server``)."""
    procs: list[subprocess.Popen[Any]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> str:
        port = free_port()
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockgate.cli.server", "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=full_env,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        # A cold process (imports, migrations) takes 20-35 s on a loaded CI box; still fails loudly.
        wait_ready(url, proc=proc, timeout=120)
        return url

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
