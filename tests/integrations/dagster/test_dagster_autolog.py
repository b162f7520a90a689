"""Autologging inside an asset's ``start_run`` block: each fit is a child run of the step's run."""

import dagster as dg
import lockgate
import pytest
from lockgate import LockgateClient, settings
from lockgate.entities import RunStatus
from lockgate_dagster import LockgateResource


@pytest.mark.parametrize("store", ["process", "resource"])
def test_autologged_fits_nest_under_the_step_run(store: str, instance: dg.DagsterInstance,
                                                 sqlite_uri: str) -> None:
    # "resource": the resource names a store other than the process's tracking URI.
    uri = sqlite_uri if store == "resource" else None

    @dg.asset
    def churn_model(context: dg.AssetExecutionContext, tracking: LockgateResource) -> str:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        with tracking.start_run(context) as run:
            lockgate.autolog(log_models=False)
            x, y = load_iris(return_X_y=True, as_frame=True)
            LogisticRegression(C=0.5, max_iter=300).fit(x, y)
            LogisticRegression(C=2.0, max_iter=300).fit(x, y)
        return run.info.run_id

    try:
        result = dg.materialize(
            [churn_model], instance=instance,
            resources={"tracking": LockgateResource(tracking_uri=uri, experiment="autolog-in-dagster")})
    finally:
        lockgate.autolog(disable=True)
    assert result.success
    assert settings.tracking_uri() != sqlite_uri  # the process's own tracking URI is back

    client = LockgateClient(uri) if uri else LockgateClient()
    step_run_id = result.output_for_node("churn_model")
    step = client.get_run(step_run_id)
    assert step.data.tags["lockgate.orchestrator"] == "dagster"
    assert step.info.status == RunStatus.FINISHED
    children = client.search_runs([step.info.experiment_id], f"tags.mlflow.parentRunId = '{step_run_id}'",
                                  order_by=["params.C ASC"])
    assert [c.data.params["C"] for c in children] == ["0.5", "2.0"]
    for child in children:
        assert child.data.tags["lockgate.autologging"] == "sklearn"
        assert child.info.status == RunStatus.FINISHED
        assert child.data.metrics["training_accuracy_score"] > 0.9
    assert step.data.params == {}  # the step's own run kept its params free of the fits'
    if uri is not None:  # nothing strayed into the process's default store
        assert list(LockgateClient().search_runs(["0"])) == []
