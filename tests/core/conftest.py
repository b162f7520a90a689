"""Fixtures for every core test folder: live servers started in the test process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import ThreadServer, free_port, wait_ready


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
