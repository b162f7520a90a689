"""No request can make the server run code through a custom gate rule (issue 12, finding 1).

Reproduces the attacks against a live server: a rule naming ``this:s`` (imports a module
that prints), ``builtins:vars`` (returned the gate's internal context in the verdict), and a
``pwn.py`` uploaded through the artifact proxy into a folder on the server's import path.
Each is refused when the policy is set, and a policy stored before the fix fails closed
without importing anything. Only rules the operator installed run, and their verdicts never
carry the context, an exception's text or a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lockgate.registry import GateContext
from lockgate.registry.rule_catalog import register_gate_rule, unregister_gate_rule
from registry_security_support import NATIVE, call, live_server
from sqlalchemy import create_engine, insert, select, text

__all__ = ["live_server"]

PWN = """
import pathlib
pathlib.Path({marker!r}).write_text("owned")

def run(ctx, **params):
    pathlib.Path({marker!r}).write_text("owned at evaluation")
    return True
"""


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_uri"))


@pytest.fixture
def served(live_server: Callable[..., str], backend: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A server whose artifacts folder is on its import path (as when it sits in the server's
    working directory), with model ``m`` version 1 ready to promote."""
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    monkeypatch.syspath_prepend(str(artifacts))
    url = live_server(backend_store_uri=backend, artifacts_destination=str(artifacts))
    assert call("POST", f"{url}{NATIVE}/registered-models", json={"name": "m"}).status_code == 200
    made = call("POST", f"{url}{NATIVE}/registered-models/m/versions", json={"source": "s3://bucket/m"})
    assert made.status_code == 200, made.text
    return {"url": url, "uri": backend, "artifacts": artifacts}


def _set_rule(url: str, rule: dict[str, Any]) -> httpx.Response:
    return call("PUT", f"{url}{NATIVE}/registered-models/m/gates",
                json={"alias": "champion", "policy": {"rules": [{"type": "custom", **rule}]}})


def _promote(url: str) -> httpx.Response:
    return call("POST", f"{url}{NATIVE}/registered-models/m/promote", json={"version": 1, "alias": "champion"})


@pytest.mark.parametrize("rule", [
    {"rule": "this:s"}, {"path": "this:s"}, {"rule": "this"},
])
def test_rule_naming_a_module_that_prints_is_refused(served: dict[str, Any], rule: dict[str, Any],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    sys.modules.pop("this", None)
    response = _set_rule(served["url"], rule)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "that are not installed; installed rules: none" in body["message"]
    assert "never by import path" in body["message"]
    assert "this" not in sys.modules
    assert "Beautiful is better than ugly" not in capsys.readouterr().out
    assert call("GET", f"{served['url']}{NATIVE}/registered-models/m/gates").json() == []


@pytest.mark.parametrize("rule", [{"rule": "builtins:vars"}, {"path": "builtins:vars"},
                                  {"rule": "builtins.vars"}, {"rule": "os:system", "params": {"command": "id"}}])
def test_rule_naming_a_builtin_is_refused(served: dict[str, Any], rule: dict[str, Any]) -> None:
    response = _set_rule(served["url"], rule)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "not installed" in response.json()["message"]
    promoted = _promote(served["url"])
    assert promoted.status_code == 200 and promoted.json()["changed"] is True  # no gate was stored


def test_uploaded_module_named_in_a_rule_never_runs(served: dict[str, Any], tmp_path: Path) -> None:
    marker = tmp_path / "owned.txt"
    upload = call("PUT", f"{served['url']}/api/2.0/mlflow-artifacts/artifacts/pwn.py",
                  content=PWN.format(marker=str(marker)).encode())
    assert upload.status_code == 200, upload.text
    assert (served["artifacts"] / "pwn.py").is_file()  # the attacker's file is where it was aimed
    for rule in ({"rule": "pwn:run"}, {"path": "pwn:run"}, {"rule": "pwn"}):
        response = _set_rule(served["url"], rule)
        assert response.status_code == 400, response.text
        assert "'pwn" in response.json()["message"]
    assert "pwn" not in sys.modules
    assert not marker.exists()


def test_policy_stored_before_the_fix_fails_closed(served: dict[str, Any], tmp_path: Path) -> None:
    """A document written by an older release (custom rule by import path) still loads, but
    names no installed rule: the gate refuses, nothing is imported, the alias stays unset."""
    marker = tmp_path / "owned.txt"
    (served["artifacts"] / "pwn_legacy.py").write_text(PWN.format(marker=str(marker)))
    engine = create_engine(served["uri"])
    try:
        from lockgate.store.sql.registry_tables import GatePolicyTable, RegisteredModelTable

        gp: Any = GatePolicyTable
        rm: Any = RegisteredModelTable
        with engine.begin() as conn:
            model_id = conn.execute(select(rm.c.id).where(rm.c.name == "m")).scalar_one()
            conn.execute(insert(gp).values(
                model_id=model_id, target_kind="alias", target="champion", policy_version=1,
                policy=json.dumps({"rules": [{"type": "custom", "path": "pwn_legacy:run"}]}),
                created_by="old-release", created_at=1))
    finally:
        engine.dispose()
    response = _promote(served["url"])
    assert response.status_code == 412, response.text
    body = response.json()
    assert body["error_code"] == "GATE_FAILED"
    (verdict,) = body["details"]["decision"]["results"]
    assert verdict["passed"] is False
    assert verdict["message"] == "'pwn_legacy:run' is not an installed gate rule (installed: none)"
    assert "pwn_legacy" not in sys.modules and not marker.exists()
    alias = call("GET", f"{served['url']}{NATIVE}/registered-models/m/aliases/champion")
    assert alias.status_code == 404


@pytest.fixture
def leaky_rules() -> Iterator[None]:
    """Installed rules that misbehave: return the context, raise with secrets in the message."""

    def context_dump(ctx: GateContext) -> Any:
        return vars(ctx) if hasattr(ctx, "__dict__") else {"candidate": ctx.candidate}

    def secret_raise(ctx: GateContext) -> bool:
        raise RuntimeError("db password is hunter2")

    register_gate_rule("context_dump", context_dump)
    register_gate_rule("secret_raise", secret_raise)
    yield
    unregister_gate_rule("context_dump")
    unregister_gate_rule("secret_raise")


def test_installed_rules_run_and_verdicts_expose_no_internals(served: dict[str, Any], leaky_rules: None) -> None:
    response = call("PUT", f"{served['url']}{NATIVE}/registered-models/m/gates", json={
        "alias": "champion", "policy": {"rules": [{"type": "custom", "rule": "context_dump"},
                                                  {"type": "custom", "rule": "secret_raise"}]}})
    assert response.status_code == 200, response.text
    refused = _promote(served["url"])
    assert refused.status_code == 412, refused.text
    results = refused.json()["details"]["decision"]["results"]
    assert [(r["rule"], r["passed"], r["observed"]) for r in results] == [
        ("custom context_dump", False, None), ("custom secret_raise", False, None)]
    assert results[0]["message"] == (
        "rule 'context_dump' returned dict; expected RuleResult, bool or (bool, message)")
    assert results[1]["message"] == "rule 'secret_raise' raised RuntimeError"
    assert "hunter2" not in refused.text and "GateContext" not in refused.text
    assert "Traceback" not in refused.text


def test_unknown_rule_type_shape_is_refused_with_the_installed_list(served: dict[str, Any],
                                                                   leaky_rules: None) -> None:
    response = _set_rule(served["url"], {"rule": "nope"})
    assert response.status_code == 400
    assert response.json()["details"] == {"not_installed": ["nope"],
                                          "installed": ["context_dump", "secret_raise"]}
    with create_engine(served["uri"]).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM gate_policies")).scalar_one() == 0
