"""Topology test DAG: a @task.lockgate task on the embedded store (a SQLite file), no server."""

from __future__ import annotations

import datetime

import lockgate
from airflow.sdk import dag, task


@dag(dag_id="lg_topology_embedded", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_topology_embedded():
    @task.lockgate(experiment="embedded", lockgate_conn_id="lockgate_embedded")
    def train() -> None:
        lockgate.log_metric("val_auc", 0.93)

    train()


dag_object = lg_topology_embedded()
