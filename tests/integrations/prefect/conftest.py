"""Prefect tests run against a real, temporary Prefect server (``prefect_test_harness``).

The server takes several seconds to start, so one serves the whole session; every test
still gets its own ``LOCKGATE_HOME`` (and so its own SQLite tracking database).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Telemetry heartbeats race the harness's SQLite database and print "database is locked".
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A temporary Prefect API server with its own database, for the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(autouse=True)
def _prefect(prefect_server: None) -> Iterator[None]:
    yield
    from lockgate_prefect import tracking

    tracking._attempt_runs.clear()
