"""The stock mlflow client's webhook calls (MLflow 3.3+) against a live Lockgate server: create,
list, get, update, test and delete, and an alias set through MLflow delivered to a receiver
that checks MLflow's documented signature (a receiver written for ``mlflow server``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import mlflow
import pytest
from cryptography.fernet import Fernet
from lockgate import LockgateClient
from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookStatus
from mlflow.exceptions import MlflowException
from webhook_receiver import Delivery, Receiver


def mlflow_verified(secret: str, delivery: Delivery, *, tolerance: int = 300) -> dict:
    """The payload, if the request verifies as MLflow's webhook docs describe: ``X-MLflow-Signature``
    is ``v1,`` + base64(HMAC-SHA256(secret, "<delivery id>.<timestamp>.<raw body>")), and
    ``X-MLflow-Timestamp`` is recent. Fails the test otherwise."""
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    delivery_id, timestamp = headers["x-mlflow-delivery-id"], headers["x-mlflow-timestamp"]
    signature = headers["x-mlflow-signature"]
    assert abs(time.time() - int(timestamp)) <= tolerance
    signed = f"{delivery_id}.{timestamp}.{delivery.body.decode('utf-8')}".encode()
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    assert signature.startswith("v1,") and hmac.compare_digest(signature[3:], expected), signature
    assert not any(k.startswith("x-lockgate-") for k in headers)
    return json.loads(delivery.body)


@pytest.fixture
def mlflow_server(start_server: Callable[..., str], sqlite_uri: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOCKGATE_WEBHOOK_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    url = start_server(backend_store_uri=sqlite_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    mlflow.set_tracking_uri(url)
    return url


def test_mlflow_client_webhook_calls(mlflow_server: str, hook_receiver: Receiver) -> None:
    client = MlflowClient()
    client.create_registered_model("churn")
    hook = client.create_webhook(name="deploy", url=hook_receiver.url, secret="mlflow-secret",
                                 events=["model_version_alias.created", "model_version.created"],
                                 description="to CI")
    assert (hook.name, hook.url, hook.description, hook.status) == (
        "deploy", hook_receiver.url, "to CI", WebhookStatus.ACTIVE)
    assert sorted(str(e) for e in hook.events) == ["model_version.created", "model_version_alias.created"]
    assert hook.secret is None  # never echoed back
    assert hook.creation_timestamp > 0

    listed = client.list_webhooks()
    assert [w.webhook_id for w in listed] == [hook.webhook_id]
    got = client.get_webhook(hook.webhook_id)
    assert got.url == hook_receiver.url and got.secret is None

    result = client.test_webhook(hook.webhook_id)
    assert result.success and result.response_status == 200 and result.response_body == "answer 200"
    ping = mlflow_verified("mlflow-secret", hook_receiver.wait_for(1)[0])  # stored encrypted, used to sign
    assert (ping["entity"], ping["action"]) == ("model_version", "created")  # MLflow's example payload
    assert ping["data"]["name"] == "example_model"
    tested = client.test_webhook(hook.webhook_id, event="model_version_alias.created")
    assert tested.success
    ping2 = mlflow_verified("mlflow-secret", hook_receiver.wait_for(2)[1])
    assert (ping2["entity"], ping2["action"]) == ("model_version_alias", "created")

    client.create_model_version("churn", source="s3://b/1", tags={"k": "v"}, description="first")
    client.set_registered_model_alias("churn", "champion", "1")
    created, aliased = (mlflow_verified("mlflow-secret", d) for d in hook_receiver.wait_for(4)[2:])
    assert {k: created[k] for k in ("entity", "action", "data")} == {
        "entity": "model_version", "action": "created",
        "data": {"name": "churn", "version": "1", "source": "s3://b/1", "run_id": None, "tags": {"k": "v"},
                 "description": "first"}}
    assert {k: aliased[k] for k in ("entity", "action", "data")} == {
        "entity": "model_version_alias", "action": "created",
        "data": {"name": "churn", "alias": "champion", "version": "1"}}
    assert created["timestamp"].endswith("+00:00")

    updated = client.update_webhook(hook.webhook_id, description="paused", status="DISABLED",
                                    events=["model_version_alias.deleted"])
    assert (updated.description, updated.status) == ("paused", WebhookStatus.DISABLED)
    assert [str(e) for e in updated.events] == ["model_version_alias.deleted"]
    native = LockgateClient(mlflow_server).get_webhook(hook.webhook_id)
    assert native.events == ["alias.deleted"] and native.secret_source == "encrypted"
    assert native.payload_format == "mlflow"

    with pytest.raises(MlflowException, match="not supported by Lockgate"):
        client.create_webhook(name="prompts", url=hook_receiver.url, events=["prompt.created"], secret="s")
    with pytest.raises(MlflowException, match="needs a secret"):
        client.create_webhook(name="nosecret", url=hook_receiver.url, events=["model_version.created"])
    with pytest.raises(MlflowException, match="scheme must be http or https"):
        client.create_webhook(name="ftp", url="ftp://x/y", events=["model_version.created"], secret="s")

    client.delete_webhook(hook.webhook_id)
    with pytest.raises(MlflowException, match="does not exist"):
        client.get_webhook(hook.webhook_id)
    assert list(client.list_webhooks()) == []
