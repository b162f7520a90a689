"""Gated promotion on SQLite and PostgreSQL: policies, verdicts, overrides, approvals, history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import registry_rules
from lockgate.errors import GateFailed, InvalidArgument, NotFound, PermissionDenied
from lockgate.registry import (
    BeatsChampion,
    CustomRule,
    EventType,
    GatePolicy,
    MetricThreshold,
    RequireApprovals,
    RequireLineage,
    RequireTags,
)
from lockgate.registry.rule_catalog import (
    installed_gate_rules,
    register_gate_rule,
    unregister_gate_rule,
)
from registry_support import MakeRun, RegistryClient

CHAMPION_POLICY = GatePolicy(rules=[
    MetricThreshold(metric="val_auc", min=0.80),
    BeatsChampion(metric="val_auc", margin=0.005),
    RequireTags(tags={"validation": "passed"}),
])


@pytest.fixture
def churn(client: RegistryClient, make_run: MakeRun) -> dict[int, str]:
    """Model 'churn' guarded at @champion, with versions 1..4 whose runs logged these AUCs."""
    client.create_registered_model("churn", description="Monthly churn classifier", tags={"team": "risk"})
    client.set_gate_policy("churn", alias="champion", policy=CHAMPION_POLICY)
    runs = {}
    for version, auc in enumerate([0.85, 0.852, 0.86, 0.70], start=1):
        run_id = make_run({"val_auc": auc})
        mv = client.create_model_version("churn", source=f"runs:/{run_id}/model", run_id=run_id,
                                         tags={"validation": "passed"})
        assert mv.version == version
        runs[version] = run_id
    return runs


def test_issue_example_promotes_and_records_history(client: RegistryClient, churn: dict[int, str]) -> None:
    decision = client.promote("churn", version=1, alias="champion", reason="monthly retrain")
    assert decision.passed and decision.changed and not decision.overridden
    assert [(r.rule, r.passed, r.observed) for r in decision.results] == [
        ("val_auc >= 0.8", True, 0.85),
        ("val_auc beats holder by 0.005 (higher is better)", True, 0.85),
        ("tags validation=passed", True, {"validation": "passed"}),
    ]
    assert "nothing to beat" in decision.results[1].message
    assert client.get_model_version_by_alias("churn", "champion").version == 1

    decision = client.promote("churn", version=3, alias="champion", reason="better AUC")
    assert decision.passed and decision.previous_version == 1
    beats = decision.results[1]
    assert (beats.observed, beats.expected) == (0.86, pytest.approx(0.855))
    assert client.get_model_version_by_alias("churn", "champion").version == 3

    history = client.get_promotion_history("churn")
    assert [(e.type, e.from_version, e.to_version, e.actor, e.reason) for e in history] == [
        (EventType.ALIAS_SET, None, 1, "alice", "monthly retrain"),
        (EventType.ALIAS_SET, 1, 3, "alice", "better AUC"),
    ]
    assert history[1].evidence is not None and history[1].evidence["passed"] is True
    assert history[1].evidence["policy_version"] == 1
    assert [r["rule"] for r in history[1].evidence["results"]] == [r.rule for r in decision.results]
    assert history[0].id < history[1].id


def test_failing_gate_raises_with_every_verdict_and_changes_nothing(
    client: RegistryClient, churn: dict[int, str]
) -> None:
    client.promote("churn", version=3, alias="champion")
    before = client.get_events()
    with pytest.raises(GateFailed) as info:
        client.promote("churn", version=2, alias="champion", reason="try")
    err = info.value
    assert [(r.passed) for r in err.results] == [True, False, True]
    assert "does not beat holder v3" in err.results[1].message
    assert "val_auc beats holder" in str(err)
    assert err.details["decision"]["passed"] is False
    assert client.get_model_version_by_alias("churn", "champion").version == 3
    after = client.get_events(after_id=before[-1].id)
    assert [(e.type, e.version, e.from_version) for e in after] == [(EventType.GATE_REJECTED, 2, 3)]
    assert after[0].evidence and after[0].evidence["passed"] is False
    # set_registered_model_alias is gated too: no back door around the policy.
    with pytest.raises(GateFailed):
        client.set_registered_model_alias("churn", "champion", 4)
    assert client.get_model_version_by_alias("churn", "champion").version == 3


def test_metric_never_logged_fails_clearly(client: RegistryClient, make_run: MakeRun) -> None:
    client.create_registered_model("m")
    client.set_gate_policy("m", alias="prod", policy={"rules": [
        {"type": "metric_threshold", "metric": "val_auc", "min": 0.5}]})
    run_id = make_run({"loss": 0.3})
    client.create_model_version("m", source=f"runs:/{run_id}/model")
    client.create_model_version("m", source="s3://bucket/no-run")
    with pytest.raises(GateFailed) as info:
        client.promote("m", version=1, alias="prod")
    (result,) = info.value.results
    assert not result.passed and result.observed is None
    assert result.message == f"run {run_id} never logged metric 'val_auc' (it has: loss)"
    with pytest.raises(GateFailed, match="version 2 has no run; metric 'val_auc' cannot be checked"):
        client.promote("m", version=2, alias="prod")


def test_dry_run_evaluate_gate_changes_nothing(client: RegistryClient, churn: dict[int, str]) -> None:
    before = client.get_events()
    decision = client.evaluate_gate("churn", version=4, alias="champion")
    assert not decision.passed and not decision.changed
    assert [r.passed for r in decision.results] == [False, True, True]
    assert decision.failures[0].message == "val_auc=0.7 is below 0.8"
    assert client.evaluate_gate("churn", version=1, alias="champion").passed
    assert client.get_events() == before
    with pytest.raises(NotFound, match="no alias 'champion'"):
        client.get_model_version_by_alias("churn", "champion")


def test_promoting_the_holder_again_is_a_noop(client: RegistryClient, churn: dict[int, str]) -> None:
    client.promote("churn", version=1, alias="champion")
    n_events = len(client.get_events())
    again = client.promote("churn", version=1, alias="champion")
    assert again.passed and not again.changed and again.previous_version == 1
    client.set_registered_model_alias("churn", "champion", 1)
    assert len(client.get_events()) == n_events
    assert len(client.get_promotion_history("churn")) == 1


def test_override_needs_privilege_and_reason_and_is_recorded(
    client: RegistryClient, store_uri: str, churn: dict[int, str]
) -> None:
    client.promote("churn", version=3, alias="champion")
    with pytest.raises(PermissionDenied, match="privileged"):
        client.promote("churn", version=4, alias="champion", override=True, reason="incident")
    admin = type(client)(store_uri, user="root", privileged=True)
    with pytest.raises(InvalidArgument, match="needs a reason"):
        admin.promote("churn", version=4, alias="champion", override=True)
    decision = admin.promote("churn", version=4, alias="champion", override=True, reason="rollback drill")
    assert decision.changed and decision.overridden and not decision.passed
    assert admin.get_model_version_by_alias("churn", "champion").version == 4
    last = admin.get_promotion_history("churn")[-1]
    assert (last.type, last.actor, last.override, last.reason, last.from_version, last.to_version) == (
        EventType.ALIAS_SET, "root", True, "rollback drill", 3, 4)
    assert last.evidence is not None and last.evidence["passed"] is False
    assert [r["passed"] for r in last.evidence["results"]] == [False, False, True]


def test_stage_gates_and_archiving(client: RegistryClient, churn: dict[int, str]) -> None:
    client.set_gate_policy("churn", stage="Production", policy=GatePolicy(rules=[
        BeatsChampion(metric="val_auc", margin=0.0)]))
    assert client.promote("churn", version=2, stage="Production").changed
    with pytest.raises(GateFailed, match="does not beat holder v2"):
        client.promote("churn", version=1, stage="production")
    with pytest.raises(GateFailed):
        client.transition_model_version_stage("churn", 1, "Production")
    decision = client.promote("churn", version=3, stage="Production")
    assert decision.previous_version == 2
    stages = {v.version: v.current_stage for v in client.search_model_versions("name='churn'")}
    assert stages == {1: "None", 2: "Archived", 3: "Production", 4: "None"}
    # Staging is unguarded; moving into Archived is never gated, but taking the holder out of
    # guarded Production is a guarded change: refused without an override and a reason.
    client.transition_model_version_stage("churn", 4, "Staging")
    with pytest.raises(GateFailed, match="changes guarded stage Production"):
        client.transition_model_version_stage("churn", 3, "Archived")
    assert client.resolve_model_uri("models:/churn/Production").version == 3
    client.privileged = True  # type: ignore[misc]
    client.transition_model_version_stage("churn", 3, "Archived", reason="retired", override=True)
    assert client.resolve_model_uri("models:/churn/Staging").version == 4
    last = client.get_promotion_history("churn", stage="Archived")[-1]
    assert (last.version, last.override, last.reason) == (3, True, "retired")


def test_lower_is_better_and_max_threshold(client: RegistryClient, make_run: MakeRun) -> None:
    client.create_registered_model("reg")
    client.set_gate_policy("reg", alias="live", policy=GatePolicy(rules=[
        MetricThreshold(metric="rmse", max=10), BeatsChampion(metric="rmse", margin=0.5, higher_is_better=False)]))
    for rmse in (5.0, 4.7, 4.4, 12.0):
        client.create_model_version("reg", source=f"runs:/{make_run({'rmse': rmse})}/m")
    client.promote("reg", version=1, alias="live")
    with pytest.raises(GateFailed, match="needs <= 4.5"):
        client.promote("reg", version=2, alias="live")
    assert client.promote("reg", version=3, alias="live").changed
    with pytest.raises(GateFailed, match="rmse=12 is above 10"):
        client.promote("reg", version=4, alias="live")


def test_required_tags_on_version_or_run(client: RegistryClient, make_run: MakeRun) -> None:
    client.create_registered_model("m")
    client.set_gate_policy("m", alias="prod", policy=GatePolicy(rules=[
        RequireTags(tags={"validation": "passed", "owner": None})]))
    client.create_model_version("m", source=f"runs:/{make_run(tags={'owner': 'ana'})}/m")
    with pytest.raises(GateFailed, match="validation is not set"):
        client.promote("m", version=1, alias="prod")
    client.set_model_version_tag("m", 1, "validation", "failed")
    with pytest.raises(GateFailed, match="validation='failed', wanted 'passed'"):
        client.promote("m", version=1, alias="prod")
    client.set_model_version_tag("m", 1, "validation", "passed")
    decision = client.promote("m", version=1, alias="prod")
    assert decision.results[0].observed == {"validation": "passed", "owner": "ana"}


def test_approvals_by_distinct_users(client: RegistryClient, store_uri: str) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://b/m")
    client.set_gate_policy("m", stage="Production", policy=GatePolicy(rules=[
        RequireApprovals(count=2, exclude_creator=True)]))
    client.approve_model_version("m", 1, comment="I built it")  # alice, the creator: does not count
    bob = type(client)(store_uri, user="bob")
    first = bob.approve_model_version("m", 1, comment="looks good")
    assert bob.approve_model_version("m", 1).id == first.id  # a repeat is not a second approval
    with pytest.raises(GateFailed, match="1 of 2 required approvals \\(by bob\\)"):
        client.promote("m", version=1, stage="Production")
    type(client)(store_uri, user="carol").approve_model_version("m", 1)
    decision = client.promote("m", version=1, stage="Production")
    assert decision.results[0].observed == ["bob", "carol"]
    approvals = client.get_events(model_name="m", types=["VERSION_APPROVED"])
    assert [(e.actor, e.details.get("comment")) for e in approvals] == [
        ("alice", "I built it"), ("bob", "looks good"), ("carol", None)]
    with pytest.raises(NotFound):
        bob.approve_model_version("m", 5)


def test_lineage_rule(client: RegistryClient, make_run: MakeRun) -> None:
    client.create_registered_model("m")
    client.set_gate_policy("m", alias="prod", policy=GatePolicy(rules=[
        RequireLineage(datasets=["churn-train"], context="training", source_commit=True)]))
    bare = make_run()
    for key in ("lockgate.source.git.commit", "mlflow.source.git.commit"):  # set from this checkout
        if key in client.get_run(bare).data.tags:
            client.delete_tag(bare, key)
    client.create_model_version("m", source=f"runs:/{bare}/m")
    with pytest.raises(GateFailed) as info:
        client.promote("m", version=1, alias="prod")
    assert info.value.results[0].message == (
        f"run {bare} did not use dataset 'churn-train' for training; run {bare} records no source commit")
    traced = make_run(tags={"lockgate.source.git.commit": "abc123"})
    client.log_input(traced, name="churn-train", digest="d1", context="training")
    client.create_model_version("m", source=f"runs:/{traced}/m")
    decision = client.promote("m", version=2, alias="prod")
    assert decision.results[0].observed == {"datasets": ["churn-train"], "source_commit": "abc123"}
    with pytest.raises(ValueError, match="needs datasets, source_commit or both"):
        RequireLineage()  # pydantic's ValidationError in Python; documents get InvalidArgument


@pytest.fixture
def installed_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test rules installed the ways an operator does: in-process and by LOCKGATE_GATE_RULES."""
    monkeypatch.setenv("LOCKGATE_GATE_RULES",
                       "explode=registry_rules:explode, missing_fn=registry_rules:no_such_function")
    register_gate_rule("auc_at_least", registry_rules.auc_at_least)
    register_gate_rule("always", registry_rules.always)
    yield
    unregister_gate_rule("auc_at_least")
    unregister_gate_rule("always")


def test_custom_rules_by_installed_name(client: RegistryClient, make_run: MakeRun,
                                        installed_rules: None) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", source=f"runs:/{make_run({'auc': 0.9})}/m")
    assert set(installed_gate_rules()) >= {"always", "auc_at_least", "explode", "missing_fn"}
    client.set_gate_policy("m", alias="a", policy=GatePolicy(rules=[
        CustomRule(rule="auc_at_least", params={"floor": 0.95}, name="auc floor"),
        CustomRule(rule="explode"),
        CustomRule(rule="missing_fn"),
        CustomRule(rule="always"),
    ]))
    with pytest.raises(GateFailed) as info:
        client.promote("m", version=1, alias="a")
    results = info.value.results
    assert [(r.rule, r.passed) for r in results] == [
        ("auc floor", False), ("custom explode", False), ("custom missing_fn", False), ("custom always", True)]
    assert results[0].message == "auc 0.9 < 0.95"
    assert results[1].message == "rule 'explode' raised RuntimeError"
    assert results[2].message == "installed rule 'missing_fn' could not be loaded (see the server log)"
    assert client.get_gate_policy("m", alias="a").policy["rules"][1] == {  # type: ignore[union-attr]
        "type": "custom", "rule": "explode", "params": {}}


def test_uninstalled_custom_rules_are_refused_and_fail_closed(
    client: RegistryClient, make_run: MakeRun, installed_rules: None
) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", source=f"runs:/{make_run({'auc': 0.9})}/m")
    for name in ("registry_rules:always", "builtins:vars", "not_installed"):
        with pytest.raises(InvalidArgument, match=f"custom rule\\(s\\) '{name}' that are not installed; "
                                                  "installed rules: always, auc_at_least, explode") as info:
            client.set_gate_policy("m", alias="a", policy={"rules": [{"type": "custom", "rule": name}]})
        assert info.value.details["not_installed"] == [name]
    assert client.get_gate_policy("m", alias="a") is None
    register_gate_rule("short_lived", registry_rules.always)
    client.set_gate_policy("m", alias="a", policy={"rules": [{"type": "custom", "rule": "short_lived"}]})
    unregister_gate_rule("short_lived")
    with pytest.raises(GateFailed) as failed:
        client.promote("m", version=1, alias="a")
    assert failed.value.results[0].message.startswith(
        "'short_lived' is not an installed gate rule (installed: always, auc_at_least, explode")
    with pytest.raises(NotFound):
        client.get_model_version_by_alias("m", "a")


def test_policies_are_versioned(client: RegistryClient) -> None:
    client.create_registered_model("m")
    assert client.get_gate_policy("m", alias="prod") is None
    first = client.set_gate_policy("m", alias="prod", policy=GatePolicy(rules=[MetricThreshold(metric="a", min=1)]))
    same = client.set_gate_policy("m", alias="prod", policy={"rules": [
        {"type": "metric_threshold", "metric": "a", "min": 1}]})
    assert first.policy_version == same.policy_version == 1
    with pytest.raises(GateFailed, match="replacing the gate policy of 'm' @prod changes guarded @prod"):
        client.set_gate_policy("m", alias="prod", policy="rules:\n  - type: require_tags\n    tags: {x: y}\n")
    client.privileged = True  # type: ignore[misc]
    second = client.set_gate_policy("m", alias="prod", policy="rules:\n  - type: require_tags\n    tags: {x: y}\n",
                                    reason="tags instead of a threshold", override=True)
    assert second.policy_version == 2
    current = client.get_gate_policy("m", alias="prod")
    assert current is not None and current.policy_version == 2
    assert GatePolicy.from_document(current.policy) == GatePolicy(rules=[RequireTags(tags={"x": "y"})])
    old = client.get_gate_policy("m", alias="prod", policy_version=1)
    assert old is not None and old.policy["rules"][0]["type"] == "metric_threshold"
    with pytest.raises(NotFound, match="policy version 7"):
        client.get_gate_policy("m", alias="prod", policy_version=7)
    assert [p.target.name for p in client._registry.list_gate_policies("m")] == ["prod"]
    set_events = client.get_events(model_name="m", types=["GATE_POLICY_SET"])
    assert [e.details["policy_version"] for e in set_events] == [1, 2]
    assert [(e.override, e.reason) for e in set_events] == [(False, None), (True, "tags instead of a threshold")]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"rules": [{"type": "metric_threshold", "metric": "auc"}]}, "needs min, max or both"),
        ({"rules": [{"type": "no_such_rule"}]}, "rules.0: .*rule types: metric_threshold"),
        ({"rules": [{"metric": "auc", "min": 1}]}, "rules.0: Unable to extract tag"),
        ({"rules": [{"type": "metric_threshold", "metric": "auc", "min": "high"}]}, "rules.0.metric_threshold.min"),
        ({"rules": [{"type": "beats_champion", "metric": "a", "margin": -1}]}, "margin"),
        ({"rules": [{"type": "require_approvals", "count": 0}]}, "count"),
        ({"rules": [{"type": "custom", "rule": "pkg.mod:fn"}]}, "'pkg.mod:fn' that are not installed"),
        ({"rules": [{"type": "custom", "path": "pkg.mod:fn"}]}, "'pkg.mod:fn' that are not installed"),
        ({"rules": "all"}, "rules: Input should be a valid list"),
        ({"rulez": []}, "rulez: Extra inputs are not permitted"),
        ("{not json: [", "neither JSON nor YAML"),
        ("42", "must be a mapping"),
    ],
)
def test_malformed_policies_are_rejected(client: RegistryClient, document: object, message: str) -> None:
    client.create_registered_model("m")
    with pytest.raises(InvalidArgument, match=message):
        client.set_gate_policy("m", alias="prod", policy=document)  # type: ignore[arg-type]
    assert client.get_gate_policy("m", alias="prod") is None


def test_promotion_bad_input(client: RegistryClient, make_run: MakeRun, churn: dict[int, str]) -> None:
    with pytest.raises(NotFound, match="'nope' not found"):
        client.promote("nope", version=1, alias="champion")
    with pytest.raises(NotFound, match="version 9 of 'churn' not found"):
        client.promote("churn", version=9, alias="champion")
    with pytest.raises(InvalidArgument, match="exactly one target"):
        client.promote("churn", version=1)
    with pytest.raises(InvalidArgument, match="exactly one target"):
        client.promote("churn", version=1, alias="champion", stage="Production")
    with pytest.raises(InvalidArgument, match="reserved"):
        client.promote("churn", version=1, alias="latest")
    client.delete_model_version("churn", 3)
    with pytest.raises(NotFound, match="version 3 of 'churn' was deleted"):
        client.promote("churn", version=3, alias="champion")
    failed_run = make_run({"val_auc": 0.99}, status="FAILED")
    v = client.create_model_version("churn", source=f"runs:/{failed_run}/model", tags={"validation": "passed"})
    with pytest.raises(InvalidArgument, match="ended FAILED; a failed run's model cannot be moved"):
        client.promote("churn", version=v.version, alias="champion")
    with pytest.raises(InvalidArgument, match="ended FAILED"):
        client.transition_model_version_stage("churn", v.version, "Production")
    killed = client.create_model_version("churn", source=f"runs:/{make_run(status='KILLED')}/m")
    with pytest.raises(InvalidArgument, match="ended KILLED"):
        client.set_registered_model_alias("churn", "shadow", killed.version)
    # Archiving a failed run's version is always allowed.
    assert client.transition_model_version_stage("churn", v.version, "Archived").current_stage == "Archived"
    assert client.get_promotion_history("churn", alias="champion") == []


def test_events_cursor(client: RegistryClient, churn: dict[int, str]) -> None:
    events = client.get_events()
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [e.type for e in events[:2]] == [EventType.MODEL_CREATED, EventType.GATE_POLICY_SET]
    cursor = ids[-1]
    assert client.get_events(after_id=cursor) == []
    client.promote("churn", version=1, alias="champion")
    client.set_model_version_tag("churn", 1, "k", "v")
    new = client.get_events(after_id=cursor)
    assert [e.type for e in new] == [EventType.ALIAS_SET, EventType.VERSION_TAG_SET]
    assert all(e.id > cursor for e in new)
    assert [e.type for e in client.get_events(after_id=cursor, types=["alias_set"])] == [EventType.ALIAS_SET]
    assert client.get_latest_event_id() == new[-1].id
    assert client.get_latest_event_id(model_name="churn") == new[-1].id
    assert client.get_latest_event_id(model_name="other") == 0
    # Read a page at a time to the end; the newest match, however far down the log.
    assert [e.id for e in client.iter_events(page_size=2)] == [*ids, *(e.id for e in new)]
    assert client.get_latest_event(model_name="churn", types=["ALIAS_SET", "MODEL_CREATED"]) == new[0]
    assert client.get_latest_event(where=lambda e: e.type == EventType.MODEL_CREATED) == events[0]
    assert client.get_latest_event(model_name="other") is None
    assert len(client.get_events(limit=2)) == 2
    assert client.get_events(model_name="other") == []
    with pytest.raises(InvalidArgument, match="Unknown event type 'MOVED'"):
        client.get_events(types=["MOVED"])
    with pytest.raises(InvalidArgument, match="after_id"):
        client.get_events(after_id=-1)
