"""Auth: Basic and Bearer credentials, expired and wrong ones, and READ / EDIT / MANAGE
enforced through MLflow's API, the native API and the artifact proxy."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lockgate.cli.users import users_app
from lockgate.errors import PermissionDenied
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

API = "/api/2.0/mlflow"
PASSWORD = {"root": "root-secret-1", "alice": "alice-secret-1", "bob": "bob-secret-12"}


def users(uri: str, *args: str) -> str:
    result = CliRunner().invoke(users_app, [*args, "--backend-store-uri", uri])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def auth_url(start_server: Callable[..., str], sqlite_uri: str, artifacts_dir: Path) -> str:
    users(sqlite_uri, "create", "root", "--admin", "--password", PASSWORD["root"])
    users(sqlite_uri, "create", "alice", "--password", PASSWORD["alice"])
    users(sqlite_uri, "create", "bob", "--password", PASSWORD["bob"])
    return start_server(backend_store_uri=sqlite_uri, artifacts_destination=str(artifacts_dir), auth=True)


def basic(user: str, password: str | None = None) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password or PASSWORD[user]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(autouse=True)
def _mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


def as_user(monkeypatch: pytest.MonkeyPatch, url: str, user: str | None = None, *, token: str | None = None) -> MlflowClient:
    """A client acting as ``user``: the mlflow client reads credentials from the environment
    on every request, so this switches the acting user for all clients until the next call."""
    for name in ("USERNAME", "PASSWORD", "TOKEN"):
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)
    if token:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    elif user:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD[user])
    return MlflowClient(tracking_uri=url)


def test_missing_wrong_and_expired_credentials(auth_url: str, sqlite_uri: str) -> None:
    assert httpx.get(auth_url + "/health").status_code == 200
    for headers, message in (
        ({}, "Authentication required"),
        (basic("alice", "wrong-password"), "Invalid user name or password"),
        (basic("nobody", "whatever-1"), "Invalid user name or password"),
        ({"Authorization": "Basic !!!"}, "Malformed"),
        ({"Authorization": "Bearer lgt_not-a-token"}, "Invalid API token"),
        ({"Authorization": "Digest abc"}, "Unsupported"),
    ):
        response = httpx.get(auth_url + API + "/experiments/get", params={"experiment_id": "0"}, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error_code"] == "UNAUTHENTICATED" and message in response.json()["message"]
    expired = users(sqlite_uri, "create-token", "alice", "--expires-in-days", "0").strip()
    response = httpx.get(auth_url + API + "/experiments/search", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["message"]


def test_permissions_through_the_mlflow_client(
    auth_url: str, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alice = as_user(monkeypatch, auth_url, "alice")
    exp_id = alice.create_experiment("alice-exp")
    run = alice.create_run(exp_id)
    rid = run.info.run_id
    alice.log_metric(rid, "acc", 0.9)
    local = tmp_path / "weights.txt"
    local.write_text("secret weights")
    alice.log_artifact(rid, str(local))
    assert alice.get_run(rid).info.user_id == "alice"

    bob = as_user(monkeypatch, auth_url, "bob")
    for attempt in (
        lambda: bob.get_experiment(exp_id),
        lambda: bob.get_run(rid),
        lambda: bob.log_metric(rid, "acc", 0.1),
        lambda: bob.set_tag(rid, "hijacked", "yes"),
        lambda: bob.search_runs([exp_id]),
        lambda: bob.get_metric_history(rid, "acc"),
        lambda: bob.delete_run(rid),
        lambda: bob.list_artifacts(rid),
        lambda: bob.download_artifacts(rid, "weights.txt", str(tmp_path / "stolen")),
    ):
        with pytest.raises(MlflowException) as denied:
            attempt()
        assert "PERMISSION_DENIED" in str(denied.value) or "403" in str(denied.value)
    assert [e.name for e in bob.search_experiments()] == []
    # The proxy refuses writes as well as reads.
    put = httpx.put(f"{auth_url}/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{rid}/artifacts/evil.txt",
                    content=b"x", headers=basic("bob"))
    assert put.status_code == 403 and put.json()["error_code"] == "PERMISSION_DENIED"

    users(sqlite_uri, "grant", "bob", "--experiment", exp_id, "--permission", "READ")
    assert bob.get_run(rid).data.metrics == {"acc": 0.9}
    assert [e.name for e in bob.search_experiments()] == ["alice-exp"]
    with pytest.raises(MlflowException, match="EDIT is required"):
        bob.log_metric(rid, "acc", 0.1)
    users(sqlite_uri, "grant", "bob", "--experiment", exp_id, "--permission", "EDIT")
    bob.log_metric(rid, "acc", 0.95)
    with pytest.raises(MlflowException, match="MANAGE is required"):
        bob.delete_experiment(exp_id)
    alice = as_user(monkeypatch, auth_url, "alice")
    alice.delete_run(rid)  # alice created the experiment, so she manages it

    root = as_user(monkeypatch, auth_url, token=users(sqlite_uri, "create-token", "root").strip())
    assert root.get_run(rid).info.lifecycle_stage == "deleted"


def test_registered_model_permissions(auth_url: str, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = as_user(monkeypatch, auth_url, "alice")
    alice.create_registered_model("alice-model")
    exp_id = alice.create_experiment("m")
    run = alice.create_run(exp_id)
    alice.create_model_version("alice-model", f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    bob = as_user(monkeypatch, auth_url, "bob")
    with pytest.raises(MlflowException, match="PERMISSION_DENIED"):
        bob.get_registered_model("alice-model")
    with pytest.raises(MlflowException, match="PERMISSION_DENIED"):
        bob.set_registered_model_alias("alice-model", "prod", "1")
    with pytest.raises(MlflowException, match="PERMISSION_DENIED"):
        bob.transition_model_version_stage("alice-model", "1", "Production")
    assert bob.search_registered_models() == []
    users(sqlite_uri, "grant", "bob", "--model", "alice-model", "--permission", "EDIT")
    bob.set_registered_model_alias("alice-model", "prod", "1")
    alice = as_user(monkeypatch, auth_url, "alice")
    assert alice.get_model_version_by_alias("alice-model", "prod").version == "1"


def test_native_api_and_lockgate_client_with_a_token(
    auth_url: str, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockgate import LockgateClient
    from lockgate.store import clear_store_cache

    token = users(sqlite_uri, "create-token", "alice", "--name", "ci").strip()
    assert token.startswith("lgt_")
    monkeypatch.setenv("LOCKGATE_TRACKING_TOKEN", token)
    clear_store_cache()
    client = LockgateClient(auth_url)
    exp_id = client.create_experiment("native")
    run_id = client.create_run(exp_id).info.run_id
    client.log_metric(run_id, "loss", 0.5)
    assert client.get_run(run_id).data.metrics == {"loss": 0.5}
    response = httpx.get(f"{auth_url}/api/v1/runs/{run_id}", headers=basic("bob"))
    assert response.status_code == 403 and response.json()["error_code"] == "PERMISSION_DENIED"
    monkeypatch.delenv("LOCKGATE_TRACKING_TOKEN")
    monkeypatch.setenv("LOCKGATE_TRACKING_USERNAME", "bob")
    monkeypatch.setenv("LOCKGATE_TRACKING_PASSWORD", PASSWORD["bob"])
    clear_store_cache()
    with pytest.raises(PermissionDenied, match="bob"):
        LockgateClient(auth_url).get_run(run_id)
    gc = httpx.post(f"{auth_url}/api/v1/gc", json={}, headers=basic("bob"))
    assert gc.status_code == 403
    assert "ci" in users(sqlite_uri, "tokens", "alice")


def test_non_loopback_bind_requires_an_admin(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "lockgate.cli.server", "--host", "0.0.0.0", "--port", "0", "--backend-store-uri", db],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "no admin user" in result.stderr + result.stdout
