"""Test DAG: plain @task tasks that the listener tracks when [lockgate] auto_track is on."""

from __future__ import annotations

import datetime

import lockgate
from airflow.sdk import dag, task


@dag(dag_id="lg_autotrack", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_autotrack():
    @task
    def prepare() -> int:
        lockgate.log_metric("rows", 120)
        return 120

    @task
    def explode(rows: int) -> None:
        lockgate.log_param("rows_seen", rows)
        raise ValueError("this task always fails")

    explode(prepare())


dag_object = lg_autotrack()
