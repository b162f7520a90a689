"""Who may manage webhooks with auth on: MANAGE on the model for its webhooks, an admin for
webhooks of every model; lists show only what the caller may manage."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from lockgate.server.auth.store import AuthStore
from webhook_receiver import Receiver

V1 = "/api/v1"
ROOT, MO, ED = ("root", "root-secret-1"), ("mo", "mo-secret-123"), ("ed", "ed-secret-123")


def test_manage_on_the_model_or_admin(start_server: Callable[..., str], sqlite_uri: str,
                                      hook_receiver: Receiver) -> None:
    auth = AuthStore(sqlite_uri)
    auth.create_user(*ROOT, admin=True)
    auth.create_user(*MO)
    auth.create_user(*ED)
    url = start_server(backend_store_uri=sqlite_uri, auth=True)
    root = httpx.Client(base_url=url + V1, auth=ROOT, timeout=30)
    mo = httpx.Client(base_url=url + V1, auth=MO, timeout=30)
    ed = httpx.Client(base_url=url + V1, auth=ED, timeout=30)
    for name in ("m", "other"):
        assert root.post("/registered-models", json={"name": name}).status_code == 200
    auth.grant("mo", "registered_model", "m", "MANAGE")
    auth.grant("ed", "registered_model", "m", "EDIT")
    body = {"url": hook_receiver.url, "events": ["alias.set"], "secret_env": "HOOK_SECRET"}

    denied = ed.post("/webhooks", json={**body, "model_name": "m"})
    assert denied.status_code == 403
    assert "MANAGE is required for manage_model_webhooks" in denied.json()["message"]
    assert mo.post("/webhooks", json={**body, "model_name": "other"}).status_code == 403
    unscoped = mo.post("/webhooks", json=body)
    assert unscoped.status_code == 403 and "needs an admin" in unscoped.json()["message"]
    assert httpx.post(url + V1 + "/webhooks", json={**body, "model_name": "m"}).status_code == 401

    mine = mo.post("/webhooks", json={**body, "model_name": "m"})
    assert mine.status_code == 200, mine.text
    assert mine.json()["created_by"] == "mo" and "secret" not in mine.json()
    everything = root.post("/webhooks", json=body)
    assert everything.status_code == 200, everything.text

    assert [h["model_name"] for h in mo.get("/webhooks").json()["items"]] == ["m"]
    assert [h["model_name"] for h in root.get("/webhooks").json()["items"]] == ["m", None]
    assert ed.get("/webhooks").json()["items"] == []
    hook_id, root_id = mine.json()["webhook_id"], everything.json()["webhook_id"]
    assert ed.get(f"/webhooks/{hook_id}").status_code == 403
    assert ed.delete(f"/webhooks/{hook_id}").status_code == 403
    assert mo.get(f"/webhooks/{root_id}/deliveries").status_code == 403
    assert mo.post(f"/webhooks/{hook_id}/test").json()["success"] is True
    assert mo.get(f"/webhooks/{hook_id}/deliveries").json()[0]["event_type"] == "webhook.test"
    assert mo.delete(f"/webhooks/{hook_id}").status_code == 200
    # MLflow's webhooks have no model filter: an admin's.
    mlflow_body = {"name": "x", "url": hook_receiver.url, "secret": "s",
                   "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}
    assert mo.post(url + "/api/2.0/mlflow/webhooks", json=mlflow_body).status_code == 403
