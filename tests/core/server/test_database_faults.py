"""The database fails under the server: restarted in the middle of a load, read-only, full.

Clients get a retryable 503 (or a 507 for a full disk) naming the cause, never a 500; a batch
is stored whole or not at all; and the server serves again, without a restart, once the
database is back. PostgreSQL runs as a private instance of the test's own, so restarting it
disturbs no other test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from private_postgres import PrivatePostgres

API = "/api/2.0/mlflow"
KEYS = [f"k{i}" for i in range(10)]

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.close()


def _post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + API + path, json=body, timeout=60)


def _new_run(url: str, name: str) -> str:
    exp = _post(url, "/experiments/create", {"name": name}).json()["experiment_id"]
    response = _post(url, "/runs/create", {"experiment_id": exp})
    assert response.status_code == 200, response.text
    return str(response.json()["run"]["info"]["run_id"])


def _batch(run_id: str, step: int) -> dict[str, Any]:
    return {"run_id": run_id, "metrics": [{"key": k, "value": step + i / 10, "timestamp": 1000 + step, "step": step}
                                          for i, k in enumerate(KEYS)]}


def _steps_stored(url: str, run_id: str) -> dict[str, set[int]]:
    stored = {}
    for key in KEYS:
        response = httpx.get(url + API + "/metrics/get-history", params={"run_id": run_id, "metric_key": key}, timeout=60)
        assert response.status_code == 200, response.text
        stored[key] = {int(m["step"]) for m in response.json().get("metrics", [])}
    return stored


def _assert_unavailable(response: httpx.Response) -> None:
    body = response.json()
    assert body["error_code"] == "TEMPORARILY_UNAVAILABLE", body
    assert "database" in body["message"] and "Traceback" not in body["message"]
    assert response.headers["retry-after"] == "1"


def test_postgres_restart_mid_load_gives_503_and_the_server_recovers(
    start_server: Callable[..., str], private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    url = start_server(backend_store_uri=private_pg.url, artifacts_destination=str(tmp_path / "artifacts"))
    run_id = _new_run(url, "restart")
    acked: set[int] = set()
    sent: set[int] = set()
    answers: list[httpx.Response] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(first: int) -> None:
        step = first
        with httpx.Client(base_url=url + API, timeout=60) as http:
            while not stop.is_set():
                with lock:
                    sent.add(step)
                response = http.post("/runs/log-batch", json=_batch(run_id, step))
                with lock:
                    answers.append(response)
                    if response.status_code == 200:
                        acked.add(step)
                step += 4
                time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    private_pg.stop()
    private_pg.wait_down()
    time.sleep(1.0)  # clients keep sending while the database is down
    private_pg.start()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(timeout=60)

    statuses = {r.status_code for r in answers}
    assert statuses <= {200, 503}, [r.text for r in answers if r.status_code not in (200, 503)][:3]
    failed = [r for r in answers if r.status_code == 503]
    assert failed, "no request met the outage"
    for response in failed:
        _assert_unavailable(response)
    # Recovered without a restart: the last answers, after the database came back, are all 200.
    assert all(r.status_code == 200 for r in answers[-8:]), [r.status_code for r in answers[-8:]]
    after = _post(url, "/runs/log-batch", _batch(run_id, 10**6))
    assert after.status_code == 200, after.text
    acked.add(10**6)
    sent.add(10**6)

    stored = _steps_stored(url, run_id)
    # Every batch is whole or absent, every acknowledged batch is there, nothing unsent appears.
    assert all(stored[k] == stored[KEYS[0]] for k in KEYS)
    assert acked <= stored[KEYS[0]] <= sent
    assert len(acked) >= 20


def test_read_only_postgres_refuses_writes_clearly_and_serves_reads(
    start_server: Callable[..., str], private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    url = start_server(backend_store_uri=private_pg.url, artifacts_destination=str(tmp_path / "artifacts"))
    run_id = _new_run(url, "read-only")
    assert _post(url, "/runs/log-batch", _batch(run_id, 0)).status_code == 200
    # As a demoted primary or a read-only replica: every session, pooled ones included.
    private_pg.sql("ALTER SYSTEM SET default_transaction_read_only = on")
    private_pg.sql("SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        refused = _post(url, "/runs/log-batch", {**_batch(run_id, 1), "params": [{"key": "lr", "value": "0.1"}]})
        assert refused.status_code == 503, refused.text
        _assert_unavailable(refused)
        assert "read-only" in refused.json()["message"]
        read = httpx.get(url + API + "/runs/get", params={"run_id": run_id}, timeout=60)
        assert read.status_code == 200
        assert read.json()["run"]["data"].get("params", []) == []
    finally:
        private_pg.sql("ALTER SYSTEM RESET default_transaction_read_only")
        private_pg.sql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    assert _post(url, "/runs/log-batch", _batch(run_id, 1)).status_code == 200
    assert _steps_stored(url, run_id)[KEYS[0]] == {0, 1}


def _limit_sqlite_connections(uri: str, pragma: str | None) -> None:
    """Apply ``pragma`` to every new connection of the server's engine (None: stop) and drop the
    pooled ones, so the next request meets the limit."""
    from lockgate.store.sql.engine import get_engine
    from sqlalchemy import event

    engine = get_engine(uri)
    for fn in list(getattr(engine, "_fault_listeners", [])):
        event.remove(engine, "connect", fn)
    engine._fault_listeners = []  # type: ignore[attr-defined]
    if pragma is not None:
        def apply(dbapi_conn: Any, _record: Any) -> None:
            count = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(pragma.format(page_count=count))

        event.listen(engine, "connect", apply)
        engine._fault_listeners.append(apply)  # type: ignore[attr-defined]
    engine.dispose()


def test_full_sqlite_database_gives_507_and_keeps_no_part_of_the_batch(
    start_server: Callable[..., str], sqlite_uri: str, tmp_path: Path
) -> None:
    url = start_server(backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "artifacts"))
    run_id = _new_run(url, "full")
    assert _post(url, "/runs/log-batch", _batch(run_id, 0)).status_code == 200
    # The file may not grow by a single page: the disk is full.
    _limit_sqlite_connections(sqlite_uri, "PRAGMA max_page_count = {page_count}")
    big = {"run_id": run_id, "params": [{"key": f"p{i}", "value": "x" * 500} for i in range(100)],
           "metrics": [{"key": k, "value": float(s), "timestamp": 1, "step": s} for s in range(1, 80) for k in KEYS]}
    try:
        full = _post(url, "/runs/log-batch", big)
        assert full.status_code == 507, full.text
        assert full.json()["error_code"] == "RESOURCE_EXHAUSTED"
        assert "out of space" in full.json()["message"]
        assert _steps_stored(url, run_id)[KEYS[0]] == {0}
        params = httpx.get(url + API + "/runs/get", params={"run_id": run_id}, timeout=60).json()["run"]["data"]
        assert params.get("params", []) == []
    finally:
        _limit_sqlite_connections(sqlite_uri, None)
    assert _post(url, "/runs/log-batch", big).status_code == 200
    assert _steps_stored(url, run_id)[KEYS[0]] == set(range(80))


def test_read_only_sqlite_database_refuses_writes_clearly(
    start_server: Callable[..., str], sqlite_uri: str, tmp_path: Path
) -> None:
    url = start_server(backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "artifacts"))
    run_id = _new_run(url, "ro")
    # SQLite's own read-only mode (what a read-only file or mount gives, which root would bypass).
    _limit_sqlite_connections(sqlite_uri, "PRAGMA query_only = 1")
    try:
        refused = _post(url, "/runs/log-batch", _batch(run_id, 0))
        assert refused.status_code == 503, refused.text
        _assert_unavailable(refused)
        assert "read-only" in refused.json()["message"]
        assert httpx.get(url + API + "/runs/get", params={"run_id": run_id}, timeout=60).status_code == 200
    finally:
        _limit_sqlite_connections(sqlite_uri, None)
    assert _post(url, "/runs/log-batch", _batch(run_id, 0)).status_code == 200
    assert _steps_stored(url, run_id)[KEYS[0]] == {0}
