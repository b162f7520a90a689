"""No gate bypass by removing the holder first (issue 12, finding 2), on SQLite and PostgreSQL.

The attack: delete the guarded ``champion`` alias (or move the Production holder to
Archived), then put a weaker version there, where ``beats_champion`` passed because nobody
held the target. Now removing or demoting a guarded holder, deleting the holder version,
deleting or renaming a guarded model and replacing its policy are guarded changes: refused
without an override, which needs MANAGE (auth on) and a reason, and is recorded; and an empty
target is judged against the version that held it last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from registry_security_support import API, NATIVE, PASSWORD, call, live_server, run_users_cli

__all__ = ["live_server"]

GATE = {"rules": [{"type": "beats_champion", "metric": "val_auc", "margin": 0.0}]}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_uri"))


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _guarded_model(url: str, *, user: str | None) -> None:
    """Model ``m``: v1 (val_auc 0.9) holds @champion and Production, both guarded by
    beats_champion; v2 (val_auc 0.7) is the weaker challenger."""
    exp = _ok(call("POST", f"{url}{API}/experiments/create", user=user, json={"name": "bypass"}))["experiment_id"]
    _ok(call("POST", f"{url}{API}/registered-models/create", user=user, json={"name": "m"}))
    for auc in (0.9, 0.7):
        run_id = _ok(call("POST", f"{url}{API}/runs/create", user=user,
                          json={"experiment_id": exp}))["run"]["info"]["run_id"]
        _ok(call("POST", f"{url}{API}/runs/log-metric", user=user, json={
            "run_id": run_id, "key": "val_auc", "value": auc, "timestamp": int(time.time() * 1000), "step": 0}))
        _ok(call("POST", f"{url}{API}/runs/update", user=user, json={"run_id": run_id, "status": "FINISHED"}))
        _ok(call("POST", f"{url}{API}/model-versions/create", user=user,
                 json={"name": "m", "source": f"runs:/{run_id}/model", "run_id": run_id}))
    for target in ({"alias": "champion"}, {"stage": "Production"}):
        _ok(call("PUT", f"{url}{NATIVE}/registered-models/m/gates", user=user, json={**target, "policy": GATE}))
        _ok(call("POST", f"{url}{NATIVE}/registered-models/m/promote", user=user, json={"version": 1, **target}))


def _state(url: str, user: str | None) -> tuple[int, list[int]]:
    """(version holding @champion, versions in Production)."""
    alias = _ok(call("GET", f"{url}{NATIVE}/registered-models/m/aliases/champion", user=user))["version"]
    prod = _ok(call("GET", f"{url}{NATIVE}/registered-models/m/latest-versions", user=user,
                    params={"stages": ["Production"]}))
    return alias, [v["version"] for v in prod]


def _refused(response: httpx.Response, *, mlflow: bool, what: str) -> None:
    assert response.status_code == 412, response.text
    body = response.json()
    assert body["error_code"] == ("INVALID_STATE" if mlflow else "GATE_FAILED")
    assert what in body["message"] and "needs override=True and a reason" in body["message"], body


def _events(url: str, user: str | None, types: list[str]) -> list[dict[str, Any]]:
    return _ok(call("GET", f"{url}{NATIVE}/events", user=user, params={"model_name": "m", "types": types}))


def _removal_attacks(url: str, user: str | None) -> None:
    """Every way of removing the holder first, through both APIs; each must be refused."""
    _refused(call("DELETE", f"{url}{API}/registered-models/alias", user=user, json={"name": "m", "alias": "champion"}),
             mlflow=True, what="deleting alias 'champion' of 'm' changes guarded @champion")
    _refused(call("DELETE", f"{url}{NATIVE}/registered-models/m/aliases/champion", user=user),
             mlflow=False, what="deleting alias 'champion'")
    _refused(call("POST", f"{url}{API}/model-versions/transition-stage", user=user,
                  json={"name": "m", "version": "1", "stage": "Archived", "archive_existing_versions": False}),
             mlflow=True, what="moving version 1 from Production to Archived changes guarded stage Production")
    _refused(call("POST", f"{url}{NATIVE}/registered-models/m/versions/1/stage", user=user, json={"stage": "None"}),
             mlflow=False, what="moving version 1 from Production to None")
    # The weaker version cannot take either target while the holder is there.
    weak = call("POST", f"{url}{API}/registered-models/alias", user=user,
                json={"name": "m", "alias": "champion", "version": "2"})
    assert weak.status_code == 412 and "does not beat holder v1" in weak.json()["message"], weak.text


def test_auth_on_edit_user_cannot_bypass_and_manage_override_is_recorded(
    live_server: Callable[..., str], backend: str, tmp_path: Path
) -> None:
    run_users_cli(backend, "create", "root", "--admin", "--password", PASSWORD["root"])
    run_users_cli(backend, "create", "editor", "--password", PASSWORD["editor"])
    run_users_cli(backend, "create", "manager", "--password", PASSWORD["manager"])
    url = live_server(backend_store_uri=backend, artifacts_destination=str(tmp_path / "a"), auth=True)
    _guarded_model(url, user="root")
    run_users_cli(backend, "grant", "editor", "--permission", "EDIT", "--model", "m")
    run_users_cli(backend, "grant", "manager", "--permission", "MANAGE", "--model", "m")

    _removal_attacks(url, "editor")
    # EDIT cannot override, with or without a reason.
    for params in ({"override": "true", "reason": "trust me"}, {"override": "true"}):
        denied = call("DELETE", f"{url}{NATIVE}/registered-models/m/aliases/champion", user="editor", params=params)
        assert denied.status_code == 403, denied.text
        assert denied.json()["error_code"] == "PERMISSION_DENIED"
    forced = call("POST", f"{url}{NATIVE}/registered-models/m/versions/1/stage", user="editor",
                  json={"stage": "Archived", "override": True, "reason": "trust me"})
    assert forced.status_code == 403, forced.text
    assert _state(url, "editor") == (1, [1])
    rejected = _events(url, "root", ["GATE_REJECTED"])
    assert [(e["actor"], e["details"].get("change")) for e in rejected] == [
        ("editor", "deleting alias 'champion' of 'm'"),
        ("editor", "deleting alias 'champion' of 'm'"),
        ("editor", "moving version 1 from Production to Archived"),
        ("editor", "moving version 1 from Production to None"),
        ("editor", None),  # the weaker version's refused promotion, with the gate's evidence
    ]

    # MANAGE needs a reason too, then the removal happens and is recorded.
    no_reason = call("DELETE", f"{url}{NATIVE}/registered-models/m/aliases/champion", user="manager",
                     params={"override": "true"})
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.json()["message"]
    _ok(call("DELETE", f"{url}{NATIVE}/registered-models/m/aliases/champion", user="manager",
             params={"override": "true", "reason": "v1 leaks PII, pulled"}))
    (deleted,) = _events(url, "root", ["ALIAS_DELETED"])
    assert (deleted["actor"], deleted["version"], deleted["override"], deleted["reason"]) == (
        "manager", 1, True, "v1 leaks PII, pulled")

    # With the alias empty, the weaker version is still judged against the last holder.
    weak = call("POST", f"{url}{API}/registered-models/alias", user="editor",
                json={"name": "m", "alias": "champion", "version": "2"})
    assert weak.status_code == 412, weak.text
    assert "val_auc=0.7 does not beat last holder v1 (0.9)" in weak.json()["message"]
    assert call("GET", f"{url}{NATIVE}/registered-models/m/aliases/champion", user="editor").status_code == 404


def test_auth_off_every_removal_needs_an_explicit_recorded_override(
    live_server: Callable[..., str], backend: str, tmp_path: Path
) -> None:
    url = live_server(backend_store_uri=backend, artifacts_destination=str(tmp_path / "a"))
    _guarded_model(url, user=None)
    _removal_attacks(url, None)
    _refused(call("DELETE", f"{url}{API}/model-versions/delete", json={"name": "m", "version": "1"}),
             mlflow=True, what="deleting version 1 of 'm' changes guarded @champion, stage Production")
    _refused(call("DELETE", f"{url}{NATIVE}/registered-models/m/versions/1"), mlflow=False,
             what="deleting version 1 of 'm'")
    _refused(call("DELETE", f"{url}{API}/registered-models/delete", json={"name": "m"}), mlflow=True,
             what="deleting model 'm' changes guarded @champion, stage Production")
    _refused(call("DELETE", f"{url}{NATIVE}/registered-models/m"), mlflow=False, what="deleting model 'm'")
    _refused(call("POST", f"{url}{API}/registered-models/rename", json={"name": "m", "new_name": "m-old"}),
             mlflow=True, what="renaming 'm' to 'm-old'")
    _refused(call("PATCH", f"{url}{NATIVE}/registered-models/m", json={"new_name": "m-old"}), mlflow=False,
             what="renaming 'm' to 'm-old'")
    _refused(call("PUT", f"{url}{NATIVE}/registered-models/m/gates",
                  json={"alias": "champion", "policy": {"rules": []}}),
             mlflow=False, what="replacing the gate policy of 'm' @champion")
    no_reason = call("POST", f"{url}{NATIVE}/registered-models/m/versions/1/stage",
                     json={"stage": "Archived", "override": True, "reason": "  "})
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.json()["message"]
    assert _state(url, None) == (1, [1])
    policies = _ok(call("GET", f"{url}{NATIVE}/registered-models/m/gates"))
    assert [(p["target"]["name"], p["policy_version"]) for p in policies] == [("champion", 1), ("Production", 1)]

    # An explicit override with a reason goes through, and the trail says so.
    _ok(call("POST", f"{url}{NATIVE}/registered-models/m/versions/1/stage",
             json={"stage": "Archived", "override": True, "reason": "rollback drill"}))
    weak = call("POST", f"{url}{API}/model-versions/transition-stage",
                json={"name": "m", "version": "2", "stage": "Production", "archive_existing_versions": False})
    assert weak.status_code == 412 and "does not beat last holder v1" in weak.json()["message"], weak.text
    _ok(call("DELETE", f"{url}{NATIVE}/registered-models/m", params={"override": "true", "reason": "retired"}))
    moved = [e for e in _events(url, None, ["STAGE_CHANGED"]) if e["stage"] == "Archived"]
    assert [(e["version"], e["override"], e["reason"]) for e in moved] == [(1, True, "rollback drill")]
    (gone,) = _events(url, None, ["MODEL_DELETED"])
    assert (gone["override"], gone["reason"], gone["details"]["guarded"]) == (
        True, "retired", ["@champion", "stage Production"])
