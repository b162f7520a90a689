"""The provider against a real ``lockgate server`` over HTTP (started here, on SQLite)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lockgate import LockgateClient
from lockgate.entities import RunStatus


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lockgate_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(server URL, the server's own database URI) of a live server on a free port."""
    port = _free_port()
    db_uri = f"sqlite:///{tmp_path / 'server.db'}"
    env = {**os.environ, "LOCKGATE_HOME": str(tmp_path / "server-home")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from lockgate.cli import main; main()", "server",
         "--backend-store-uri", db_uri, "--artifacts-destination", str(tmp_path / "artifacts"),
         "--port", str(port), "--no-access-log"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`lockgate server` exited with {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("`lockgate server` did not answer /health within 60 s")
            time.sleep(0.2)
        yield url, db_uri
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_tracked_task_writes_through_the_server(
    lockgate_server: tuple[str, str], monkeypatch: pytest.MonkeyPatch, task_states  # type: ignore[no-untyped-def]
) -> None:
    url, db_uri = lockgate_server
    monkeypatch.setenv("AIRFLOW_CONN_LG_HTTP", json.dumps({"conn_type": "lockgate", "host": url}))
    from lg_http import dag_object
    from lockgate_airflow.hooks import LockgateHook

    assert LockgateHook("lg_http").test_connection() == (True, f"Connected to {url}")
    dag_run = dag_object.test()
    assert task_states(dag_run) == {"train": "success"}

    # Read back over HTTP, and straight from the server's database: the data went through the server.
    for client in (LockgateClient(url), LockgateClient(db_uri)):
        runs = list(client.search_runs(["over-http"]))
        (train,) = [r for r in runs if r.data.tags.get("lockgate.airflow.task_id") == "train"]
        (parent,) = [r for r in runs if r.data.tags.get("lockgate.airflow.kind") == "dag_run"]
        assert train.info.parent_run_id == parent.info.run_id
        assert train.info.status == RunStatus.FINISHED
        assert parent.info.status == RunStatus.FINISHED  # closed on the task's connection, not the default
        assert train.data.metrics == {"val_auc": 0.88} and train.data.params == {"where": "server"}
    # nothing was written to the worker's embedded store
    assert LockgateClient().get_experiment_by_name("over-http") is None
