"""Servers for the differential suite: a real ``mlflow server`` and ``lockgate server`` per backend.

Every server is session-scoped and started once: MLflow as its own process (its CLI, as a
user runs it), Lockgate in a thread of the test process (the same app ``lockgate server``
serves). Each pair gets fresh databases: SQLite files, or two new PostgreSQL databases on
127.0.0.1:5432. The scenario runs once against each server of a pair; the per-call tests
then compare the recorded, normalized results.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from compat_runner import Recording, run_scenario
from live_server import ThreadServer, free_port, wait_ready

PG_ADMIN_URL = os.environ.get("LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MLFLOW_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


def _start_mlflow(backend_uri: str, artifacts: Path, log: Path) -> tuple[str, subprocess.Popen[Any]]:
    """``mlflow server`` (the pinned 3.17.2) on a free port; its output goes to ``log``."""
    mlflow_cli = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    if mlflow_cli is None:
        pytest.fail(f"the mlflow CLI is not installed next to {sys.executable}")
    port = free_port()
    handle = log.open("w")
    proc = subprocess.Popen(
        [mlflow_cli, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", backend_uri, "--artifacts-destination", str(artifacts)],
        stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **MLFLOW_ENV},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # A cold MLflow (imports, ~60 migrations) takes 15-40 s alone and over 3 min on a
        # box shared by several test runs.
        wait_ready(url, timeout=420)
    except BaseException:  # noqa: BLE001 - pytest.fail is a BaseException; stop the server, then report
        _stop(proc)
        pytest.fail(f"mlflow server did not start:\n{log.read_text()[-3000:]}")
    return url, proc


def _stop(proc: subprocess.Popen[Any]) -> None:
    """Stop ``mlflow server`` and the uvicorn and job workers it spawned."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _pg_database() -> tuple[str, Any]:
    """A new PostgreSQL database: (its URL, a function that drops it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"lg_compat_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


@pytest.fixture(scope="session")
def compat_env() -> Iterator[None]:
    """The stock client's settings for the whole session: no retries, no telemetry."""
    saved = {key: os.environ.get(key) for key in MLFLOW_ENV}
    os.environ.update(MLFLOW_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _record_pair(tmp: Path, *, mlflow_uri: str, lockgate_uri: str, subset: str) -> dict[str, Recording]:
    from lockgate.server.app import create_app

    mlflow_url, proc = _start_mlflow(mlflow_uri, tmp / "mlflow-artifacts", tmp / "mlflow-server.log")
    lockgate = ThreadServer(create_app(backend_store_uri=lockgate_uri,
                                       artifacts_destination=str(tmp / "lockgate-artifacts"))).start()
    try:
        recordings = {
            "mlflow": run_scenario(mlflow_url, tmp / "mlflow-work", subset=subset),
            "lockgate": run_scenario(lockgate.url, tmp / "lockgate-work", subset=subset),
        }
        # Both recordings side by side, for reading a difference in full.
        (tmp / "recordings.json").write_text(json.dumps(
            {name: rec.results for name, rec in recordings.items()}, indent=1, default=str))
        return recordings
    finally:
        lockgate.stop()
        _stop(proc)


@pytest.fixture(scope="session")
def sqlite_recordings(compat_env: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    """The whole scenario, recorded against MLflow and Lockgate, each on a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("compat-sqlite")
    return _record_pair(tmp, mlflow_uri=f"sqlite:///{tmp / 'mlflow.db'}",
                        lockgate_uri=f"sqlite:///{tmp / 'lockgate.db'}", subset="all")


@pytest.fixture(scope="session")
def postgres_recordings(compat_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Recording]]:
    """The PostgreSQL subset of the scenario, each server on a database of its own."""
    tmp = tmp_path_factory.mktemp("compat-postgres")
    mlflow_db, drop_mlflow = _pg_database()
    lockgate_db, drop_lockgate = _pg_database()
    try:
        # MLflow's own PostgreSQL driver is psycopg2-style: give it a plain postgresql:// URL.
        yield _record_pair(tmp, mlflow_uri=mlflow_db, lockgate_uri=lockgate_db, subset="postgres")
    finally:
        from lockgate.store.sql import engine as lg_engine

        lg_engine.dispose_engines()
        drop_mlflow()
        drop_lockgate()
