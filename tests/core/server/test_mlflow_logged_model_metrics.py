"""MLflow 3 links metrics logged after ``log_model`` in a run to the logged model: the stock
client against a live Lockgate server reads them back on the model, with step, time and run."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

pytestmark = pytest.mark.usefixtures("mlflow_env")  # tests/core/server/conftest.py


def test_metrics_after_log_model_are_linked_to_the_model(server_url: str) -> None:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    client = MlflowClient()
    mlflow.set_experiment("linked")
    model = LinearRegression().fit(np.array([[0.0], [1.0]]), np.array([1.0, 3.0]))
    with mlflow.start_run() as run:
        mlflow.log_metric("before", 1.0, timestamp=1_500_000_000_000)  # log_model links the step's points
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
        mlflow.log_metric("r2", 0.75, timestamp=1_600_000_000_000)
        mlflow.log_metric("r2", 0.5, timestamp=1_600_000_000_000)  # same point, other value: the first stays
        mlflow.log_metric("later", 2.0, step=5)  # no model output at step 5: not linked
    logged = client.get_logged_model(info.model_id)
    assert [(m.key, m.value, m.step, m.timestamp, m.run_id, m.model_id) for m in logged.metrics] == [
        ("before", 1.0, 0, 1_500_000_000_000, run.info.run_id, info.model_id),
        ("r2", 0.75, 0, 1_600_000_000_000, run.info.run_id, info.model_id)]
    assert client.get_run(run.info.run_id).data.metrics == {"before": 1.0, "r2": 0.75, "later": 2.0}
    # Linking re-sent "before": the run still holds it once, as in MLflow.
    assert [(m.value, m.timestamp) for m in client.get_metric_history(run.info.run_id, "before")] == [
        (1.0, 1_500_000_000_000)]

    # The run's outputs name the model, so a metric logged by run id links to it too.
    got = client.get_run(run.info.run_id)
    assert [(o.model_id, o.step) for o in got.outputs.model_outputs] == [(info.model_id, 0)]
    (searched,) = client.search_runs([run.info.experiment_id])
    assert [o.model_id for o in searched.outputs.model_outputs] == [info.model_id]
    mlflow.log_metric("by_id", 3.0, run_id=run.info.run_id)
    client.log_batch(run.info.run_id, metrics=[
        Metric("batch", 4.0, 1_600_000_000_001, 2, model_id=info.model_id, dataset_name="train", dataset_digest="d1")])
    metrics = {m.key: m for m in client.get_logged_model(info.model_id).metrics}
    assert sorted(metrics) == ["batch", "before", "by_id", "r2"]
    batch = metrics["batch"]
    assert (batch.value, batch.step, batch.dataset_name, batch.dataset_digest) == (4.0, 2, "train", "d1")

    with pytest.raises(MlflowException) as err:
        client.log_batch(run.info.run_id, metrics=[Metric("x", 1.0, 1, 0, model_id="m-" + "0" * 32)])
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
