"""``lockgate import mlflow`` into a running ``lockgate server`` by URL (auth on), experiment ids
kept where free, and MLflow's PostgreSQL database as the source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lockgate.cli.root import build_app
from lockgate.cli.users import users_app
from lockgate.client import LockgateClient
from lockgate.entities import ViewType
from lockgate.store import clear_store_cache
from mlflow import MlflowClient
from mlflow_fill import FilledMlflow
from sqlalchemy import create_engine, text
from test_mlflow_import import _counts
from typer.testing import CliRunner

pytestmark = pytest.mark.timeout(1800)

runner = CliRunner(env={"COLUMNS": "250"})
app = build_app()
ROOT_PASSWORD, ALICE_PASSWORD = "root-secret-1", "alice-secret-1"


def _import(*args: str) -> Any:
    return runner.invoke(app, ["import", "mlflow", *args])


def _as(monkeypatch: pytest.MonkeyPatch, user: str, password: str) -> None:
    monkeypatch.setenv("LOCKGATE_TRACKING_USERNAME", user)
    monkeypatch.setenv("LOCKGATE_TRACKING_PASSWORD", password)
    clear_store_cache()


@pytest.fixture
def lockgate_server(start_process_server: Callable[..., str], tmp_path: Path) -> tuple[str, str]:
    """A real ``lockgate server`` process with auth on and artifacts behind its proxy."""
    backend = f"sqlite:///{tmp_path / 'server.db'}"
    for args in (["create", "root", "--admin", "--password", ROOT_PASSWORD],
                 ["create", "alice", "--password", ALICE_PASSWORD]):
        result = CliRunner().invoke(users_app, [*args, "--backend-store-uri", backend])
        assert result.exit_code == 0, result.output
    url = start_process_server("--backend-store-uri", backend, "--artifacts-destination",
                               str(tmp_path / "server-artifacts"), "--auth")
    return url, backend


def test_import_into_a_running_server_by_url(
    lockgate_server: tuple[str, str], mlflow_source: FilledMlflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, backend = lockgate_server
    m = mlflow_source.manifest
    # Not an admin: refused before anything is written, in one line.
    _as(monkeypatch, "alice", ALICE_PASSWORD)
    refused = _import("--from", mlflow_source.url, "--to", url)
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "not an admin" in refused.output and "import_records" in refused.output
    assert _counts(backend)["runs"] == 0

    _as(monkeypatch, "root", ROOT_PASSWORD)
    first = _import("--from", mlflow_source.url, "--to", url)
    # The one unreadable artifact on the source is reported, as on the database path.
    assert first.exit_code == 1, first.output
    assert f"run {m['broken']}: artifacts under 'lost' cannot be listed" in first.output
    before = _counts(backend)
    again = _import("--from", mlflow_source.url, "--to", url)
    assert again.exit_code == 0, again.output
    assert "already here" in again.output
    assert _counts(backend) == before  # re-running changes nothing
    assert before["runs"] == 9 and before["model_versions"] == 4

    src, lg = MlflowClient(mlflow_source.url), LockgateClient(url)
    for name, exp_id in m["experiments"].items():
        exp = lg.get_experiment_by_name(name)
        assert exp is not None and exp.experiment_id == exp_id  # the MLflow id, kept
    for run_id in [m["parent"], *m["children"], m["grandchild"], *m["fraud_runs"]]:
        want, got = src.get_run(run_id), lg.get_run(run_id)
        assert (got.info.run_name, got.info.status.value, got.info.start_time, got.info.end_time) == (
            want.info.run_name, want.info.status, want.info.start_time, want.info.end_time)
        assert got.info.lifecycle_stage.value == want.info.lifecycle_stage
        assert got.data.params == want.data.params
        assert {k: v for k, v in got.data.tags.items() if k != "lockgate.import.source"} == want.data.tags
    assert lg.get_run(m["grandchild"]).info.parent_run_id == m["children"][0]
    loss = lg.get_metric_history(m["grandchild"], "loss")
    assert len(loss) == 100_000 and loss[-1].step == 99_999
    special = [p.value for p in lg.get_metric_history(m["parent"], "special")]
    assert special[0] != special[0] and special[3] == 0.25  # NaN kept
    # Artifacts went through the server's proxy: the run's files read back over HTTP.
    assert lg.get_run(m["grandchild"]).info.artifact_uri.startswith("mlflow-artifacts:")
    repo = lg.artifact_repository(f"runs:/{m['grandchild']}")
    assert repo.read_text("notes/readme.txt") == "hello from mlflow"
    assert json.loads(repo.read_text("config.json")) == {"threshold": 0.5}
    assert lg.artifact_repository("models:/churn-model/1").exists("MLmodel")
    model = lg.get_registered_model("churn-model")
    assert model.aliases == {"champion": 2, "challenger": 3}
    stages = {v.version: v.current_stage for v in lg.search_model_versions(filter_string="name='churn-model'")}
    assert stages == {int(v.version): v.current_stage for v in src.search_model_versions("name='churn-model'")}


def test_import_routes_refuse_bad_input_and_are_documented(
    lockgate_server: tuple[str, str], mlflow_source: FilledMlflow
) -> None:
    url, _ = lockgate_server
    root = httpx.BasicAuth("root", ROOT_PASSWORD)
    with httpx.Client(base_url=url + "/api/v1/import", auth=root, timeout=60) as http:
        assert httpx.get(url + "/api/v1/import/runs/state", params={"run_id": "x"}).status_code == 401
        alice = httpx.get(url + "/api/v1/import/runs/state", params={"run_id": "x"},
                          auth=httpx.BasicAuth("alice", ALICE_PASSWORD))
        assert alice.status_code == 403 and "import_records" in alice.json()["message"]
        assert http.get("/runs/state", params={"run_id": "f" * 32}).json() == {"state": "absent"}
        exp = http.post("/experiments", json={"name": "kept", "source_id": "42", "tags": {}}).json()
        assert exp == {"experiment_id": "42"}
        bad = [
            ("/runs", {"run_id": "nope", "experiment_id": "42", "name": "r", "status": "FINISHED",
                       "start_time": 1}, 400, "32 lowercase hex"),
            ("/runs", {"run_id": "a" * 32, "experiment_id": "42", "name": "r", "status": "DONE",
                       "start_time": 1}, 400, "status"),
            ("/runs", {"run_id": "a" * 32, "experiment_id": "999", "name": "r", "status": "FINISHED",
                       "start_time": 1}, 404, "999"),
            ("/runs/" + "b" * 32 + "/metrics", {"metrics": [{"key": "m", "value": 1, "timestamp": 1}]},
             400, "not being imported"),
            ("/runs/" + "b" * 32 + "/metrics", {"metrics": [{"key": "m", "value": 1, "timestamp": 1}] * 10_001},
             400, "metrics"),
            ("/model-versions", {"name": "x", "version": 0, "source": "s", "imported_from": "t"}, 400, "version"),
            ("/experiments", {"name": "other", "existing_id": "abc"}, 400, "abc"),
        ]
        for path, body, status, words in bad:
            answer = http.post(path, json=body)
            assert answer.status_code == status, (path, answer.text)
            assert words in answer.json()["message"], (path, answer.text)
        assert http.get("/runs/state", params={"run_id": "a" * 32}).json() == {"state": "absent"}
    spec = httpx.get(url + "/api/v1/openapi.json").json()
    for path in ("/api/v1/import/check", "/api/v1/import/runs", "/api/v1/import/runs/{run_id}/metrics", "/api/v1/import/model-versions",
                 "/api/v1/import/experiments", "/api/v1/import/locate"):
        assert path in spec["paths"], path


def test_experiment_ids_are_kept_when_free(mlflow_source: FilledMlflow, store_uri: str) -> None:
    # On PostgreSQL the experiments' id sequence must also move past the kept ids.
    ids = mlflow_source.manifest["experiments"]
    lg = LockgateClient(store_uri)
    mine = lg.create_experiment("mine")
    assert mine == ids["churn"]  # Lockgate's own experiment already holds churn's id
    fraud = _import("--to", store_uri, "--from", mlflow_source.url, "--experiments", "fraud", "--no-artifacts")
    assert fraud.exit_code == 0, fraud.output
    churn = _import("--to", store_uri, "--from", mlflow_source.url, "--experiments", "churn", "--no-artifacts")
    assert churn.exit_code == 0, churn.output
    got = {e.name: e.experiment_id for e in lg.search_experiments(view_type=ViewType.ALL)}
    assert got["mine"] == ids["churn"] and got["fraud"] == ids["fraud"]
    assert got["churn"] not in (ids["churn"], ids["fraud"])
    # Lockgate's next experiment takes an id after every kept one.
    assert int(lg.create_experiment("later")) > max(int(i) for i in got.values())


@pytest.fixture
def mlflow_postgres(services: Any, tmp_path: Path) -> Iterator[FilledMlflow]:
    """A real ``mlflow server`` on a fresh PostgreSQL database, filled by the stock client."""
    name = f"mlflow_src_{uuid.uuid4().hex[:10]}"
    pg_admin_url = os.environ.get("LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_uri = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    server = None
    try:
        server = services.start_mlflow_server(db_uri, tmp_path / "mlflow-artifacts", timeout=300)
        manifest_path = tmp_path / "manifest.json"
        fill = subprocess.run([sys.executable, str(Path(__file__).with_name("mlflow_fill.py")), server.url,
                               str(manifest_path), "3000"], capture_output=True, text=True, timeout=900,
                              check=False)
        assert fill.returncode == 0, fill.stderr[-3000:]
        yield FilledMlflow(server.url, server.port, db_uri, tmp_path / "mlflow-artifacts",
                           json.loads(manifest_path.read_text()))
    finally:
        if server is not None:
            server.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_import_from_mlflow_postgresql_database(mlflow_postgres: FilledMlflow, sqlite_uri: str) -> None:
    source = mlflow_postgres
    db_url = source.db_uri.replace("postgresql+psycopg://", "postgresql://")  # as a user writes it
    assert db_url.startswith("postgresql://")
    result = _import("--to", sqlite_uri, "--from", db_url, "--source-artifacts", str(source.artifacts_dir))
    assert result.exit_code == 0, result.output
    m = source.manifest
    src, lg = MlflowClient(source.url), LockgateClient(sqlite_uri)
    for name, exp_id in m["experiments"].items():
        exp = lg.get_experiment_by_name(name)
        want = src.get_experiment(exp_id)
        assert exp is not None and exp.experiment_id == exp_id
        assert exp.lifecycle_stage.value == want.lifecycle_stage
        assert {k: v for k, v in exp.tags.items() if k != "lockgate.import.source"} == want.tags
    for run_id in [m["parent"], *m["children"], m["grandchild"], *m["fraud_runs"], m["broken"], m["old"]]:
        want, got = src.get_run(run_id), lg.get_run(run_id)
        assert (got.info.run_name, got.info.status.value, got.info.start_time, got.info.end_time,
                got.info.lifecycle_stage.value, got.info.user_id) == (
            want.info.run_name, want.info.status, want.info.start_time, want.info.end_time,
            want.info.lifecycle_stage, want.info.user_id)
        assert got.data.params == want.data.params
        assert got.data.metrics == want.data.metrics or run_id == m["parent"]  # NaN != NaN
        assert {k: v for k, v in got.data.tags.items() if k != "lockgate.import.source"} == want.data.tags
        for key in want.data.metrics:
            assert [(p.step, p.timestamp, p.value) for p in lg.get_metric_history(run_id, key)
                    if p.value == p.value] == [(p.step, p.timestamp, p.value)
                                               for p in src.get_metric_history(run_id, key) if p.value == p.value]
    assert len(lg.get_metric_history(m["grandchild"], "loss")) == 3000
    assert lg.artifact_repository(f"runs:/{m['grandchild']}").read_text("notes/readme.txt") == "hello from mlflow"
    for name in ("churn-model", "fraud-model"):
        want_model, got_model = src.get_registered_model(name), lg.get_registered_model(name)
        assert got_model.aliases == {a: int(v) for a, v in want_model.aliases.items()}
        assert (got_model.description or None) == (want_model.description or None)
        versions = {v.version: v for v in lg.search_model_versions(filter_string=f"name='{name}'")}
        for v in src.search_model_versions(f"name='{name}'"):
            got_v = versions[int(v.version)]
            assert (got_v.source, got_v.run_id, got_v.current_stage, got_v.tags) == (
                v.source, v.run_id, v.current_stage, v.tags)
    again = _import("--to", sqlite_uri, "--from", db_url, "--source-artifacts", str(source.artifacts_dir))
    assert again.exit_code == 0 and "already here" in again.output
