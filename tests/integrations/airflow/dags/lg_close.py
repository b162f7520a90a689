"""Test DAG: one @task.lockgate task, for the DAG-run listener's close of the parent run."""

from __future__ import annotations

import datetime

import lockgate
from airflow.sdk import dag, task


@dag(dag_id="lg_close", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_close():
    @task.lockgate(experiment="close-exp")
    def train() -> None:
        lockgate.log_metric("val_auc", 0.9)

    train()


dag_object = lg_close()
