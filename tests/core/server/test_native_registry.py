"""The native registry API: gated promotion with every verdict in a refusal, overrides that
need MANAGE, promotion history and the event feed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from lockgate.server.auth.store import AuthStore

V1 = "/api/v1"


def _ok(response: httpx.Response) -> object:
    assert response.status_code == 200, response.text
    return response.json()


def test_gated_promotion_history_and_events(server_url: str) -> None:
    http = httpx.Client(base_url=server_url, timeout=60)
    exp = _ok(http.post(f"{V1}/experiments", json={"name": "reg"}))["experiment_id"]  # type: ignore[index]
    good = _ok(http.post(f"{V1}/runs", json={"experiment_id": exp}))["info"]["run_id"]  # type: ignore[index]
    bad = _ok(http.post(f"{V1}/runs", json={"experiment_id": exp}))["info"]["run_id"]  # type: ignore[index]
    for run, auc in ((good, 0.93), (bad, 0.61)):
        _ok(http.post(f"{V1}/runs/{run}/batch", json={"metrics": [{"key": "auc", "value": auc, "timestamp": 1}]}))
    _ok(http.post(f"{V1}/registered-models", json={"name": "churn", "tags": {"team": "risk"}}))
    for run in (good, bad):
        _ok(http.post(f"{V1}/registered-models/churn/versions", json={"source": f"runs:/{run}/model", "run_id": run}))
    policy = {"rules": [{"type": "metric_threshold", "metric": "auc", "min": 0.9}]}
    record = _ok(http.put(f"{V1}/registered-models/churn/gates", json={"alias": "champion", "policy": policy}))
    assert record["target"] == {"kind": "alias", "name": "champion"}  # type: ignore[index]

    refused = http.post(f"{V1}/registered-models/churn/promote", json={"version": 2, "alias": "champion"})
    assert refused.status_code == 412
    body = refused.json()
    assert body["error_code"] == "GATE_FAILED" and "auc" in body["message"]
    assert [r["passed"] for r in body["details"]["results"]] == [False]
    unset = http.get(f"{V1}/registered-models/churn/aliases/champion")
    assert unset.status_code == 404 and unset.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", unset.text

    decision = _ok(http.post(f"{V1}/registered-models/churn/promote", json={"version": 1, "alias": "champion"}))
    assert decision["passed"] and decision["changed"]  # type: ignore[index]
    assert _ok(http.get(f"{V1}/registered-models/churn/aliases/champion"))["version"] == 1  # type: ignore[index]
    forced = _ok(http.post(f"{V1}/registered-models/churn/promote",
                           json={"version": 2, "alias": "champion", "override": True, "reason": "hotfix"}))
    assert forced["overridden"]  # type: ignore[index]
    history = _ok(http.get(f"{V1}/registered-models/churn/history", params={"alias": "champion"}))
    assert [e["to_version"] for e in history][-2:] == [1, 2]  # type: ignore[union-attr]
    events = _ok(http.get(f"{V1}/events", params={"model_name": "churn"}))
    assert [(e["type"], e["version"], e["alias"], e["override"]) for e in events] == [  # type: ignore[index, union-attr]
        ("MODEL_CREATED", None, None, False),
        ("VERSION_CREATED", 1, None, False),
        ("VERSION_CREATED", 2, None, False),
        ("GATE_POLICY_SET", None, "champion", False),
        ("GATE_REJECTED", 2, "champion", False),
        ("ALIAS_SET", 1, "champion", False),
        ("ALIAS_SET", 2, "champion", True),
    ]
    assert events == sorted(events, key=lambda e: e["id"])  # type: ignore[arg-type, index]
    evaluation = _ok(http.post(f"{V1}/registered-models/churn/gates/evaluate", json={"version": 2, "alias": "champion"}))
    assert evaluation["passed"] is False  # type: ignore[index]


def test_override_needs_manage(
    start_server: Callable[..., str], sqlite_uri: str, artifacts_dir: Path
) -> None:
    auth = AuthStore(sqlite_uri)
    auth.create_user("root", "root-secret-1", admin=True)
    auth.create_user("ed", "ed-secret-123")
    url = start_server(backend_store_uri=sqlite_uri, artifacts_destination=str(artifacts_dir), auth=True)
    root = httpx.Client(base_url=url, auth=("root", "root-secret-1"), timeout=60)
    ed = httpx.Client(base_url=url, auth=("ed", "ed-secret-123"), timeout=60)
    _ok(root.post(f"{V1}/registered-models", json={"name": "m"}))
    _ok(root.post(f"{V1}/registered-models/m/versions", json={"source": "s3://b/m"}))
    _ok(root.put(f"{V1}/registered-models/m/gates",
                 json={"stage": "Production", "policy": {"rules": [{"type": "require_tags", "tags": {"qa": "ok"}}]}}))
    auth.grant("ed", "registered_model", "m", "EDIT")
    denied = ed.post(f"{V1}/registered-models/m/promote",
                     json={"version": 1, "stage": "Production", "override": True, "reason": "trust me"})
    assert denied.status_code == 403 and "needs a privileged caller" in denied.json()["message"]
    refused = ed.post(f"{V1}/registered-models/m/promote", json={"version": 1, "stage": "Production"})
    assert refused.status_code == 412
    auth.grant("ed", "registered_model", "m", "MANAGE")
    forced = _ok(ed.post(f"{V1}/registered-models/m/promote",
                         json={"version": 1, "stage": "Production", "override": True, "reason": "trust me"}))
    assert forced["overridden"]  # type: ignore[index]
    assert ed.get(f"{V1}/events").status_code == 403  # the unfiltered feed is for admins
