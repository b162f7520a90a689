"""Automatic tracking on real Airflow: @task.lockgate and the listener plugin, via dag.test()."""

from __future__ import annotations

import pytest
from lockgate import LockgateClient
from lockgate.entities import RunStatus


def _runs(client: LockgateClient, experiment: str) -> list:
    return list(client.search_runs([experiment], max_results=1000))


def _tag(run, key: str) -> str | None:  # type: ignore[no-untyped-def]
    return run.data.tags.get(f"lockgate.airflow.{key}")


def test_task_decorator_is_registered_through_the_provider() -> None:
    from airflow.sdk import task
    from lockgate_airflow.decorators.lockgate import lockgate_task

    decorator = task.lockgate
    assert getattr(decorator, "func", decorator) is lockgate_task


def test_decorated_tasks_become_nested_runs_of_the_dag_run(task_states) -> None:  # type: ignore[no-untyped-def]
    from lg_tracked import dag_object

    dag_run = dag_object.test()
    states = task_states(dag_run)
    assert states == {
        "train": "success", "consume": "success", "flaky": "success", "mapped[0]": "success", "mapped[1]": "success",
    }

    client = LockgateClient()
    runs = _runs(client, "tracked-exp")
    parents = [r for r in runs if _tag(r, "kind") == "dag_run"]
    assert len(parents) == 1
    parent = parents[0]
    assert _tag(parent, "dag_id") == "lg_tracked"
    assert _tag(parent, "run_id") == dag_run.run_id
    assert _tag(parent, "logical_date") == dag_run.logical_date.isoformat()
    assert parent.info.status == RunStatus.FINISHED  # closed by the DAG-run listener
    assert parent.data.tags["lockgate.orchestrator"] == "airflow"

    children = [r for r in runs if _tag(r, "kind") == "task_instance"]
    assert all(r.info.parent_run_id == parent.info.run_id for r in children)
    by_task: dict[str, list] = {}
    for run in children:
        by_task.setdefault(_tag(run, "task_id"), []).append(run)
    assert sorted(by_task) == ["flaky", "mapped", "train"]  # consume is a plain @task

    (train,) = by_task["train"]
    assert train.info.status == RunStatus.FINISHED
    assert train.data.params == {"alpha": "0.5"}
    assert train.data.metrics == {"val_auc": 0.81}
    assert [m.value for m in client.get_metric_history(train.info.run_id, "val_auc")] == [0.75, 0.81]
    assert _tag(train, "try_number") == "1" and _tag(train, "map_index") == "-1"
    assert _tag(train, "state") == "success"

    # The run id is the task's XCom value, so the downstream task read the run's metric.
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        values = {
            row.task_id: row.value
            for row in session.query(XComModel).filter(XComModel.run_id == dag_run.run_id, XComModel.key == "return_value")
        }
    assert values["train"] == train.info.run_id
    assert values["consume"] == "0.81"

    # A retry is a second attempt next to the failed one, not an overwrite.
    attempts = sorted(by_task["flaky"], key=lambda r: int(_tag(r, "try_number")))
    assert [_tag(r, "try_number") for r in attempts] == ["1", "2"]
    assert [r.info.status for r in attempts] == [RunStatus.FAILED, RunStatus.FINISHED]
    assert [_tag(r, "state") for r in attempts] == ["up_for_retry", "success"]
    assert "first attempt fails on purpose" in _tag(attempts[0], "error")
    assert [r.data.metrics["attempt"] for r in attempts] == [1.0, 2.0]
    assert values["flaky"] == "recovered"

    mapped = sorted(by_task["mapped"], key=lambda r: int(_tag(r, "map_index")))
    assert [_tag(r, "map_index") for r in mapped] == ["0", "1"]
    assert [r.data.metrics["x"] for r in mapped] == [3.0, 4.0]


def test_listener_tracks_plain_tasks_when_enabled(monkeypatch: pytest.MonkeyPatch, task_states) -> None:  # type: ignore[no-untyped-def]
    from lg_autotrack import dag_object

    monkeypatch.setenv("AIRFLOW__LOCKGATE__AUTO_TRACK", "True")
    dag_run = dag_object.test()
    assert task_states(dag_run) == {"prepare": "success", "explode": "failed"}

    client = LockgateClient()
    runs = _runs(client, "lg_autotrack")  # experiment defaults to the dag_id
    (parent,) = [r for r in runs if _tag(r, "kind") == "dag_run"]
    assert parent.info.status == RunStatus.FAILED  # the DAG run failed
    tasks = {_tag(r, "task_id"): r for r in runs if _tag(r, "kind") == "task_instance"}
    assert set(tasks) == {"prepare", "explode"}
    assert tasks["prepare"].info.status == RunStatus.FINISHED
    assert tasks["prepare"].data.metrics == {"rows": 120.0}  # fluent calls land in the task's run
    assert tasks["explode"].info.status == RunStatus.FAILED
    assert tasks["explode"].data.params == {"rows_seen": "120"}
    assert "this task always fails" in _tag(tasks["explode"], "error")
    assert all(r.info.parent_run_id == parent.info.run_id for r in tasks.values())


def test_listener_is_off_by_default(task_states) -> None:  # type: ignore[no-untyped-def]
    from lg_autotrack import dag_object

    dag_run = dag_object.test()
    assert task_states(dag_run)["prepare"] == "success"
    client = LockgateClient()
    assert client.get_experiment_by_name("lg_autotrack") is None
    # prepare's lockgate.log_metric with no tracking started a plain run in the default experiment
    runs = list(client.search_runs(["0"]))
    assert all(not _tag(r, "kind") for r in runs)


def test_listener_never_fails_a_task_when_the_store_is_down(  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch, task_states, capfd, caplog
) -> None:
    import json

    from lg_autotrack import dag_object

    monkeypatch.setenv("AIRFLOW__LOCKGATE__AUTO_TRACK", "True")
    monkeypatch.setenv("AIRFLOW__LOCKGATE__CONN_ID", "lg_down")
    monkeypatch.setenv(
        "AIRFLOW_CONN_LG_DOWN",
        json.dumps({"conn_type": "lockgate", "extra": {"tracking_uri": "http://127.0.0.1:9", "retries": 0}}),
    )
    dag_run = dag_object.test()
    # same outcome as without tracking: prepare succeeds, explode fails by design
    assert task_states(dag_run) == {"prepare": "success", "explode": "failed"}
    out = capfd.readouterr()
    logged = out.out + out.err + caplog.text
    assert "Lockgate could not start tracking" in logged
    assert "Lockgate server http://127.0.0.1:9 is unreachable after 1 attempts" in logged
    assert "Lockgate could not close the parent run" in logged
