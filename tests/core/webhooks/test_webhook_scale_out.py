"""Two ``lockgate server`` processes on one PostgreSQL database: every event reaches every
subscribed webhook exactly once (the per-webhook lease decides which process sends it)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lockgate import LockgateClient
from webhook_receiver import Receiver

EVENTS = 25
HOOKS = 4


def test_two_servers_deliver_each_event_exactly_once(start_process_server: Callable[..., str], postgres_uri: str,
                                                     hook_receiver: Receiver) -> None:
    with ThreadPoolExecutor(2) as pool:  # both start at once: a cold start is most of this test's time
        first, second = pool.map(lambda _: start_process_server("--backend-store-uri", postgres_uri,
                                                                "--no-access-log"), range(2))
    a, b = LockgateClient(first, user="alice"), LockgateClient(second, user="bob")
    a.create_registered_model("churn")
    a.create_model_version("churn", source="s3://b/1")
    hooks = [(a if i % 2 else b).create_webhook(f"{hook_receiver.url}/{i}", events="model_version.tag_set",
                                                model_name="churn", secret_env="HOOK_SECRET")
             for i in range(HOOKS)]
    for i in range(EVENTS):
        (a if i % 2 else b).set_model_version_tag("churn", 1, "step", str(i))

    arrived = hook_receiver.wait_for(EVENTS * HOOKS, timeout=60)
    time.sleep(1.5)  # a duplicate would arrive now
    assert len(hook_receiver.deliveries) == EVENTS * HOOKS
    per_hook = Counter(d.path for d in arrived)
    assert per_hook == {f"/hook/{i}": EVENTS for i in range(HOOKS)}
    assert len({d.headers["X-Lockgate-Delivery"] for d in arrived}) == EVENTS * HOOKS
    for i in range(HOOKS):
        values = [json.loads(d.body)["details"]["value"] for d in arrived if d.path == f"/hook/{i}"]
        assert values == [str(n) for n in range(EVENTS)]  # in event order, per webhook
    for hook in hooks:
        log = a.list_webhook_deliveries(hook.webhook_id)
        assert len(log) == EVENTS and {x.outcome for x in log} == {"SUCCEEDED"}
