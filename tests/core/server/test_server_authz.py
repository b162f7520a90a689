"""The one authorization layer: the permission table covers every operation, an EDIT-only user
can neither override a gate nor take a guarded alias or stage from its holder (on both APIs),
and whoami tells a UI what the caller may do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lockgate.server.auth.policy import REQUIREMENTS, Operation, Scope
from lockgate.server.auth.store import AuthStore, Permission

V1 = "/api/v1"
API = "/api/2.0/mlflow"
ROOT, ED = ("root", "root-secret-1"), ("ed", "ed-secret-123")
GATE = {"rules": [{"type": "require_tags", "tags": {"qa": "ok"}}]}


def _ok(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _denied(response: httpx.Response, needed: str) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert f"{needed} is required" in body["message"], body["message"]


def test_every_operation_has_exactly_one_requirement() -> None:
    assert set(REQUIREMENTS) == set(Operation)
    for op, req in REQUIREMENTS.items():
        needs_permission = req.scope not in (Scope.ANY_USER, Scope.ADMIN)
        assert (req.permission is not None) == needs_permission, op
    assert REQUIREMENTS[Operation.OVERRIDE_GATE].permission is Permission.MANAGE
    assert REQUIREMENTS[Operation.MOVE_ALIAS_OR_STAGE].permission is Permission.EDIT


@pytest.fixture
def guarded(start_server: Callable[..., str], sqlite_uri: str, artifacts_dir: Path) -> tuple[str, AuthStore]:
    """Model ``m`` (versions 1, 2, both tagged qa=ok): ``@champion`` (held by 1) and stage
    Production (held by 1) are gated; ``@candidate`` (held by 2) is not. ed has EDIT on m."""
    auth = AuthStore(sqlite_uri)
    auth.create_user(*ROOT, admin=True)
    auth.create_user(*ED)
    url = start_server(backend_store_uri=sqlite_uri, artifacts_destination=str(artifacts_dir), auth=True)
    root = httpx.Client(base_url=url, auth=ROOT, timeout=60)
    _ok(root.post(f"{V1}/registered-models", json={"name": "m"}))
    for n in (1, 2):
        _ok(root.post(f"{V1}/registered-models/m/versions", json={"source": f"s3://b/m{n}", "tags": {"qa": "ok"}}))
    _ok(root.put(f"{V1}/registered-models/m/gates", json={"alias": "champion", "policy": GATE}))
    _ok(root.put(f"{V1}/registered-models/m/gates", json={"stage": "Production", "policy": GATE}))
    _ok(root.post(f"{V1}/registered-models/m/promote", json={"version": 1, "alias": "champion"}))
    _ok(root.post(f"{V1}/registered-models/m/promote", json={"version": 1, "stage": "Production"}))
    _ok(root.put(f"{V1}/registered-models/m/aliases/candidate", json={"version": 2}))
    auth.grant("ed", "registered_model", "m", "EDIT")
    return url, auth


def test_edit_only_user_cannot_override_or_remove_a_guarded_holder(guarded: tuple[str, AuthStore]) -> None:
    url, _ = guarded
    ed = httpx.Client(base_url=url, auth=ED, timeout=60)
    # Overrides, on every route that takes one: the registry refuses an unprivileged caller.
    for response in (
        ed.post(f"{V1}/registered-models/m/promote",
                json={"version": 2, "alias": "champion", "override": True, "reason": "trust me"}),
        ed.post(f"{V1}/registered-models/m/versions/2/stage",
                json={"stage": "Production", "override": True, "reason": "trust me"}),
        ed.delete(f"{V1}/registered-models/m/aliases/champion", params={"override": True, "reason": "x"}),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error_code"] == "PERMISSION_DENIED"
        assert "needs a privileged caller" in response.json()["message"]
    # Removing the holder of a guarded alias, or demoting the holder of a guarded stage, on both
    # APIs and through promote: a guarded move, refused (and recorded) without an override.
    for response, mlflow in (
        (ed.delete(f"{V1}/registered-models/m/aliases/champion"), False),
        (ed.request("DELETE", f"{API}/registered-models/alias", json={"name": "m", "alias": "champion"}), True),
        (ed.post(f"{V1}/registered-models/m/versions/1/stage", json={"stage": "Archived"}), False),
        (ed.post(f"{API}/model-versions/transition-stage",
                 json={"name": "m", "version": "1", "stage": "Archived"}), True),
        (ed.post(f"{V1}/registered-models/m/promote", json={"version": 1, "stage": "Staging"}), False),
    ):
        assert response.status_code == 412, response.text
        assert response.json()["error_code"] == ("INVALID_STATE" if mlflow else "GATE_FAILED"), response.text
    # Nothing moved.
    assert _ok(ed.get(f"{V1}/registered-models/m/aliases/champion"))["version"] == 1
    assert _ok(ed.get(f"{V1}/registered-models/m/versions/1"))["current_stage"] == "Production"
    # EDIT still covers what is not guarded: an ungated alias, a version outside the gated stage.
    _ok(ed.delete(f"{V1}/registered-models/m/aliases/candidate"))
    assert _ok(ed.post(f"{V1}/registered-models/m/versions/2/stage", json={"stage": "Staging"}))["current_stage"] \
        == "Staging"
    # and a move into a gated target goes through its gate (the version passes it).
    moved = _ok(ed.post(f"{API}/registered-models/alias", json={"name": "m", "alias": "champion", "version": "2"}))
    assert moved == {}
    assert _ok(ed.get(f"{V1}/registered-models/m/aliases/champion"))["version"] == 2


def test_whoami_lists_what_the_caller_may_do(guarded: tuple[str, AuthStore]) -> None:
    url, auth = guarded
    root = httpx.Client(base_url=url, auth=ROOT, timeout=60)
    ed = httpx.Client(base_url=url, auth=ED, timeout=60)
    exp = str(_ok(root.post(f"{V1}/experiments", json={"name": "e"}))["experiment_id"])
    auth.grant("ed", "experiment", exp, "READ")

    me = _ok(ed.get(f"{V1}/auth/whoami", params={"experiment_id": exp, "registered_model": "m"}))
    assert (me["auth"], me["user"], me["is_admin"]) == (True, "ed", False)
    experiment = me["experiment"]
    assert isinstance(experiment, dict)
    assert experiment["permission"] == "READ"
    assert set(experiment["operations"]) == {
        "get_experiment", "search_runs", "search_logged_models", "get_run", "get_metric_history",
        "get_logged_model", "read_artifacts",
    }
    model = me["registered_model"]
    assert isinstance(model, dict)
    assert (model["permission"], model["privileged"]) == ("EDIT", False)
    assert "move_alias_or_stage" in model["operations"]
    assert "override_gate" not in model["operations"] and "delete_registered_model" not in model["operations"]

    nothing = _ok(ed.get(f"{V1}/auth/whoami", params={"registered_model": "someone-elses"}))["registered_model"]
    assert nothing == {"id": "someone-elses", "permission": None, "privileged": False, "operations": []}

    admin = _ok(root.get(f"{V1}/auth/whoami", params={"registered_model": "m"}))
    assert admin["is_admin"] is True
    assert admin["registered_model"]["privileged"] is True  # type: ignore[index]
    assert set(admin["registered_model"]["operations"]) == {  # type: ignore[index]
        op.value for op, req in REQUIREMENTS.items() if req.scope is Scope.REGISTERED_MODEL
    }
    assert httpx.get(f"{url}{V1}/auth/whoami").status_code == 401


def test_auth_off_every_caller_is_privileged(server_url: str) -> None:
    me = _ok(httpx.get(f"{server_url}{V1}/auth/whoami", params={"registered_model": "any"},
                       headers={"X-Lockgate-Actor": "ci-bot"}))
    assert (me["auth"], me["user"], me["is_admin"]) == (False, "ci-bot", True)
    model = me["registered_model"]
    assert isinstance(model, dict)
    assert (model["permission"], model["privileged"]) == ("MANAGE", True)
    assert "override_gate" in model["operations"]


def test_the_documented_permission_table_is_the_one_in_force() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "security.md").read_text()
    rows = [line.split("|")[1:4] for line in doc.splitlines() if line.startswith("| `")]
    documented = {name.strip(" `"): (scope.strip(), needs.strip()) for name, scope, needs in rows
                  if name.strip(" `") in {op.value for op in Operation}}
    assert documented == {
        op.value: (req.scope.value, req.permission.value if req.permission else "-")
        for op, req in REQUIREMENTS.items()
    }


def test_every_route_asks_the_authorizer(sqlite_uri: str, artifacts_dir: Path) -> None:
    """A route without the AuthzDep dependency would decide nothing: only the public ones may."""
    from fastapi.routing import APIRoute
    from lockgate.server.app import create_app
    from lockgate.server.auth.middleware import PUBLIC_PATHS
    from lockgate.server.deps import get_authorizer

    def depends_on_authorizer(dependant: object) -> bool:
        deps = getattr(dependant, "dependencies", [])
        return any(d.call is get_authorizer or depends_on_authorizer(d) for d in deps)

    def api_routes(routes: list[object]) -> list[APIRoute]:
        found: list[APIRoute] = []
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            included = getattr(route, "original_router", None)  # FastAPI >= 0.140 keeps routers
            if included is not None:
                found += api_routes(list(included.routes))
        return found

    app = create_app(backend_store_uri=sqlite_uri, artifacts_destination=str(artifacts_dir), auth=True)
    routes = api_routes(list(app.routes))
    assert len(routes) > 100  # the native API, the MLflow API, logged models, the proxy
    unguarded = {r.path for r in routes if not depends_on_authorizer(r.dependant)}
    # The UI shell ("/" and its deep-link fallback) holds no data: the pages fetch everything
    # through the API routes above, which all ask the authorizer.
    UI_SHELL = {"/", "/{full_path:path}"}
    # MLflow 3's server-info is public on MLflow too (the client probes it before logging in).
    assert unguarded == {"/health", "/version", "/api/v1/server-info", "/api/3.0/mlflow/server-info",
                         "/ajax-api/3.0/mlflow/server-info", *UI_SHELL}
    assert {p for p in unguarded if p not in UI_SHELL} <= PUBLIC_PATHS  # the shell is public too
