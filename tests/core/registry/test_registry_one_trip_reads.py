"""Reads a move and the model's pages make in one round trip (PostgreSQL pipelines, SQLite in
turn) return what separate reads would: the version a transition returns, a model with its
latest versions per stage, a version by alias, and the version a gate judges against."""

from __future__ import annotations

from lockgate.registry import GatePolicy, MetricThreshold
from lockgate.registry.entities import GateTarget
from lockgate.registry.sql import SqlRegistry
from lockgate.store import get_tracking_store


def test_one_trip_reads_match_fresh_reads(store_uri: str) -> None:
    tracking = get_tracking_store(store_uri)
    registry = SqlRegistry(store_uri, tracking_store=tracking)
    exp = tracking.create_experiment("one-trip")
    runs = [tracking.create_run(experiment_id=exp).info.run_id for _ in range(4)]
    registry.create_registered_model("m", tags={"team": "risk"})
    for i, run_id in enumerate(runs):
        registry.create_model_version("m", source=f"runs:/{run_id}/model", run_id=run_id, tags={"n": str(i)})
    registry.set_registered_model_alias("m", "champion", 2)
    registry.set_registered_model_alias("m", "backup", 2)

    moved = registry.transition_model_version_stage("m", 2, "Staging")
    assert moved == registry.get_model_version("m", 2)
    assert (moved.current_stage, moved.aliases, moved.tags) == ("Staging", ["backup", "champion"], {"n": "1"})
    registry.transition_model_version_stage("m", 3, "Staging")
    registry.transition_model_version_stage("m", 1, "Production")
    again = registry.transition_model_version_stage("m", 1, "Production")  # no change, same answer
    assert again == registry.get_model_version("m", 1)

    model = registry.get_registered_model("m")
    assert model.tags == {"team": "risk"} and model.aliases == {"backup": 2, "champion": 2}
    assert [(v.version, v.current_stage, v.tags) for v in model.latest_versions] == [
        (1, "Production", {"n": "0"}), (3, "Staging", {"n": "2"}), (4, "None", {"n": "3"})]
    assert [v.version for v in registry.get_latest_versions("m", stages=["Staging"])] == [3]
    assert registry.get_model_version_by_alias("m", "champion") == registry.get_model_version("m", 2)

    # The version to beat: the other holder; for an empty target, the version that held it last.
    snap = registry._rows.move_snapshot("m", 4, GateTarget.of(stage="Staging"))
    assert (snap.holders, snap.champion.version if snap.champion else None) == ((2, 3), 3)
    assert snap.champion == registry.get_model_version("m", 3) and not snap.champion_is_last_holder
    registry.delete_registered_model_alias("m", "champion")
    snap = registry._rows.move_snapshot("m", 4, GateTarget.of(alias="champion"))
    assert snap.holders == () and snap.champion is not None and snap.champion.version == 2
    assert snap.champion_is_last_holder and snap.guarded_aliases == frozenset()
    registry.set_gate_policy("m", alias="champion", policy=GatePolicy(rules=[MetricThreshold(metric="auc", min=0.5)]),
                             actor="alice")
    snap = registry._rows.move_snapshot("m", 4, GateTarget.of(alias="champion"))
    assert snap.guarded_aliases == frozenset({"champion"}) and snap.policy is not None
