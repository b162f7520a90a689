"""Registry fixtures: a real SqlRegistry and a client with the registry mixed in, per backend."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from lockgate.entities import RunStatus
from lockgate.registry.sql import SqlRegistry
from registry_support import MakeRun, RegistryClient


@pytest.fixture
def client(store_uri: str) -> RegistryClient:
    return RegistryClient(store_uri, user="alice")


@pytest.fixture
def registry(client: RegistryClient) -> SqlRegistry:
    return client._registry  # type: ignore[return-value]


@pytest.fixture
def make_run(client: RegistryClient) -> MakeRun:
    """A finished run with the given metrics and tags; returns its run_id."""
    exp_id = client.get_or_create_experiment("registry-tests").experiment_id

    def _make(
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        status: str = "FINISHED",
    ) -> str:
        run = client.create_run(exp_id)
        run_id = run.info.run_id
        for key, value in (metrics or {}).items():
            client.log_metric(run_id, key, value)
        for key, value in (tags or {}).items():
            client.set_tag(run_id, key, value)
        client.set_terminated(run_id, status=RunStatus(status).value)
        return run_id

    return _make
