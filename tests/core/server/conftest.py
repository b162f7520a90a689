"""Live Lockgate servers for the server tests: real uvicorn on a free port, in a thread or a process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import free_port, wait_ready


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
