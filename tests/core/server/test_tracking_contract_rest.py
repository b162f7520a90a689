"""The tracking contract suite, run again through a live server: RestStore over HTTP must
behave exactly like the in-process SqlStore (same results, same errors, same messages)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

_SUITE = Path(__file__).parents[1] / "store" / "test_tracking_contract.py"
_spec = importlib.util.spec_from_file_location("lockgate_tracking_contract_suite", _SUITE)
assert _spec is not None and _spec.loader is not None
_suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_suite)

# Re-export the suite's tests and fixtures so pytest collects them here, with store_uri below.
globals().update({name: obj for name, obj in vars(_suite).items() if name.startswith("test_")})
client = _suite.client
run_id = _suite.run_id


@pytest.fixture(params=["rest-sqlite", "rest-postgres"])
def store_uri(request: pytest.FixtureRequest, start_server: Callable[..., str]) -> str:
    """The URL of a live server on a fresh SQLite or PostgreSQL database."""
    backend = request.getfixturevalue("sqlite_uri" if request.param == "rest-sqlite" else "postgres_uri")
    return start_server(backend_store_uri=backend)
