"""The registry pages in a real browser (Debian chromium via Playwright) against a live server:
a gated model with a promotion, a refusal, an approval and an override, read back on the pages;
clicks that change the registry exactly as the CLI does (read back through the client); the
timeline's filters, evidence, paging and export; deep links; live updates; bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_support import BrowserPage, UiServer

# '/' is refused by the registry (models:/ URIs); the deep-link test covers it
ODD_NAMES = ["churn model v2", "модель-ü 🚀", "<script>alert(1)<img src=x onerror=alert(2)> \"q\" 'x'"]


def _slow_ok(context: Any, **params: Any) -> tuple[bool, str]:
    time.sleep(1.5)  # keeps two promotions' evaluations overlapping, so one meets the other's move
    return True, "slow check passed"


@pytest.fixture(scope="module")
def reg(start_ui_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """'churn' guarded on @champion (auc >= 0.8 and 1 approval; an older policy too):
    v1 promoted (passed), v2 refused through the client, then overridden; v3..v6 to act on."""
    from lockgate.client import LockgateClient
    from lockgate.errors import GateFailed
    from lockgate.registry import CustomRule, GatePolicy, MetricThreshold, RequireApprovals
    from lockgate.registry.rule_catalog import register_gate_rule, unregister_gate_rule

    register_gate_rule("slow_ok", _slow_ok)
    tmp = tmp_path_factory.mktemp("ui-registry")
    server: UiServer = start_ui_server(backend_store_uri=f"sqlite:///{tmp / 'reg.db'}",
                                       artifacts_destination=str(tmp / "artifacts"))
    client = LockgateClient(tracking_uri=server.url, user="alice")
    exp = client.create_experiment("registry-ui")
    client.create_registered_model("churn", description="Monthly churn classifier")
    client.set_gate_policy("churn", alias="champion", policy=GatePolicy(rules=[MetricThreshold(metric="auc", min=0.7)]))
    client.set_gate_policy("churn", alias="champion", override=True, reason="stricter", policy=GatePolicy(
        rules=[MetricThreshold(metric="auc", min=0.8), RequireApprovals(count=1)]))
    client.set_gate_policy("churn", alias="canary", policy=GatePolicy(rules=[CustomRule(rule="slow_ok")]))
    for i, auc in enumerate((0.9, 0.7, 0.85, 0.95, 0.91, 0.92), start=1):
        run = client.create_run(exp, run_name=f"train-{i}", context_tags=False).info.run_id
        client.log_metric(run, "auc", auc)
        client.log_text(run, "flavors:\n  python_function:\n    python_version: 3.11.9\n    env:\n"
                        "      virtualenv: python_env.yaml\n  sklearn: {}\nsignature:\n  inputs: '[x: double]'\n"
                        "  outputs: '[y: long]'\n", "model/MLmodel")
        client.create_model_version("churn", source=f"runs:/{run}/model", run_id=run)
    carol = LockgateClient(tracking_uri=server.url, user="carol")
    carol.approve_model_version("churn", 1, comment="reviewed")
    client.promote("churn", version=1, alias="champion", reason="first model")
    with pytest.raises(GateFailed):
        LockgateClient(tracking_uri=server.url, user="bob").promote("churn", version=2, alias="champion")
    # 'fraud': a promotion, a refusal by bob and an override by erin, for the timeline
    client.create_registered_model("fraud")
    client.set_gate_policy("fraud", alias="champion", policy=GatePolicy(rules=[MetricThreshold(metric="auc", min=0.8)]))
    for auc in (0.9, 0.6):
        run = client.create_run(exp, context_tags=False).info.run_id
        client.log_metric(run, "auc", auc)
        client.create_model_version("fraud", source=f"runs:/{run}/model", run_id=run)
    client.promote("fraud", version=1, alias="champion")
    with pytest.raises(GateFailed):
        LockgateClient(tracking_uri=server.url, user="bob").promote("fraud", version=2, alias="champion")
    httpx.post(f"{server.url}/api/v1/registered-models/fraud/promote", headers={"x-lockgate-actor": "erin"}, json={
        "version": 2, "alias": "champion", "override": True, "reason": "hotfix for incident 42"}).raise_for_status()
    for name in ODD_NAMES:
        client.create_registered_model(name, tags={"team": "odd"})
    yield {"url": server.url, "client": client}
    unregister_gate_rule("slow_ok")


def _events(reg: dict[str, Any], name: str = "churn") -> list[Any]:
    return list(reg["client"].get_events(model_name=name, limit=10_000))


def _set_actor(page: Any, name: str) -> None:
    page.get_by_label("Your name (recorded in the audit trail)").fill(name)


def _outcome(page: Any) -> str:
    box = page.get_by_test_id("action-outcome")
    box.wait_for()
    return str(box.inner_text())


def test_model_page_shows_gates_in_words_and_each_versions_verdict(reg: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(reg["url"])
    page = bp.goto("/models")
    table = page.get_by_test_id("models-table")
    row = table.locator("tbody tr", has_text="churn").first
    row.wait_for()
    row.get_by_test_id("model-gates").get_by_text("@champion").wait_for()  # the summaries' answer
    assert "@champion → v1" in row.inner_text() and "v1 to @champion by alice" in row.inner_text()
    gates = row.get_by_test_id("model-gates").inner_text()
    assert "@canary: custom slow_ok no verdict yet" in gates and "@champion: auc >= 0.8; 1 approval refused v2" in gates
    # no version is in a stage: "v6", never "v6 (None)"
    assert row.get_by_test_id("latest-versions").inner_text() == "v6"
    # every column, the last ("Updated") included, fits the 1400 px window
    edges = page.evaluate("() => [...document.querySelectorAll('[data-testid=models-table] thead th')]"
                          ".map(th => [th.textContent, th.getBoundingClientRect().right])")
    assert edges[-1][0] == "Updated" and all(right <= 1400 for _, right in edges), edges
    bp.screenshot("models")
    row.get_by_role("link", name="churn").click()
    gate = page.get_by_test_id("gate-@champion")
    gate.wait_for()
    assert gate.get_by_test_id("policy-words").inner_text() == "auc >= 0.8; 1 approval"
    assert "policy v2 by alice" in gate.inner_text()
    gate.locator("summary").click()
    assert "v1: auc >= 0.7" in gate.inner_text()
    versions = page.get_by_test_id("model-versions")
    assert versions.locator("tr[data-version='1']").get_by_test_id("verdict-@champion").inner_text() == "passed"
    assert versions.locator("tr[data-version='2']").get_by_test_id("verdict-@champion").inner_text() == "refused"
    assert versions.locator("tr[data-version='1']").inner_text().count("@champion") == 1
    bp.screenshot("model")
    bp.assert_no_js_errors()


def test_version_page_actions_change_the_registry_as_the_cli_does(reg: dict[str, Any], open_page: Any) -> None:
    client = reg["client"]
    bp: BrowserPage = open_page(reg["url"])
    page = bp.goto("/models/churn/versions/2")
    page.get_by_test_id("version-actions").wait_for()
    # the client's refusal, read back: observed value, expected bounds, message, actor
    refusal = page.get_by_test_id("evaluation").first
    assert "refused @champion by bob" in refusal.locator("summary").inner_text()
    cells = refusal.locator("tr.fail").first.locator("td").all_inner_texts()
    assert cells[:4] == ["auc >= 0.8", "failed", "0.7", '{"min":0.8}']
    assert "python_function, sklearn" in page.get_by_test_id("mlmodel-summary").inner_text()
    assert "virtualenv: python_env.yaml" in page.get_by_test_id("mlmodel-summary").inner_text()
    _set_actor(page, "dana")

    # a refused promotion from the UI records the same GATE_REJECTED evidence as the client's
    before = _events(reg)
    page.get_by_label("Target").select_option("@champion")
    page.get_by_role("button", name="Promote").click()
    assert "Gate for 'churn' @champion refused version 2" in _outcome(page)
    rejected = [e for e in _events(reg) if e.id > before[-1].id]
    assert [(e.type.value, e.actor, e.version) for e in rejected] == [("GATE_REJECTED", "dana", 2)]
    cli_refusal = next(e for e in before if e.type.value == "GATE_REJECTED")
    assert rejected[0].evidence == cli_refusal.evidence

    # override without a reason: the API's refusal is shown, nothing is recorded
    page.get_by_label("Override a failing gate").check()
    page.get_by_role("button", name="Promote").click()
    page.wait_for_function("() => document.querySelector('[data-testid=action-outcome]')?.innerText"
                           ".includes('An override needs a reason; it is kept in the audit trail')")
    assert len(_events(reg)) == len(before) + 1
    assert client.get_model_version_by_alias("churn", "champion").version == 1
    bp.screenshot("version-override-refused")

    # override with a reason: the move happens, recorded with the reason and the failing evidence
    page.get_by_label("Reason").fill("hotfix for incident 42")
    page.get_by_role("button", name="Promote").click()
    page.wait_for_function("() => document.querySelector('[data-testid=action-message]')?.innerText.includes('overridden')")
    assert client.get_model_version_by_alias("churn", "champion").version == 2
    moved = _events(reg)[-1]
    assert (moved.type.value, moved.actor, moved.override, moved.reason, moved.from_version) == (
        "ALIAS_SET", "dana", True, "hotfix for incident 42", 1)

    # approve (twice: an approval counts once per user), then promote v3 through its gate
    page = bp.goto("/models/churn/versions/3")
    page.get_by_test_id("version-actions").wait_for()
    page.get_by_test_id("dry-run-@champion").get_by_text("would be refused").wait_for()
    assert page.get_by_test_id("approvals").inner_text() == "No one has approved this version yet."
    # the source is shown whole (line breaks after '/' only), so it copies as it was registered
    assert page.get_by_test_id("version-source").inner_text() == reg["client"].get_model_version("churn", 3).source
    page.get_by_label("Approval comment").fill("ship it")
    page.get_by_role("button", name="Approve").click()
    assert "Approved by dana." in _outcome(page)
    page.get_by_test_id("approvals").get_by_text("dana").wait_for()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_function("() => document.querySelector('[data-testid=action-message]')?.innerText.includes('already approved')")
    approvals = [e for e in _events(reg) if e.type.value == "VERSION_APPROVED" and e.version == 3]
    assert [(e.actor, e.details) for e in approvals] == [("dana", {"comment": "ship it"})]
    page.get_by_test_id("dry-run-@champion").get_by_text("would pass").wait_for()
    page.get_by_label("Target").select_option("@champion")
    page.get_by_role("button", name="Check gate").click()
    page.get_by_test_id("verdicts-before").wait_for()
    page.get_by_role("button", name="Promote").click()
    page.wait_for_function("() => document.querySelector('[data-testid=action-message]')?.innerText === 'Version 3 now holds @champion.'")
    assert client.get_model_version_by_alias("churn", "champion").version == 3
    ui_move = _events(reg)[-1]
    cli_move = next(e for e in _events(reg) if e.type.value == "ALIAS_SET" and e.actor == "alice")
    assert (ui_move.type, ui_move.alias, ui_move.actor, ui_move.from_version, ui_move.override) == (
        cli_move.type, "champion", "dana", 2, False)
    assert set(ui_move.evidence or {}) == set(cli_move.evidence or {}) and (ui_move.evidence or {})["passed"] is True
    page.get_by_test_id("version-aliases").get_by_text("@champion").wait_for()
    bp.screenshot("version")

    # set another alias, remove it, archive: each a registry change read back
    page.get_by_label("Target").select_option("other")
    page.get_by_label("Alias").fill("shadow")
    page.get_by_role("button", name="Promote").click()
    page.wait_for_function("() => document.querySelector('[data-testid=action-message]')?.innerText.includes('@shadow')")
    assert client.get_model_version_by_alias("churn", "shadow").version == 3
    page.get_by_role("button", name="Remove @shadow").click()
    page.wait_for_function("() => document.querySelector('[data-testid=action-message]')?.innerText === '@shadow removed.'")
    assert "shadow" not in client.get_registered_model("churn").aliases
    page = bp.goto("/models/churn/versions/4")
    page.get_by_test_id("version-actions").wait_for()
    _set_actor(page, "dana")
    page.get_by_role("button", name="Archive").click()
    page.wait_for_function("() => document.querySelector('[data-testid=action-message]')?.innerText === 'Version 4 archived.'")
    assert client.get_model_version("churn", 4).current_stage == "Archived"
    bp.assert_no_js_errors(allow_http_errors=True)


def test_timeline_filters_expands_evidence_pages_and_exports(reg: dict[str, Any], open_page: Any) -> None:
    client = reg["client"]
    client.create_registered_model("busy")
    client.create_model_version("busy", source="s3://bucket/busy")
    for i in range(230):
        client.set_model_version_tag("busy", 1, "step", str(i))
    bp: BrowserPage = open_page(reg["url"])
    page = bp.goto("/models/fraud/history?type=ALIAS_SET%2CALIAS_DELETED%2CSTAGE_CHANGED%2CGATE_REJECTED")
    timeline = page.get_by_test_id("timeline")
    timeline.locator("tr[data-event-id]").first.wait_for()
    rows = timeline.locator("tr[data-event-id]")
    texts = rows.all_inner_texts()
    assert len(texts) == 3
    assert "override" in texts[0] and "erin" in texts[0] and "hotfix for incident 42" in texts[0]
    assert "@champion v1 → v2" in texts[0]
    assert "GATE_REJECTED" in texts[1] and "bob" in texts[1] and "ALIAS_SET" in texts[2] and "alice" in texts[2]
    refusal = rows.nth(1)
    refusal.get_by_test_id("event-evidence").locator("summary").click()
    cells = refusal.get_by_test_id("event-verdicts").locator("tbody td").all_inner_texts()
    assert cells[:4] == ["auc >= 0.8", "failed", "0.6", '{"min":0.8}']
    bp.screenshot("timeline")
    page.get_by_label("Actor").fill("bob")
    page.get_by_label("Actor").press("Tab")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=timeline] tr[data-event-id]').length === 1")
    assert "actor=bob" in page.url
    assert timeline.get_by_test_id("event-actor").all_inner_texts() == ["bob"]
    with page.expect_download() as info:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(Path(info.value.path()).read_text())
    assert [(e["type"], e["actor"]) for e in exported] == [("GATE_REJECTED", "bob")]

    page = bp.goto("/models/busy/history")
    page.get_by_test_id("timeline").locator("tr[data-event-id]").nth(99).wait_for()
    assert page.get_by_test_id("timeline").locator("tr[data-event-id]").count() == 100
    page.get_by_test_id("load-more").click()
    page.get_by_test_id("timeline").locator("tr[data-event-id]").nth(199).wait_for()
    page.get_by_test_id("load-more").click()
    total = len(_events(reg, "busy"))
    assert total > 230
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=timeline] tr[data-event-id]').length === {total}")
    assert page.get_by_test_id("load-more").count() == 0
    ids = [int(x) for x in page.locator("[data-event-id]").evaluate_all("rs => rs.map(r => r.dataset.eventId)")]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == total
    bp.assert_no_js_errors()


def test_deep_links_odd_names_and_missing_pages(reg: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(reg["url"])
    page = bp.goto("/#/models/churn/versions/1")
    page.get_by_test_id("version-title").wait_for()
    assert page.get_by_test_id("version-title").inner_text() == "churn v1" and page.url.endswith("/models/churn/versions/1")
    # a version in no stage (MLflow's "None") says so in words, never "None"
    assert reg["client"].get_model_version("churn", 1).current_stage == "None"
    assert page.get_by_test_id("version-stage").inner_text() == "no stage"
    page = bp.goto("/#/models/churn")
    page.get_by_test_id("model-name").wait_for()
    assert page.url.endswith("/models/churn")
    page.get_by_test_id("history-link").click()
    page.get_by_test_id("timeline").wait_for()
    assert page.url.endswith("/models/churn/history")

    page = bp.goto("/models")
    page.get_by_label("Search models").fill("team=odd")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=models-table] tbody tr').length === 3")
    for name in ODD_NAMES:
        page = bp.goto("/models")
        page.get_by_label("Search models").fill(name)
        page.get_by_test_id("models-table").get_by_role("link", name=name, exact=True).click()
        page.get_by_test_id("model-name").wait_for()
        assert page.get_by_test_id("model-name").inner_text() == name
    assert page.evaluate("() => document.querySelectorAll('main script').length") == 0
    bp.screenshot("model-odd-name")

    for path, text in [
        ("/models/no-such-model", 'Registered model "no-such-model" does not exist.'),
        ("/models/churn/versions/99", "Version 99 of registered model \"churn\" does not exist."),
        ("/models/churn/versions/abc", "Version abc of registered model \"churn\" does not exist."),
        ("/models/a%2Fb", "model names cannot contain '/'"),
        ("/models/a%2Fb/versions/1", "model names cannot contain '/'"),
        ("/models/no-such-model/history", 'Registered model "no-such-model" does not exist and has no history.'),
    ]:
        page = bp.goto(path)
        message = page.get_by_test_id("notfound-message")
        message.wait_for()
        assert text in message.inner_text(), (path, message.inner_text())
    bp.screenshot("version-not-found")
    # the app's own errors: none; the 404s are the API's answers
    assert bp.js_errors == []


def test_a_deleted_version_cannot_be_promoted_and_pages_update_live(reg: dict[str, Any], open_page: Any) -> None:
    client = reg["client"]
    bp: BrowserPage = open_page(reg["url"])
    page = bp.goto("/models/churn/versions/5")
    page.get_by_test_id("version-actions").wait_for()
    _set_actor(page, "dana")
    client.delete_model_version("churn", 5)
    count, holder = len(_events(reg)), client.get_model_version_by_alias("churn", "champion").version
    page.get_by_label("Target").select_option("Staging")
    page.get_by_role("button", name="Promote").click()
    assert "deleted" in _outcome(page).lower()
    assert len(_events(reg)) == count and client.get_model_version_by_alias("churn", "champion").version == holder

    page = bp.goto("/models/churn")
    aliases = page.get_by_test_id("model-aliases")
    aliases.wait_for()
    client.approve_model_version("churn", 6, comment="ok")
    client.promote("churn", version=6, alias="champion")
    started = time.monotonic()
    page.wait_for_function("() => document.querySelector('[data-testid=model-aliases]').innerText.includes('@champion → v6')",
                           timeout=8000)
    assert time.monotonic() - started < 8
    assert page.get_by_test_id("model-versions").locator("tr[data-version='6']").get_by_test_id(
        "verdict-@champion").inner_text() == "passed"
    bp.assert_no_js_errors(allow_http_errors=True)


def test_two_sessions_promoting_to_one_alias_one_wins(reg: dict[str, Any], open_page: Any) -> None:
    client = reg["client"]
    pages = []
    for version in (1, 3):
        bp: BrowserPage = open_page(reg["url"])
        page = bp.goto(f"/models/churn/versions/{version}")
        page.get_by_test_id("version-actions").wait_for()
        _set_actor(page, f"user{version}")
        page.get_by_label("Target").select_option("@canary")
        pages.append((bp, page))
    buttons = [p.get_by_role("button", name="Promote") for _, p in pages]
    # both clicks land within the first evaluation's 1.5 s, so the later commit meets a changed holder
    for b in buttons:
        b.click(no_wait_after=True)
    outcomes = sorted(_outcome(p) for _, p in pages)
    wins = [o for o in outcomes if "now holds @canary" in o]
    conflicts = [o for o in outcomes if "while version" in o and "nothing was changed" in o]
    assert len(wins) == 1 and len(conflicts) == 1, outcomes
    winner = int(wins[0].split()[1])
    assert client.get_model_version_by_alias("churn", "canary").version == winner
    assert [e.to_version for e in _events(reg) if e.alias == "canary" and e.type.value == "ALIAS_SET"] == [winner]
    loser = pages[0][0] if winner != 1 else pages[1][0]
    loser.screenshot("version-conflict")
    for bp, _ in pages:
        bp.assert_no_js_errors(allow_http_errors=True)


@pytest.fixture(scope="module")
def secured_registry(start_ui_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from lockgate.client import LockgateClient
    from lockgate.registry import GatePolicy, MetricThreshold
    from lockgate.server.auth.store import AuthStore

    tmp = tmp_path_factory.mktemp("ui-registry-auth")
    uri = f"sqlite:///{tmp / 'auth.db'}"
    client = LockgateClient(tracking_uri=uri, user="admin")
    exp = client.create_experiment("e")
    client.create_registered_model("guarded")
    client.set_gate_policy("guarded", alias="champion", policy=GatePolicy(rules=[MetricThreshold(metric="auc", min=0.5)]))
    run = client.create_run(exp, context_tags=False).info.run_id
    client.log_metric(run, "auc", 0.9)
    client.create_model_version("guarded", source=f"runs:/{run}/model", run_id=run)
    auth = AuthStore(uri)
    auth.create_user("admin", "admin-pass-123", admin=True)
    auth.create_user("reader", "reader-pass-123")
    auth.grant("reader", "registered_model", "guarded", "READ")
    server: UiServer = start_ui_server(backend_store_uri=uri, artifacts_destination=str(tmp / "art"), auth=True)
    return {"url": server.url, "client": client}


def test_a_reader_sees_no_action_buttons_and_a_crafted_promotion_gets_403(secured_registry: dict[str, Any],
                                                                        open_page: Any) -> None:
    url, client = secured_registry["url"], secured_registry["client"]
    bp: BrowserPage = open_page(url)
    page = bp.goto("/models/guarded/versions/1")
    page.get_by_label("User name").fill("reader")
    page.get_by_label("Password or API token").fill("reader-pass-123")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("version-title").wait_for()
    page.get_by_test_id("dry-run-@champion").get_by_text("would pass").wait_for()
    assert page.get_by_test_id("version-actions").count() == 0
    for name in ("Approve", "Promote", "Archive", "Check gate"):
        assert page.get_by_role("button", name=name).count() == 0
    bp.screenshot("version-reader")
    before = list(client.get_events(model_name="guarded"))
    for method, path, body in [
        ("POST", "/api/v1/registered-models/guarded/promote", {"version": 1, "alias": "champion"}),
        ("POST", "/api/v1/registered-models/guarded/promote",
         {"version": 1, "alias": "champion", "override": True, "reason": "mine"}),
        ("POST", "/api/v1/registered-models/guarded/versions/1/approve", {}),
        ("DELETE", "/api/v1/registered-models/guarded/aliases/champion", None),
    ]:
        resp = httpx.request(method, url + path, json=body, auth=("reader", "reader-pass-123"))
        assert resp.status_code == 403 and resp.json()["error_code"] == "PERMISSION_DENIED", resp.text
    assert list(client.get_events(model_name="guarded")) == before
    assert client.get_registered_model("guarded").aliases == {}
    bp.assert_no_js_errors(allow_http_errors=True)
