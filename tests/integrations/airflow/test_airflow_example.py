"""examples/airflow/retrain_churn.py end to end: a good model is promoted, a worse one is stopped."""

from __future__ import annotations

from pathlib import Path

import pytest
from lockgate import LockgateClient
from lockgate.entities import RunStatus


def _xcoms(dag_run) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.run_id == dag_run.run_id, XComModel.key == "return_value")
        return {row.task_id: row.value for row in rows}


def test_retrain_churn_promotes_then_gate_stops_a_worse_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task_states  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("LOCKGATE_EXAMPLE_DATA", str(tmp_path / "data"))
    import importlib

    import retrain_churn

    retrain_churn = importlib.reload(retrain_churn)  # picks up LOCKGATE_EXAMPLE_DATA
    dag = retrain_churn.dag_object
    client = LockgateClient()

    first = dag.test()
    assert task_states(first) == {
        "ensure_gate": "success", "write_scoring_input": "success", "train": "success",
        "register": "success", "promote": "success", "score": "success",
    }
    first_values = _xcoms(first)
    assert first_values["register"] == 1
    assert client.get_model_version_by_alias("churn", "champion").version == 1

    second = dag.test(run_conf={"quality": "poor"})
    states = task_states(second)
    assert states["promote"] == "failed"  # the gate refused
    assert states["score"] == "upstream_failed" and states["register"] == "success"
    second_values = _xcoms(second)
    assert second_values["register"] == 2
    assert "score" not in second_values

    # The champion stayed; scoring only ever ran with it.
    assert client.get_model_version_by_alias("churn", "champion").version == 1
    assert first_values["score"]["version"] == 1
    import pandas as pd

    assert len(pd.read_parquet(first_values["score"]["output_path"])) == 100

    # Runs: each DAG run is a parent with a nested training run holding the metric.
    runs = list(client.search_runs(["churn"], max_results=100))
    parents = [r for r in runs if r.data.tags.get("lockgate.airflow.kind") == "dag_run"]
    trains = {r.info.run_id: r for r in runs if r.data.tags.get("lockgate.airflow.task_id") == "train"}
    assert len(parents) == 2 and len(trains) == 2
    by_airflow_run = {p.data.tags["lockgate.airflow.run_id"]: p.info.status for p in parents}
    assert by_airflow_run == {first.run_id: RunStatus.FINISHED, second.run_id: RunStatus.FAILED}
    good, poor = trains[first_values["train"]], trains[second_values["train"]]
    assert good.data.metrics["val_auc"] > 0.95
    assert poor.data.metrics["val_auc"] < 0.9
    assert good.data.params["quality"] == "good" and poor.data.params["quality"] == "poor"
    assert good.info.parent_run_id != poor.info.parent_run_id

    # Versions point at their runs; the audit trail holds the promotion and the refusal.
    v1, v2 = client.get_model_version("churn", 1), client.get_model_version("churn", 2)
    assert (v1.run_id, v2.run_id) == (good.info.run_id, poor.info.run_id)
    events = client.get_events(after_id=0, model_name="churn")
    kinds = [(getattr(e.type, "value", e.type), e.version or e.to_version) for e in events]
    assert ("ALIAS_SET", 1) in kinds
    rejected = [e for e in events if getattr(e.type, "value", e.type) == "GATE_REJECTED"]
    assert len(rejected) == 1 and (rejected[0].version or rejected[0].to_version) == 2
    assert not any(k == "ALIAS_SET" and v == 2 for k, v in kinds)
    assert [getattr(e.type, "value", e.type) for e in events].count("GATE_POLICY_SET") == 1
