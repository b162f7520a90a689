"""Test DAGs for bad input: connections and templated fields that render to nonsense."""

from __future__ import annotations

import datetime

from airflow.sdk import dag, task


@dag(
    dag_id="lg_missing_conn",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    params={"experiment": None},
)
def lg_missing_conn():
    @task.lockgate(experiment="never", lockgate_conn_id="no_such_conn")
    def uses_missing_conn() -> None:
        raise AssertionError("the task body must not run without its connection")

    @task.lockgate(experiment="{{ params.experiment }}")
    def nonsense_experiment() -> None:
        raise AssertionError("the task body must not run with a nonsense experiment")

    uses_missing_conn()
    nonsense_experiment()


missing_conn_dag = lg_missing_conn()
