"""Topology test DAG: a @task.lockgate task on the server, retried once (the server may be down)."""

from __future__ import annotations

import datetime

import lockgate
from airflow.sdk import dag, task


@dag(dag_id="lg_topology_server", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_topology_server():
    @task.lockgate(experiment="faults", retries=1, retry_delay=datetime.timedelta(seconds=15))
    def train() -> None:
        lockgate.log_metric("val_auc", 0.91)

    train()


dag_object = lg_topology_server()
