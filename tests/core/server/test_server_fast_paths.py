"""The server's fast paths answer exactly what the entity paths do, on SQLite and PostgreSQL:
metric history written from rows (non-finite values, paging), runs created without a read-back,
and a PostgreSQL pool without pre-ping that recovers when the database drops its connections."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from lockgate.entities import Metric, Param, RunTag
from lockgate.store.sql.store import SqlStore

API = "/api/2.0/mlflow"


def _history(url: str, run_id: str, key: str, **params: object) -> dict:
    response = httpx.get(f"{url}{API}/metrics/get-history", params={"run_id": run_id, "metric_key": key, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_history_and_created_runs_match_the_store(
    start_server: Callable[..., str], store_uri: str, artifacts_dir: Path
) -> None:
    url = start_server(backend_store_uri=store_uri, artifacts_destination=str(artifacts_dir))
    store = SqlStore(store_uri)
    created = httpx.post(f"{url}{API}/runs/create", json={"experiment_id": "0", "start_time": 1234,
                                                          "tags": [{"key": "team", "value": "a"}]}).json()["run"]
    run_id = created["info"]["run_id"]
    stored = store.get_run(run_id)
    assert created["info"]["start_time"] == stored.info.start_time == 1234
    assert created["info"]["artifact_uri"] == stored.info.artifact_uri
    assert created["info"]["run_name"] == stored.info.run_name
    assert created["info"]["status"] == "RUNNING" and created["info"]["lifecycle_stage"] == "active"
    assert stored.data.tags["team"] == "a"

    values = [0.5, math.nan, math.inf, -math.inf, -2.0]
    store.log_batch(run_id, metrics=[Metric(key="m", value=v, timestamp=10 + i, step=i) for i, v in enumerate(values)],
                    params=[Param(key="lr", value="0.1")], tags=[RunTag(key="mlflow.runName", value="renamed")])
    assert store.get_run(run_id).info.run_name == "renamed"
    body = _history(url, run_id, "m")
    assert body["metrics"] == [
        {"key": "m", "value": 0.5, "timestamp": 10, "step": 0},
        {"key": "m", "value": "NaN", "timestamp": 11, "step": 1},
        {"key": "m", "value": sys.float_info.max, "timestamp": 12, "step": 2},  # MLflow's clamp
        {"key": "m", "value": -sys.float_info.max, "timestamp": 13, "step": 3},
        {"key": "m", "value": -2.0, "timestamp": 14, "step": 4},
    ]
    assert "next_page_token" not in body
    first = _history(url, run_id, "m", max_results=3)
    assert [p["step"] for p in first["metrics"]] == [0, 1, 2]
    second = _history(url, run_id, "m", max_results=3, page_token=first["next_page_token"])
    assert [p["step"] for p in second["metrics"]] == [3, 4] and "next_page_token" not in second
    entities = store.get_metric_history(run_id, "m")
    assert [(p.step, p.timestamp) for p in entities] == [(i, 10 + i) for i in range(5)]
    assert math.isnan(entities[1].value) and entities[2].value == math.inf
    missing = httpx.get(f"{url}{API}/metrics/get-history", params={"run_id": "f" * 32, "metric_key": "m"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_postgres_connections_dropped_by_the_database_recover(
    start_server: Callable[..., str], postgres_uri: str, artifacts_dir: Path
) -> None:
    from sqlalchemy import create_engine, text

    url = start_server(backend_store_uri=postgres_uri, artifacts_destination=str(artifacts_dir))
    run_id = httpx.post(f"{url}{API}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    database = postgres_uri.rsplit("/", 1)[1]
    admin = create_engine(postgres_uri.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        dropped = conn.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :d "
                 "AND pid <> pg_backend_pid()"), {"d": database}
        ).scalar()
    admin.dispose()
    assert dropped >= 1
    statuses = []
    for step in range(3):
        response = httpx.post(f"{url}{API}/runs/log-metric",
                              json={"run_id": run_id, "key": "k", "value": step, "timestamp": 1, "step": step})
        statuses.append(response.status_code)
        if response.status_code != 200:
            assert response.status_code == 503 and response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    # At most the request that met the dead connection fails, retryably; the pool is renewed.
    assert statuses.count(503) <= 1 and statuses[-1] == 200
    written = [p["step"] for p in _history(url, run_id, "k")["metrics"]]
    assert written == [s for s, code in zip(range(3), statuses) if code == 200]
