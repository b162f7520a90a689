"""Live Lockgate servers for the server tests: real uvicorn on a free port, in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import pytest


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
def mlflow_env(monkeypatch: pytest.MonkeyPatch, server_url: str) -> Iterator[str]:
    """The stock mlflow client pointed at ``server_url``: no retries, no telemetry, and any run
    a test leaves open ended afterwards. Use with ``pytestmark = pytest.mark.usefixtures("mlflow_env")``."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server_url)
    mlflow.set_tracking_uri(server_url)
    yield server_url
    while mlflow.active_run():
        mlflow.end_run()
