"""The stock mlflow client's webhook calls (MLflow 3.3+) against a live Lockgate server: create,
list, get, update, test and delete, and an alias set through MLflow delivered to a receiver."""

from __future__ import annotations

import json
from collections.abc import Callable

import mlflow
import pytest
from cryptography.fernet import Fernet
from lockgate import LockgateClient
from mlflow import MlflowClient
from mlflow.entities.webhook import WebhookStatus
from mlflow.exceptions import MlflowException
from webhook_docs import documented_verifier
from webhook_receiver import Receiver


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
    ping = hook_receiver.wait_for(1)[0]
    assert documented_verifier()("mlflow-secret", ping.headers, ping.body)  # stored encrypted, used to sign
    assert json.loads(ping.body)["type"] == "webhook.test"

    client.create_model_version("churn", source="s3://b/1")
    client.set_registered_model_alias("churn", "champion", "1")
    created, aliased = hook_receiver.wait_for(3)[1:]
    assert [json.loads(created.body)["type"], json.loads(aliased.body)["type"]] == [
        "model_version.created", "alias.set"]
    assert json.loads(aliased.body)["alias"] == "champion"

    updated = client.update_webhook(hook.webhook_id, description="paused", status="DISABLED",
                                    events=["model_version_alias.deleted"])
    assert (updated.description, updated.status) == ("paused", WebhookStatus.DISABLED)
    assert [str(e) for e in updated.events] == ["model_version_alias.deleted"]
    native = LockgateClient(mlflow_server).get_webhook(hook.webhook_id)
    assert native.events == ["alias.deleted"] and native.secret_source == "encrypted"

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
