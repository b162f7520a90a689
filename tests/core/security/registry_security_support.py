"""Live servers for the registry security tests: real uvicorn in a thread, SQLite or PostgreSQL,
with or without auth, and users created through ``lockgate users`` as an operator would."""

from __future__ import annotations

import base64
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

API = "/api/2.0/mlflow"
NATIVE = "/api/v1"
PASSWORD = {"root": "root-secret-1", "editor": "editor-secret-1", "manager": "manager-secret-1"}


def _registry_support() -> Any:
    """tests/core/registry/registry_support.py, loaded by path (test folders are not packages)."""
    name = "registry_support"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "registry" / "registry_support.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """Start servers with ``create_app(**kwargs)`` in this process; returns each base URL."""
    from live_server import ThreadServer as thread_server
    from lockgate.server.app import create_app
    servers: list[Any] = []

    def start(**kwargs: Any) -> str:
        server = thread_server(create_app(**kwargs)).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def run_users_cli(uri: str, *args: str) -> str:
    """``lockgate users <args> --backend-store-uri uri``, failing the test if it fails."""
    from lockgate.cli.users import users_app
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
