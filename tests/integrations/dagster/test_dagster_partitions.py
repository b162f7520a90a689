"""Partitioned model assets: one version per partition, tagged with it, gated partition by partition."""

from typing import Any

import dagster as dg
import pytest
from lockgate import LockgateClient
from lockgate.registry import BeatsChampion, GatePolicy, MetricThreshold
from lockgate_dagster import (
    LockgateModelIOManager,
    LockgateResource,
    build_promotion_gate_checks,
)

WEEKS = dg.StaticPartitionsDefinition(["2026-w01", "2026-w02", "2026-w03"])
# What each week's training reaches on validation: week 2 is a bad week.
AUC = {"2026-w01": 0.91, "2026-w02": 0.85, "2026-w03": 0.95}
GATE = GatePolicy(rules=[MetricThreshold(metric="val_auc", min=0.90), BeatsChampion(metric="val_auc")])


def _fit(weight: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    x = [[0.0], [1.0], [2.0], [3.0]]
    return LogisticRegression(C=weight).fit(x, [0, 0, 1, 1])


@dg.asset(partitions_def=WEEKS, io_manager_key="model_io")
def weekly_model(context: dg.AssetExecutionContext, lockgate: LockgateResource):
    with lockgate.start_run(context):
        lockgate.log_metric("val_auc", AUC[context.partition_key])
        return _fit(AUC[context.partition_key])


@dg.asset(partitions_def=WEEKS)
def weekly_scores(weekly_model) -> list[int]:
    return [int(v) for v in weekly_model.predict([[0.0], [3.0]])]


gate = build_promotion_gate_checks(assets=[weekly_model], alias="champion", policy=GATE)


def test_each_partition_registers_a_version_and_is_gated_on_its_own(
    instance: dg.DagsterInstance, sqlite_uri: str
) -> None:
    resources = {"lockgate": LockgateResource(tracking_uri=sqlite_uri, experiment="weekly"),
                 "model_io": LockgateModelIOManager(tracking_uri=sqlite_uri, experiment="weekly")}
    results = {}
    for week in WEEKS.get_partition_keys():
        results[week] = dg.materialize([weekly_model, weekly_scores, *gate], partition_key=week,
                                       instance=instance, resources=resources, raise_on_error=False)
    assert [results[w].success for w in WEEKS.get_partition_keys()] == [True, False, True]

    client = LockgateClient(sqlite_uri)
    versions = {v.version: v for v in client.search_model_versions(filter_string="name = 'weekly_model'")}
    by_week = {v.tags["lockgate.dagster.partition_key"]: v.version for v in versions.values()}
    assert by_week == {"2026-w01": 1, "2026-w02": 2, "2026-w03": 3}
    for week, number in by_week.items():
        run = client.get_run(str(versions[number].run_id))
        assert run.data.tags["lockgate.dagster.partition_key"] == week
        assert run.data.metrics["val_auc"] == pytest.approx(AUC[week])
        (mat,) = results[week].asset_materializations_for_node("weekly_model")
        assert mat.partition == week
        assert mat.metadata["lockgate/version"].value == number
        assert mat.metadata["lockgate/partition_key"].value == week
        assert mat.metadata["lockgate/metric/val_auc"].value == pytest.approx(AUC[week])
        # Each partition's check gated the version that partition registered.
        (evaluation,) = results[week].get_asset_check_evaluations()
        assert evaluation.metadata["lockgate/version"].value == number
        assert evaluation.metadata["lockgate/partition_key"].value == week
        assert evaluation.passed is (week != "2026-w02")

    refused = results["2026-w02"].get_asset_check_evaluations()[0]
    assert refused.severity == dg.AssetCheckSeverity.ERROR
    assert refused.metadata["lockgate/rules_failed"].value == 2
    assert not results["2026-w02"].asset_materializations_for_node("weekly_scores")
    assert client.get_model_version_by_alias("weekly_model", "champion").version == 3
    history = client.get_promotion_history("weekly_model", alias="champion")
    assert [(e.type.value, e.to_version or e.version) for e in history] == [
        ("ALIAS_SET", 1), ("GATE_REJECTED", 2), ("ALIAS_SET", 3),
    ]
    assert all("[2026-w0" in (e.reason or "") for e in history)
    # The downstream partition loaded the version its own partition produced.
    assert results["2026-w03"].output_for_node("weekly_scores") == [0, 1]
    inputs: list[Any] = [e.event_specific_data for e in results["2026-w03"].all_events
                         if e.event_type_value == "LOADED_INPUT" and e.step_key == "weekly_scores"]
    loaded = [data.metadata["lockgate/version"].value for data in inputs]
    assert loaded == [3]
