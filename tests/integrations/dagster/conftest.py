"""Fixtures for the Dagster tests: an ephemeral Dagster instance and a clean integration state."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg  # the tests-dagster session installs it; a missing import fails loudly
import pytest


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A throwaway Dagster instance (in-memory run and event storage)."""
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture(autouse=True)
def _clean_integration_state() -> Iterator[None]:
    yield
    from lockgate_dagster import connection, resource

    connection._reset_for_tests()
    resource._experiments.clear()
