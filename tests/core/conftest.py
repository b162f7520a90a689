"""Fixtures for every core test folder: live servers started in the test process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from live_server import ThreadServer


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
