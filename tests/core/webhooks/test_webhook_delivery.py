"""Deliveries from a live server to a real receiver: signed as the docs say, retried after
500s and timeouts, in event order, not blocked by a slow receiver, resumed after a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from conftest import SECRET
from live_server import ThreadServer
from lockgate import LockgateClient
from lockgate.errors import GateFailed
from lockgate.server.app import create_app
from webhook_docs import documented_verifier
from webhook_receiver import Receiver, receiver

GATE = {"rules": [{"type": "require_tags", "tags": {"qa": "ok"}}]}


def _client(url: str) -> LockgateClient:
    return LockgateClient(url, user="alice", privileged=True)


def _attempts_until(client: LockgateClient, webhook_id: str, count: int, *, timeout: float = 30.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempts = client.list_webhook_deliveries(webhook_id)
        if len(attempts) >= count:
            return list(reversed(attempts))
        time.sleep(0.05)
    pytest.fail(f"expected {count} attempts in the delivery log within {timeout} s")


def test_promotions_arrive_signed_as_the_docs_verify(start_server: Callable[..., str], sqlite_uri: str,
                                                     hook_receiver: Receiver) -> None:
    client = _client(start_server(backend_store_uri=sqlite_uri))
    client.create_registered_model("churn")
    client.create_model_version("churn", source="s3://b/1", tags={"qa": "ok"})
    client.create_model_version("churn", source="s3://b/2")
    client.set_gate_policy("churn", alias="champion", policy=GATE)
    hook = client.create_webhook(hook_receiver.url, events="model_version.promoted,gate.rejected",
                                 model_name="churn", secret_env="HOOK_SECRET")
    assert hook.secret_source == "env:HOOK_SECRET" and hook.status == "ACTIVE"
    assert "secret" not in client.get_webhook(hook.webhook_id).model_dump()
    client.set_registered_model_alias("churn", "plain", 2)  # not subscribed
    client.promote("churn", version=1, alias="champion")
    with pytest.raises(GateFailed):
        client.promote("churn", version=2, alias="champion")

    promoted, rejected = hook_receiver.wait_for(2)
    verify = documented_verifier()
    for d in (promoted, rejected):
        assert verify(SECRET, d.headers, d.body)
        assert not verify("another-secret", d.headers, d.body)
        assert not verify(SECRET, d.headers, d.body + b" ")
        assert d.headers["Content-Type"] == "application/json"
    a, b = json.loads(promoted.body), json.loads(rejected.body)
    assert (a["type"], a["types"], a["version"], a["alias"], a["actor"]) == (
        "model_version.promoted", ["model_version.promoted", "alias.set"], 1, "champion", "alice")
    assert a["evidence"]["passed"] is True
    assert (b["type"], b["version"], b["evidence"]["passed"]) == ("gate.rejected", 2, False)
    assert b["evidence"]["results"][0]["passed"] is False
    assert a["event_id"] < b["event_id"]
    assert promoted.headers["X-Lockgate-Event"] == "model_version.promoted"
    assert promoted.headers["X-Lockgate-Delivery"] != rejected.headers["X-Lockgate-Delivery"]

    log = _attempts_until(client, hook.webhook_id, 2)
    assert [(x.event_id, x.event_type, x.outcome, x.status_code, x.attempt) for x in log] == [
        (a["event_id"], "model_version.promoted", "SUCCEEDED", 200, 1),
        (b["event_id"], "gate.rejected", "SUCCEEDED", 200, 1)]
    assert log[0].delivery_id == promoted.headers["X-Lockgate-Delivery"]
    assert log[0].response_snippet == "answer 200"
    time.sleep(0.3)
    assert len(hook_receiver.deliveries) == 2  # the plain alias move was not sent
    assert client.get_webhook(hook.webhook_id).cursor == b["event_id"]


def test_retries_after_500s_and_timeouts(start_server: Callable[..., str], sqlite_uri: str,
                                         hook_receiver: Receiver) -> None:
    hook_receiver.statuses = [500, 200, 200]
    hook_receiver.delays = [0.0, 2.5, 0.0]  # the second attempt outlasts the 1 s timeout
    client = _client(start_server(backend_store_uri=sqlite_uri))
    client.create_registered_model("churn")
    hook = client.create_webhook(hook_receiver.url, events=["model_version.created"], model_name="churn",
                                 secret_env="HOOK_SECRET")
    client.create_model_version("churn", source="s3://b/1")

    log = _attempts_until(client, hook.webhook_id, 3)
    assert [(x.attempt, x.outcome, x.status_code) for x in log] == [
        (1, "RETRYING", 500), (2, "RETRYING", None), (3, "SUCCEEDED", 200)]
    assert log[0].error == "receiver answered 500" and log[0].response_snippet == "answer 500"
    assert log[1].error is not None and log[1].error.startswith("timed out")
    assert 900 <= log[1].latency_ms < 2500
    arrivals = hook_receiver.wait_for(3)
    assert len({d.headers["X-Lockgate-Delivery"] for d in arrivals}) == 1  # one delivery, three attempts
    assert len({json.loads(d.body)["event_id"] for d in arrivals}) == 1


def test_events_arrive_in_order_and_a_slow_receiver_blocks_nobody(
    start_server: Callable[..., str], sqlite_uri: str, hook_receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCKGATE_WEBHOOK_TIMEOUT", "10")
    client = _client(start_server(backend_store_uri=sqlite_uri))
    client.create_registered_model("churn")
    client.create_model_version("churn", source="s3://b/1")
    with receiver() as slow:
        slow.delays = [4.0, 0.0]
        client.create_webhook(slow.url, events=["model_version.tag_set"], secret_env="HOOK_SECRET")
        client.create_webhook(hook_receiver.url, events=["model_version.tag_set"], secret_env="HOOK_SECRET")
        started = time.monotonic()
        for i in range(12):
            client.set_model_version_tag("churn", 1, "step", str(i))
        writes = time.monotonic() - started
        fast = hook_receiver.wait_for(12, timeout=3.5)
        fast_done = time.monotonic() - started
        assert len(slow.deliveries) == 0  # still waiting on its first answer
        assert writes < 3.0 and fast_done < 3.5
        assert [json.loads(d.body)["details"]["value"] for d in fast] == [str(i) for i in range(12)]
        ids = [json.loads(d.body)["event_id"] for d in fast]
        assert ids == sorted(ids) and len(set(ids)) == 12
        late = slow.wait_for(12, timeout=30)
        assert [json.loads(d.body)["event_id"] for d in late] == ids


def test_an_event_recorded_while_no_server_runs_is_delivered_after_restart(
    sqlite_uri: str, hook_receiver: Receiver,
) -> None:
    first = ThreadServer(create_app(backend_store_uri=sqlite_uri)).start()
    client = _client(first.url)
    client.create_registered_model("churn")
    hook = client.create_webhook(hook_receiver.url, events=["model_version.created", "alias.set"],
                                 model_name="churn", secret_env="HOOK_SECRET")
    first.stop()

    local = LockgateClient(sqlite_uri, user="bob")  # writes straight to the database: no server delivers
    local.create_model_version("churn", source="s3://b/1")
    local.set_registered_model_alias("churn", "champion", 1)
    time.sleep(0.5)
    assert hook_receiver.deliveries == []

    second = ThreadServer(create_app(backend_store_uri=sqlite_uri)).start()
    try:
        created, aliased = hook_receiver.wait_for(2)
        assert [json.loads(created.body)["type"], json.loads(aliased.body)["type"]] == [
            "model_version.created", "alias.set"]
        assert json.loads(aliased.body)["actor"] == "bob"
        assert _client(second.url).get_webhook(hook.webhook_id).cursor == json.loads(aliased.body)["event_id"]
    finally:
        second.stop()


def test_a_pending_delivery_survives_a_server_restart(sqlite_uri: str, hook_receiver: Receiver) -> None:
    hook_receiver.statuses = [503, 503, 503, 200]
    first = ThreadServer(create_app(backend_store_uri=sqlite_uri)).start()
    client = _client(first.url)
    client.create_registered_model("churn")
    hook = client.create_webhook(hook_receiver.url, events=["model_version.created"], model_name="churn",
                                 secret_env="HOOK_SECRET")
    client.create_model_version("churn", source="s3://b/1")
    hook_receiver.wait_for(2)  # failing, being retried
    first.stop()  # between the event and its successful delivery

    second = ThreadServer(create_app(backend_store_uri=sqlite_uri)).start()
    try:
        client = _client(second.url)
        log = _attempts_until(client, hook.webhook_id, 4)
        assert [x.outcome for x in log][-1] == "SUCCEEDED"
        assert [x.attempt for x in log] == list(range(1, len(log) + 1))  # counted on across the restart
        assert len({x.delivery_id for x in log}) == 1
        assert client.get_webhook(hook.webhook_id).cursor == log[0].event_id
    finally:
        second.stop()
