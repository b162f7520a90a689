"""The issue's bad input: invalid URLs and schemes, private targets, a secret left out, an
unreachable receiver, one that answers after 30 s, one that redirects, and deleting a webhook
while its deliveries are pending. Each is a clear error or a logged failed attempt."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from live_server import free_port
from lockgate import LockgateClient
from lockgate.errors import InvalidArgument, NotFound
from webhook_receiver import Receiver, receiver


@pytest.fixture
def client(start_server: Callable[..., str], sqlite_uri: str) -> LockgateClient:
    c = LockgateClient(start_server(backend_store_uri=sqlite_uri), user="alice")
    c.create_registered_model("churn")
    return c


def _log(client: LockgateClient, webhook_id: str, count: int, *, timeout: float = 20.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempts = client.list_webhook_deliveries(webhook_id)
        if len(attempts) >= count:
            return list(reversed(attempts))
        time.sleep(0.05)
    pytest.fail(f"expected {count} attempts within {timeout} s")


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://hooks.example/x", "scheme must be http or https, not 'ftp'"),
    ("not a url", "scheme must be http or https, not 'missing'"),
    ("http://", "it names no host"),
    ("https://user:pw@hooks.example/x", "credentials in the URL are not allowed"),
    ("http://hooks.example:99999/x", "Invalid webhook URL"),
    ("", "A webhook needs a URL"),
])
def test_invalid_urls_are_refused(sqlite_uri: str, url: str, message: str) -> None:
    client = LockgateClient(sqlite_uri, user="alice")  # the service checks; every surface calls it
    client.create_registered_model("churn", exist_ok=True)
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        client.create_webhook(url, events="model_version.created", model_name="churn", secret_env="HOOK_SECRET")
    assert client.list_webhooks() == []


def test_private_targets_need_the_operator_allow_list(start_server: Callable[..., str], sqlite_uri: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCKGATE_WEBHOOK_ALLOWED_TARGETS")
    client = LockgateClient(start_server(backend_store_uri=sqlite_uri), user="alice")
    client.create_registered_model("churn")
    for url in ("http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                "http://[::1]/x"):
        with pytest.raises(InvalidArgument, match="LOCKGATE_WEBHOOK_ALLOWED_TARGETS"):
            client.create_webhook(url, events="alias.set", model_name="churn", secret_env="HOOK_SECRET")


def test_a_secret_left_out_is_refused(client: LockgateClient, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidArgument, match="needs a secret"):
        client.create_webhook("http://127.0.0.1:9/x", events="alias.set", model_name="churn")
    with pytest.raises(InvalidArgument, match="NOT_SET_ANYWHERE is not set"):
        client.create_webhook("http://127.0.0.1:9/x", events="alias.set", model_name="churn",
                              secret_env="NOT_SET_ANYWHERE")
    with pytest.raises(InvalidArgument, match="LOCKGATE_WEBHOOK_ENCRYPTION_KEY"):
        client.create_webhook("http://127.0.0.1:9/x", events="alias.set", model_name="churn", secret="literal")
    with pytest.raises(InvalidArgument, match="Unknown event type"):
        client.create_webhook("http://127.0.0.1:9/x", events="alias.renamed", model_name="churn",
                              secret_env="HOOK_SECRET")
    with pytest.raises(NotFound, match="nope"):
        client.create_webhook("http://127.0.0.1:9/x", events="alias.set", model_name="nope",
                              secret_env="HOOK_SECRET")
    assert client.list_webhooks() == []


def test_an_unreachable_receiver_is_a_logged_failure(client: LockgateClient) -> None:
    hook = client.create_webhook(f"http://127.0.0.1:{free_port()}/x", events="model_version.created",
                                 model_name="churn", secret_env="HOOK_SECRET")
    result = client.test_webhook(hook.webhook_id)
    assert not result.success and result.status_code is None
    assert result.error is not None and "ConnectError" in result.error
    client.create_model_version("churn", source="s3://b/1")
    first_event = _log(client, hook.webhook_id, 2)[1]
    assert (first_event.event_type, first_event.outcome) == ("model_version.created", "RETRYING")
    assert first_event.error is not None and "ConnectError" in first_event.error


def test_a_receiver_answering_after_30_seconds_times_out(client: LockgateClient, hook_receiver: Receiver) -> None:
    hook_receiver.delays = [30.0, 0.0]
    hook = client.create_webhook(hook_receiver.url, events="model_version.created", model_name="churn",
                                 secret_env="HOOK_SECRET")
    started = time.monotonic()
    client.create_model_version("churn", source="s3://b/1")
    first, second = _log(client, hook.webhook_id, 2)
    assert first.outcome == "RETRYING" and first.error is not None and first.error.startswith("timed out")
    assert first.latency_ms < 3000  # the configured 1 s timeout, not the receiver's 30 s
    assert second.outcome == "SUCCEEDED" and time.monotonic() - started < 15


def test_redirects_are_not_followed(client: LockgateClient, hook_receiver: Receiver) -> None:
    with receiver() as elsewhere:
        hook_receiver.redirect_to = elsewhere.url
        hook = client.create_webhook(hook_receiver.url, events="model_version.created", model_name="churn",
                                     secret_env="HOOK_SECRET")
        result = client.test_webhook(hook.webhook_id)
        assert not result.success and result.status_code == 302
        assert result.error == f"redirect to {elsewhere.url} not followed"
        client.create_model_version("churn", source="s3://b/1")
        attempt = _log(client, hook.webhook_id, 2)[1]
        assert (attempt.status_code, attempt.outcome) == (302, "RETRYING")
        assert elsewhere.deliveries == []


def test_deleting_a_webhook_with_pending_deliveries_stops_them(client: LockgateClient,
                                                               hook_receiver: Receiver) -> None:
    hook_receiver.statuses = [500]
    hook = client.create_webhook(hook_receiver.url, events="model_version.created", model_name="churn",
                                 secret_env="HOOK_SECRET")
    client.create_model_version("churn", source="s3://b/1")
    client.create_model_version("churn", source="s3://b/2")
    hook_receiver.wait_for(2)
    client.delete_webhook(hook.webhook_id)
    time.sleep(0.3)
    arrived = len(hook_receiver.deliveries)
    time.sleep(1.5)  # several backoff periods: nothing more may arrive
    assert len(hook_receiver.deliveries) == arrived
    with pytest.raises(NotFound):
        client.get_webhook(hook.webhook_id)
    with pytest.raises(NotFound):
        client.list_webhook_deliveries(hook.webhook_id)
    assert client.get_registered_model("churn").name == "churn"  # nothing else was touched
    assert len(client.search_model_versions("name = 'churn'")) == 2


def test_bad_requests_on_the_api_are_json_errors(client: LockgateClient) -> None:
    base = client.tracking_uri + "/api/v1/webhooks"
    r = httpx.post(base, json={"url": "http://127.0.0.1:9/", "events": "alias.set"})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = httpx.post(base, json={"url": "http://127.0.0.1:9/", "events": ["alias.set"], "secret_env": "HOOK_SECRET",
                               "status": "PAUSED"})
    assert r.status_code == 400 and "ACTIVE or DISABLED" in r.json()["message"]
    r = httpx.get(base + "/does-not-exist")
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
