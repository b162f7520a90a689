"""Test DAGs for the registry operators and the sensor: a happy path and a run full of bad input."""

from __future__ import annotations

import datetime
import os

import lockgate
from airflow.sdk import dag, task
from lockgate_airflow.operators import (
    BatchPredictOperator,
    PromoteModelOperator,
    RegisterModelOperator,
)
from lockgate_airflow.sensors import ModelVersionSensor

GATE = {"rules": [{"type": "metric_threshold", "metric": "val_auc", "min": 0.9}]}


def _fit_and_log(auc: float) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    lockgate.log_metric("val_auc", auc)
    lockgate.sklearn.log_model(LogisticRegression().fit(X, y), name="model")


@dag(dag_id="lg_registry_ok", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_registry_ok():
    @task.lockgate(experiment="registry-ok")
    def train() -> None:
        _fit_and_log(0.95)

    @task
    def write_input() -> str:
        import pandas as pd

        os.makedirs(os.environ["LOCKGATE_HOME"], exist_ok=True)  # may run before anything else wrote there
        path = os.path.join(os.environ["LOCKGATE_HOME"], "to_score.csv")
        pd.DataFrame({"a": [0.0, 1.0, 0.1], "b": [1.0, 0.0, 0.8]}).to_csv(path, index=False)
        return path

    run_id = train()
    register = RegisterModelOperator(task_id="register", model_name="ok-model", run_id=run_id)
    register_again = RegisterModelOperator(task_id="register_again", model_name="ok-model", run_id=run_id)
    promote = PromoteModelOperator(task_id="promote", model_name="ok-model", version=register.output, alias="champion")
    promote_again = PromoteModelOperator(
        task_id="promote_again", model_name="ok-model", version="{{ ti.xcom_pull(task_ids='register') }}",
        alias="champion",
    )
    new_version = ModelVersionSensor(task_id="new_version", model_name="ok-model", after_event_id=0, poke_interval=1)
    alias_moved = ModelVersionSensor(
        task_id="alias_moved", model_name="ok-model", alias="champion", after_event_id="0", deferrable=True,
        poke_interval=1,
    )
    score = BatchPredictOperator(
        task_id="score", model_uri="models:/ok-model@champion", input_path=write_input(),
        output_path="{{ ti.xcom_pull(task_ids='write_input') }}.predictions.csv",
    )
    score_dask = BatchPredictOperator(
        task_id="score_dask", model_uri="models:/ok-model@champion", engine="dask",
        input_path="{{ ti.xcom_pull(task_ids='write_input') }}",
        output_path="{{ ti.xcom_pull(task_ids='write_input') }}.dask.parquet",
    )
    register >> register_again >> promote >> promote_again >> [new_version, alias_moved] >> score >> score_dask


@dag(
    dag_id="lg_registry_bad",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    params={"version": "abc", "empty": None, "uri": "None"},
)
def lg_registry_bad():
    @task
    def guard() -> None:
        from lockgate_airflow.hooks import LockgateHook

        client = LockgateHook().get_conn()
        client.create_registered_model("weak-model")
        client.set_gate_policy("weak-model", alias="champion", policy=GATE)

    @task.lockgate(experiment="registry-bad")
    def train() -> None:
        _fit_and_log(0.61)

    run_id = train()
    register = RegisterModelOperator(task_id="register", model_name="weak-model", run_id=run_id)
    guard() >> register
    RegisterModelOperator(task_id="register_missing_path", model_name="weak-model", run_id=run_id,
                          artifact_path="never_logged")
    RegisterModelOperator(task_id="register_nonsense_run", model_name="weak-model", run_id="{{ params.empty }}")
    RegisterModelOperator(task_id="register_unknown_run", model_name="weak-model", run_id="0" * 32)
    PromoteModelOperator(task_id="promote_gate", model_name="weak-model", version=register.output, alias="champion")
    PromoteModelOperator(task_id="promote_gate_soft", model_name="weak-model", version=register.output,
                         alias="champion", soft_fail=True)
    PromoteModelOperator(task_id="promote_unknown_model", model_name="ghost-model", version=1, alias="champion")
    PromoteModelOperator(task_id="promote_unknown_version", model_name="weak-model", version=99, alias="champion")
    PromoteModelOperator(task_id="promote_nonsense_version", model_name="weak-model", version="{{ params.version }}",
                         alias="champion")
    ModelVersionSensor(task_id="sensor_unknown_model", model_name="ghost-model", timeout=5, poke_interval=1)
    BatchPredictOperator(task_id="score_unknown_alias", model_uri="models:/weak-model@nobody",
                         input_path="/nonexistent.csv", output_path="/tmp/never.csv")
    BatchPredictOperator(task_id="score_nonsense_uri", model_uri="{{ params.uri }}", input_path="in.csv",
                         output_path="out.csv")
    BatchPredictOperator(task_id="score_unknown_engine", model_uri="models:/weak-model/1", engine="ray",
                         input_path="in.csv", output_path="out.csv")


ok_dag = lg_registry_ok()
bad_dag = lg_registry_bad()
