"""Test DAG: @task.lockgate tasks, a retried task, a mapped task and a run id handed downstream."""

from __future__ import annotations

import datetime

import lockgate
from airflow.sdk import dag, task


@dag(dag_id="lg_tracked", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_tracked():
    @task.lockgate(experiment="tracked-exp")
    def train() -> None:
        lockgate.log_param("alpha", 0.5)
        lockgate.log_metric("val_auc", 0.75)
        lockgate.log_metric("val_auc", 0.81, step=1)

    @task.lockgate(experiment="tracked-exp", retries=1, retry_delay=datetime.timedelta(seconds=0))
    def flaky() -> str:
        from airflow.sdk import get_current_context

        try_number = get_current_context()["ti"].try_number
        lockgate.log_metric("attempt", try_number)
        if try_number == 1:
            raise RuntimeError("first attempt fails on purpose")
        return "recovered"

    @task.lockgate(experiment="tracked-exp")
    def mapped(x: int) -> None:
        lockgate.log_metric("x", x)

    @task
    def consume(train_run_id: str) -> str:
        run = lockgate.LockgateClient().get_run(train_run_id)
        return run.data.metrics and str(run.data.metrics["val_auc"])

    run_id = train()
    consume(run_id)
    flaky()
    mapped.expand(x=[3, 4])


dag_object = lg_tracked()
