"""The read-only registry endpoints behind the UI's registry pages, over HTTP on SQLite and
PostgreSQL: the timeline newest first with filters and index paging, its CSV/JSON export,
gate policies in words with their history, each version's last verdict, model summaries."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

API = "/api/v1/registered-models"


@pytest.fixture
def gated(start_server: Any, store_uri: str, artifacts_dir: Path) -> dict[str, Any]:
    """A model 'churn' with a champion gate (two policy versions), a promotion, a refusal,
    an approval and an override, by two actors."""
    from lockgate.client import LockgateClient
    from lockgate.errors import GateFailed
    from lockgate.registry import GatePolicy, MetricThreshold, RequireTags

    url = start_server(backend_store_uri=store_uri, artifacts_destination=str(artifacts_dir))
    alice = LockgateClient(tracking_uri=url, user="alice")
    bob = LockgateClient(tracking_uri=url, user="bob")
    exp = alice.create_experiment("reg-views")
    alice.create_registered_model("churn")
    alice.set_gate_policy("churn", alias="champion", policy=GatePolicy(rules=[MetricThreshold(metric="auc", min=0.5)]))
    alice.set_gate_policy("churn", alias="champion", policy=GatePolicy(rules=[
        MetricThreshold(metric="auc", min=0.8), RequireTags(tags={"validation": "passed"})]), override=True,
        reason="tighter")
    versions = []
    for auc in (0.9, 0.7):
        run = alice.create_run(exp, context_tags=False).info.run_id
        alice.log_metric(run, "auc", auc)
        versions.append(alice.create_model_version("churn", source=f"runs:/{run}/model", run_id=run,
                                                   tags={"validation": "passed"}).version)
    alice.promote("churn", version=versions[0], alias="champion")
    with pytest.raises(GateFailed):
        bob.promote("churn", version=versions[1], alias="champion")
    bob.approve_model_version("churn", versions[1], comment="looks fine")
    httpx.post(f"{url}{API}/churn/promote", headers={"x-lockgate-actor": "bob"}, json={
        "version": versions[1], "alias": "champion", "override": True, "reason": "hotfix"}).raise_for_status()
    return {"url": url, "versions": versions}


def test_timeline_is_newest_first_filtered_and_paged(gated: dict[str, Any]) -> None:
    url = gated["url"]
    everything = httpx.get(f"{url}{API}/churn/timeline", params={"limit": 1000}).json()
    ids = [e["id"] for e in everything["events"]]
    assert ids == sorted(ids, reverse=True) and everything["next_before_id"] is None
    assert [e["type"] for e in everything["events"][:4]] == [
        "ALIAS_SET", "VERSION_APPROVED", "GATE_REJECTED", "ALIAS_SET"]
    top = everything["events"][0]
    assert (top["actor"], top["reason"], top["override"], top["from_version"], top["to_version"]) == (
        "bob", "hotfix", True, 1, 2)
    assert [r["passed"] for r in top["evidence"]["results"]] == [False, True]

    pages, before = [], None
    while True:
        params = {"limit": 3, **({"before_id": before} if before else {})}
        page = httpx.get(f"{url}{API}/churn/timeline", params=params).json()
        pages.append([e["id"] for e in page["events"]])
        before = page["next_before_id"]
        if before is None:
            break
    assert [i for p in pages for i in p] == ids and all(len(p) == 3 for p in pages[:-1])

    moves = httpx.get(f"{url}{API}/churn/timeline", params=[("types", "GATE_REJECTED,alias_set")]).json()
    assert [e["type"] for e in moves["events"]] == ["ALIAS_SET", "GATE_REJECTED", "ALIAS_SET"]
    by_bob = httpx.get(f"{url}{API}/churn/timeline", params={"actor": "bob", "version": 2}).json()
    assert [e["type"] for e in by_bob["events"]] == ["ALIAS_SET", "VERSION_APPROVED", "GATE_REJECTED"]
    t = top["timestamp"]
    assert httpx.get(f"{url}{API}/churn/timeline", params={"since": t + 1}).json()["events"] == []
    assert httpx.get(f"{url}{API}/churn/timeline", params={"until": t, "limit": 1}).json()["events"][0]["id"] == top["id"]

    bad = httpx.get(f"{url}{API}/churn/timeline", params={"types": "PROMOTED"})
    assert bad.status_code == 400 and "'PROMOTED'" in bad.json()["message"] and "ALIAS_SET" in bad.json()["message"]
    missing = httpx.get(f"{url}{API}/nope/timeline")
    assert missing.status_code == 404 and "'nope'" in missing.json()["message"]
    assert httpx.get(f"{url}{API}/churn/timeline", params={"limit": 0}).status_code in (400, 422)


def test_timeline_export_as_csv_and_json(gated: dict[str, Any]) -> None:
    url = gated["url"]
    listed = httpx.get(f"{url}{API}/churn/timeline", params={"limit": 1000}).json()["events"]
    as_json = httpx.get(f"{url}{API}/churn/timeline/export", params={"format": "json"})
    assert as_json.headers["content-disposition"] == 'attachment; filename="churn-history.json"'
    assert as_json.json() == listed
    as_csv = httpx.get(f"{url}{API}/churn/timeline/export", params={"types": "ALIAS_SET"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["type"], r["actor"], r["override"], r["reason"]) for r in rows] == [
        ("ALIAS_SET", "bob", "True", "hotfix"), ("ALIAS_SET", "alice", "False", "")]
    assert json.loads(rows[0]["evidence"])["results"][0]["rule"] == "auc >= 0.8"
    assert rows[0]["time"].endswith("+00:00")


def test_gate_overview_says_policies_in_words_and_last_verdicts(gated: dict[str, Any]) -> None:
    url = gated["url"]
    overview = httpx.get(f"{url}{API}/churn/gates/overview").json()
    [gate] = overview["gates"]
    assert (gate["kind"], gate["name"]) == ("alias", "champion")
    assert [(h["policy_version"], h["rules"], h["created_by"]) for h in gate["history"]] == [
        (2, ["auc >= 0.8", "tags validation=passed"], "alice"), (1, ["auc >= 0.5"], "alice")]
    assert [(v["version"], v["target"], v["verdict"], v["actor"]) for v in overview["verdicts"]] == [
        (1, "@champion", "passed", "alice"), (2, "@champion", "overridden", "bob")]
    [summary] = httpx.post(f"{url}{API}/summaries", json={"names": ["churn", "unknown"]}).json()["items"]
    last = summary["last_promotion"]
    assert (summary["name"], last["to_version"], last["override"], last["actor"]) == ("churn", 2, True, "bob")
    [guarded] = summary["gates"]
    assert (guarded["target"], guarded["rules"]) == ("@champion", ["auc >= 0.8", "tags validation=passed"])
    assert (guarded["last"]["type"], guarded["last"]["to_version"], guarded["last"]["override"]) == ("ALIAS_SET", 2, True)
    assert httpx.get(f"{url}{API}/nope/gates/overview").status_code == 404
