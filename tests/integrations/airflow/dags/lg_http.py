"""Test DAG: a tracked task writing to a Lockgate server through the ``lg_http`` connection."""

from __future__ import annotations

import datetime

import lockgate
from airflow.sdk import dag, task


@dag(dag_id="lg_http", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_http():
    @task.lockgate(experiment="over-http", lockgate_conn_id="lg_http")
    def train() -> None:
        lockgate.log_param("where", "server")
        lockgate.log_metric("val_auc", 0.88)

    train()


dag_object = lg_http()
