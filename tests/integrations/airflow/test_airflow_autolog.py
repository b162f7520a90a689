"""Autologging inside a @task.lockgate task: each fit is a child run of the task's run."""

from __future__ import annotations

import lockgate
from lockgate import LockgateClient
from lockgate.entities import RunStatus


def test_autologged_fits_nest_under_the_task_run(lockgate_conn: str, task_states) -> None:  # type: ignore[no-untyped-def]
    from lg_autolog import dag_object

    try:
        dag_run = dag_object.test()
    finally:
        lockgate.autolog(disable=True)
    assert task_states(dag_run) == {"fit_two_models": "success"}

    client = LockgateClient(lockgate_conn)  # the connection's store, not the process's default
    experiment_id = client.get_experiment_by_name("autolog-in-airflow").experiment_id
    (step,) = client.search_runs([experiment_id],
                                 "tags.`lockgate.airflow.kind` = 'task_instance'")
    assert step.data.tags["lockgate.airflow.task_id"] == "fit_two_models"
    assert step.info.status == RunStatus.FINISHED
    children = client.search_runs([experiment_id],
                                  f"tags.mlflow.parentRunId = '{step.info.run_id}'",
                                  order_by=["params.C ASC"])
    assert [c.data.params["C"] for c in children] == ["0.5", "2.0"]
    for child in children:
        assert child.data.tags["lockgate.autologging"] == "sklearn"
        assert child.info.status == RunStatus.FINISHED
        assert child.data.metrics["training_accuracy_score"] > 0.9
    assert step.data.params == {}  # the task's own run kept its params free of the fits'
    assert list(LockgateClient().search_runs(["0"])) == []  # nothing strayed into the default store
