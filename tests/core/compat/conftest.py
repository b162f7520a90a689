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
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from compat_runner import Recording, run_scenario
from live_server import ThreadServer

PG_ADMIN_URL = os.environ.get("LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MLFLOW_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


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


def _record_pair(services: Any, tmp: Path, *, mlflow_uri: str, lockgate_uri: str,
                 subset: str) -> dict[str, Recording]:
    from lockgate.server.app import create_app

    try:
        # A cold MLflow (imports, ~60 migrations) takes 15-40 s alone and minutes on a loaded box.
        mlflow = services.start_mlflow_server(mlflow_uri, tmp / "mlflow-artifacts", timeout=420)
    except services.ServiceError as exc:
        pytest.fail(f"mlflow server did not start: {exc}", pytrace=False)
    lockgate = ThreadServer(create_app(backend_store_uri=lockgate_uri,
                                       artifacts_destination=str(tmp / "lockgate-artifacts"))).start()
    try:
        recordings = {
            "mlflow": run_scenario(mlflow.url, tmp / "mlflow-work", subset=subset),
            "lockgate": run_scenario(lockgate.url, tmp / "lockgate-work", subset=subset),
        }
        # Both recordings side by side, for reading a difference in full.
        (tmp / "recordings.json").write_text(json.dumps(
            {name: rec.results for name, rec in recordings.items()}, indent=1, default=str))
        return recordings
    finally:
        lockgate.stop()
        mlflow.stop()


@pytest.fixture(scope="session")
def sqlite_recordings(compat_env: None, services: Any,
                      tmp_path_factory: pytest.TempPathFactory) -> dict[str, Recording]:
    """The whole scenario, recorded against MLflow and Lockgate, each on a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("compat-sqlite")
    return _record_pair(services, tmp, mlflow_uri=f"sqlite:///{tmp / 'mlflow.db'}",
                        lockgate_uri=f"sqlite:///{tmp / 'lockgate.db'}", subset="all")


@pytest.fixture(scope="session")
def postgres_recordings(compat_env: None, services: Any,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Recording]]:
    """The PostgreSQL subset of the scenario, each server on a database of its own."""
    tmp = tmp_path_factory.mktemp("compat-postgres")
    mlflow_db, drop_mlflow = _pg_database()
    lockgate_db, drop_lockgate = _pg_database()
    try:
        # MLflow's own PostgreSQL driver is psycopg2-style: give it a plain postgresql:// URL.
        yield _record_pair(services, tmp, mlflow_uri=mlflow_db, lockgate_uri=lockgate_db, subset="postgres")
    finally:
        from lockgate.store.sql import engine as lg_engine

        lg_engine.dispose_engines()
        drop_mlflow()
        drop_lockgate()
