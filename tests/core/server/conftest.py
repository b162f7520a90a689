"""Live Lockgate servers for the server tests: real uvicorn on a free port, in a thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
