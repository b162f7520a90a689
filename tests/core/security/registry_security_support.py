"""Live servers for the registry security tests: real uvicorn in a thread, SQLite or PostgreSQL,
with or without auth, and users created through ``lockgate users`` as an operator would."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

API = "/api/2.0/mlflow"
NATIVE = "/api/v1"
PASSWORD = {"root": "root-secret-1", "editor": "editor-secret-1", "manager": "manager-secret-1"}


class _ThreadServer:
    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> _ThreadServer:
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
def live_server() -> Iterator[Callable[..., str]]:
    """Start servers with ``create_app(**kwargs)`` in this process; returns each base URL."""
    from lockgate.server.app import create_app

    servers: list[_ThreadServer] = []

    def start(**kwargs: Any) -> str:
        server = _ThreadServer(create_app(**kwargs)).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def run_users_cli(uri: str, *args: str) -> str:
    """``lockgate users <args> --backend-store-uri uri``, failing the test if it fails."""
    from lockgate.cli_users import users_app
    from typer.testing import CliRunner

    result = CliRunner().invoke(users_app, [*args, "--backend-store-uri", uri])
    assert result.exit_code == 0, result.output
    return result.output


def basic(user: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{PASSWORD[user]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def call(method: str, url: str, *, user: str | None = None, **kwargs: Any) -> httpx.Response:
    """One HTTP request, as ``user`` when given (Basic auth)."""
    headers = basic(user) if user else {}
    return httpx.request(method, url, headers=headers, timeout=30, **kwargs)
