"""Registry operators, the sensor and its trigger, and batch scoring, on real Airflow."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from lockgate import LockgateClient


def _xcoms(dag_run) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.run_id == dag_run.run_id, XComModel.key == "return_value")
        return {row.task_id: row.value for row in rows}


def _event_types(client: LockgateClient, model: str) -> list[str]:
    return [getattr(e.type, "value", e.type) for e in client.get_events(after_id=0, model_name=model)]


def test_register_promote_sense_and_score(task_states) -> None:  # type: ignore[no-untyped-def]
    from lg_registry import ok_dag

    dag_run = ok_dag.test()
    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    values = _xcoms(dag_run)
    client = LockgateClient()

    # Two register tasks are two steps: two versions, as MLflow makes (a retry of one task would
    # get its own version back through its idempotency key).
    assert values["register"] == 1 and values["register_again"] == 2
    version = client.get_model_version("ok-model", 1)
    assert version.run_id == values["train"]
    assert version.source == f"runs:/{values['train']}/model"
    assert version.tags["lockgate.airflow.dag_id"] == "lg_registry_ok"

    # The first promote moved the alias; the second found it in place and changed nothing.
    assert values["promote"]["changed"] is True
    assert values["promote_again"]["changed"] is False
    assert client.get_model_version_by_alias("ok-model", "champion").version == 1
    types = _event_types(client, "ok-model")
    assert types.count("ALIAS_SET") == 1
    assert types.count("VERSION_CREATED") == 2

    # Poke-mode and deferred sensors both saw the events after cursor 0.
    assert values["new_version"] == 1
    assert values["alias_moved"] == 1

    scored = values["score"]
    assert scored["version"] == 1 and scored["model_uri"] == "models:/ok-model@champion"
    import pandas as pd

    predictions = pd.read_csv(scored["output_path"])
    assert len(predictions) == 3
    # The same step on the dask engine writes the same predictions.
    on_dask = values["score_dask"]
    assert on_dask["rows"] == 3 and on_dask["version"] == 1
    pd.testing.assert_series_equal(pd.read_parquet(on_dask["output_path"])["prediction"],
                                   predictions["prediction"])


def test_bad_input_fails_each_task_clearly(task_states, capfd: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from lg_registry import bad_dag

    dag_run = bad_dag.test()
    out = capfd.readouterr()
    log = out.out + out.err
    states = task_states(dag_run)
    assert states == {
        "guard": "success",
        "train": "success",
        "register": "success",
        "register_missing_path": "failed",
        "register_nonsense_run": "failed",
        "register_unknown_run": "failed",
        "promote_gate": "failed",
        "promote_gate_soft": "skipped",
        "promote_unknown_model": "failed",
        "promote_unknown_version": "failed",
        "promote_nonsense_version": "failed",
        "sensor_unknown_model": "failed",
        "score_unknown_alias": "failed",
        "score_nonsense_uri": "failed",
        "score_unknown_engine": "failed",
    }
    # every rule's verdict is in the log of the refused promotion
    assert "Gate refused weak-model version 1 -> @champion" in log
    assert "[FAIL] val_auc >= 0.9: val_auc=0.61 is below 0.9 (observed=0.61, expected=min=0.9)" in log
    assert "has no artifacts under 'never_logged'" in log
    assert "run_id rendered to 'None'" in log
    assert "version rendered to 'abc'" in log
    assert "model_uri rendered to 'None'" in log
    assert "engine must be one of ['local', 'spark', 'dask'], not 'ray'" in log
    assert "ghost-model" in log
    client = LockgateClient()
    assert client.get_model_version("weak-model", 1).aliases == []
    # the refusal is in the audit trail, with the evidence
    rejected = [e for e in client.get_events(after_id=0, model_name="weak-model")
                if getattr(e.type, "value", e.type) == "GATE_REJECTED"]
    assert len(rejected) == 2  # promote_gate and promote_gate_soft


def test_trigger_fires_when_a_version_is_registered_later() -> None:
    from lockgate_airflow.triggers import ModelVersionTrigger
    from lockgate_airflow.triggers.model_version import match_event

    client = LockgateClient()
    client.create_registered_model("watched")
    _, cursor = match_event(client, model_name="watched", alias=None, after_event_id=0)
    trigger = ModelVersionTrigger(model_name="watched", after_event_id=cursor, poll_interval=0.2)
    classpath, kwargs = trigger.serialize()
    assert classpath == "lockgate_airflow.triggers.model_version.ModelVersionTrigger"
    assert ModelVersionTrigger(**kwargs).serialize() == (classpath, kwargs)

    run = client.create_run(client.create_experiment("watch-exp"))

    def register_later() -> None:
        time.sleep(1.0)
        LockgateClient().create_model_version("watched", source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)

    async def first_event():  # type: ignore[no-untyped-def]
        async for event in trigger.run():
            return event

    thread = threading.Thread(target=register_later)
    started = time.monotonic()
    thread.start()
    event = asyncio.run(asyncio.wait_for(first_event(), timeout=20))
    thread.join()
    assert time.monotonic() - started >= 1.0
    assert event.payload["status"] == "success"
    assert event.payload["type"] == "VERSION_CREATED" and event.payload["version"] == 1
    assert event.payload["event_id"] > cursor


def test_trigger_reports_an_unreachable_server_as_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from lockgate_airflow.triggers import ModelVersionTrigger

    monkeypatch.setenv(
        "AIRFLOW_CONN_LG_GONE",
        json.dumps({"conn_type": "lockgate", "extra": {"tracking_uri": "http://127.0.0.1:9", "retries": 0}}),
    )
    trigger = ModelVersionTrigger(model_name="x", after_event_id=0, lockgate_conn_id="lg_gone")

    async def first_event():  # type: ignore[no-untyped-def]
        async for event in trigger.run():
            return event

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=30))
    assert event.payload["status"] == "error"
    assert "unreachable" in event.payload["message"]
