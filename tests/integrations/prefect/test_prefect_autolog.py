"""Autologging inside a tracked Prefect flow: each fit is a child run of the step's run."""

from __future__ import annotations

import lockgate
from lockgate.entities import RunStatus
from lockgate_prefect import tracked
from prefect import flow, task
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


@task
@tracked()
def fit_two_models() -> str:
    x, y = load_iris(return_X_y=True, as_frame=True)
    LogisticRegression(C=0.5, max_iter=300).fit(x, y)
    LogisticRegression(C=2.0, max_iter=300).fit(x, y)
    active = lockgate.active_run()
    assert active is not None
    return active.info.run_id


@flow
@tracked(experiment="autolog-in-prefect")
def training_flow() -> str:
    return fit_two_models()


def test_autologged_fits_nest_under_the_task_run() -> None:
    lockgate.sklearn.autolog(log_models=False)
    try:
        state = training_flow(return_state=True)
    finally:
        lockgate.sklearn.autolog(disable=True)
    assert state.is_completed(), state
    step_run_id = state.result()
    step = lockgate.get_run(step_run_id)
    assert step.data.tags["lockgate.orchestrator"] == "prefect"
    children = lockgate.search_runs(
        ["autolog-in-prefect"], f"tags.mlflow.parentRunId = '{step_run_id}'",
        order_by=["params.C ASC"])
    assert [c.data.params["C"] for c in children] == ["0.5", "2.0"]
    for child in children:
        assert child.data.tags["lockgate.autologging"] == "sklearn"
        assert child.info.status == RunStatus.FINISHED
        assert child.data.metrics["training_accuracy_score"] > 0.9
    assert step.data.params == {}  # the step's own run kept its params free of the fits'
