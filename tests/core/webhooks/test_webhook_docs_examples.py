"""docs/webhooks.md: the Python example runs as written, the JSON example has exactly the
payload's fields, and every event type is documented."""

from __future__ import annotations

import json

import pytest
from lockgate import LockgateClient
from lockgate.webhooks.payload import EVENT_TYPES, ping_payload
from webhook_docs import DOC, doc_blocks


def test_python_example_runs(sqlite_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKGATE_TRACKING_URI", sqlite_uri)
    (code,) = [b for b in doc_blocks("python") if "create_webhook" in b]
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - the documented example itself
    (hook,) = LockgateClient(sqlite_uri).list_webhooks()
    assert hook.url == "https://ci.example/hooks/models" and hook.model_name == "churn"


def test_json_example_has_the_payload_fields() -> None:
    (example,) = doc_blocks("json")
    documented = json.loads(example)
    assert set(documented) == set(ping_payload(webhook_id="x", now_ms=0))
    assert documented["type"] in EVENT_TYPES


def test_every_event_type_is_documented() -> None:
    text = DOC.read_text()
    assert [t for t in EVENT_TYPES if f"| `{t}` |" not in text] == []
