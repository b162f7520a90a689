"""Registry fixtures: a real SqlRegistry and a client with the registry mixed in, per backend."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest
from lockgate.entities import RunStatus
from lockgate.registry.base import ModelRegistry
from registry_support import MakeRun, RegistryClient, ThreadServer


@pytest.fixture
def client(store_uri: str) -> RegistryClient:
    return RegistryClient(store_uri, user="alice")


@pytest.fixture
def registry(client: RegistryClient) -> ModelRegistry:
    return client._registry


@pytest.fixture(params=["sqlite", "postgres", "rest"])
def registry_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URI of each registry backend: SqlRegistry on SQLite and on PostgreSQL, and
    RestRegistry through a live server (on SQLite)."""
    if request.param != "rest":
        yield str(request.getfixturevalue(f"{request.param}_uri"))
        return
    from lockgate.server.app import create_app

    server = ThreadServer(create_app(backend_store_uri=request.getfixturevalue("sqlite_uri"))).start()
    yield server.url
    server.stop()


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
