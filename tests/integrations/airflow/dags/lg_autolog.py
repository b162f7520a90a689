"""Test DAG: a @task.lockgate task that turns autologging on and fits two scikit-learn models."""

from __future__ import annotations

import datetime

import lockgate
from airflow.sdk import dag, task


@dag(dag_id="lg_autolog", schedule=None, start_date=datetime.datetime(2024, 1, 1), catchup=False)
def lg_autolog():
    @task.lockgate(experiment="autolog-in-airflow", lockgate_conn_id="lockgate_test")
    def fit_two_models() -> None:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        lockgate.autolog(log_models=False)
        x, y = load_iris(return_X_y=True, as_frame=True)
        LogisticRegression(C=0.5, max_iter=300).fit(x, y)
        LogisticRegression(C=2.0, max_iter=300).fit(x, y)

    fit_two_models()


dag_object = lg_autolog()
