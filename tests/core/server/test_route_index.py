"""The route index answers every request as the router's full scan does: the same route for
every static path and method (405 where only the method is wrong), and the full scan for the
rest (path parameters, the trailing-slash redirect, 404s, routes added later)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lockgate.server.app import create_app
from lockgate.server.route_index import RouteIndex
from starlette.routing import Match, Route


def _full_scan(routes: list, scope: dict) -> object:
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return partial


def _scope(path: str, method: str) -> dict:
    return {
        "type": "http",
        "path": path,
        "method": method,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }


def test_index_picks_the_route_the_full_scan_picks(sqlite_uri: str, tmp_path: Path) -> None:
    app = create_app(
        backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "artifacts")
    )
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    routes = app.router.routes
    static = {r.path for r in routes if isinstance(r, Route) and "{" not in r.path}
    assert "/api/2.0/mlflow/runs/log-metric" in static and "/health" in static
    for path in static:
        narrowed = index._index()[path].routes
        assert len(narrowed) < len(routes)
        for method in ("GET", "POST", "PATCH", "DELETE"):
            assert _full_scan(narrowed, _scope(path, method)) is _full_scan(
                routes, _scope(path, method)
            ), (path, method)


@pytest.fixture
def client(sqlite_uri: str, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(
        backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "artifacts")
    )
    with TestClient(app) as test_client:
        yield test_client


def test_indexed_and_unindexed_paths_answer_as_before(client: TestClient) -> None:
    assert client.get("/health").text == "OK"
    assert client.delete("/api/2.0/mlflow/runs/log-metric").status_code == 405
    # GET falls to the UI's fallback route, which answers API paths with MLflow's 404.
    assert (
        client.get("/api/2.0/mlflow/runs/log-metric").json()["error_code"] == "ENDPOINT_NOT_FOUND"
    )
    missing = client.post(
        "/api/2.0/mlflow/runs/log-metric",
        json={"run_id": "f" * 32, "key": "m", "value": 1.0, "timestamp": 1},
    )
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    invalid = client.post(
        "/api/2.0/mlflow/runs/log-metric",
        json={"run_id": "f" * 32, "key": "m", "value": "x", "timestamp": 1},
    )
    assert invalid.status_code == 400 and "value" in invalid.json()["message"]
    created = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"})
    run_id = created.json()["run"]["info"]["run_id"]
    logged = client.post(
        "/api/2.0/mlflow/runs/log-metric",
        json={"run_id": run_id, "key": "m", "value": 2.5, "timestamp": 1, "step": 3},
    )
    assert logged.status_code == 200 and logged.json() == {}
    got = client.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id})
    assert got.json()["run"]["data"]["metrics"] == [
        {"key": "m", "value": 2.5, "timestamp": 1, "step": 3}
    ]


def test_routes_added_later_are_indexed(sqlite_uri: str, tmp_path: Path) -> None:
    app = create_app(
        backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "artifacts")
    )

    @app.post("/late-route")
    async def late() -> dict:
        return {"late": True}

    with TestClient(app) as client:
        assert (client.post("/late-route")).json() == {"late": True}
