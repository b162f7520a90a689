"""The stock mlflow client's registry and MLflow 3 model logging against a live server:
log_model, register, aliases, stages (gated), and loading ``models:/name@alias``."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

pytestmark = pytest.mark.usefixtures("mlflow_env")  # tests/core/server/conftest.py


def test_sklearn_log_model_register_alias_and_load(server_url: str) -> None:
    import numpy as np
    from sklearn import linear_model
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0.0, 2.0, 4.0, 6.0])
    model = linear_model.LinearRegression().fit(X, y)
    mlflow.set_experiment("registry")
    with mlflow.start_run() as run:
        mlflow.log_metric("r2", 1.0)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="churn")
    assert info.model_id.startswith("m-")
    client = MlflowClient()
    logged = client.get_logged_model(info.model_id)
    assert logged.status.to_proto() == 2 or str(logged.status).endswith("READY")
    assert logged.source_run_id == run.info.run_id
    version = client.get_model_version("churn", "1")
    assert version.run_id == run.info.run_id
    client.set_registered_model_alias("churn", "champion", "1")
    assert client.get_model_version_by_alias("churn", "champion").version == "1"
    assert client.get_registered_model("churn").aliases == {"champion": "1"}
    loaded = mlflow.pyfunc.load_model("models:/churn@champion")
    assert loaded.predict(np.array([[10.0]]))[0] == pytest.approx(20.0)
    found = client.search_model_versions("name = 'churn'")
    assert [v.version for v in found] == ["1"]
    client.delete_registered_model_alias("churn", "champion")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias("churn", "champion")


def test_stages_tags_and_gated_transition(server_url: str, sqlite_uri: str) -> None:
    client = MlflowClient()
    exp = client.create_experiment("gated")
    good = client.create_run(exp)
    client.log_metric(good.info.run_id, "auc", 0.95)
    bad = client.create_run(exp)
    client.log_metric(bad.info.run_id, "auc", 0.55)
    client.create_registered_model("fraud", tags={"team": "risk"}, description="fraud model")
    v1 = client.create_model_version("fraud", f"{good.info.artifact_uri}/model", run_id=good.info.run_id)
    v2 = client.create_model_version("fraud", f"{bad.info.artifact_uri}/model", run_id=bad.info.run_id)
    assert (v1.version, v2.version) == ("1", "2")
    client.set_model_version_tag("fraud", "1", "validated", "yes")
    assert client.get_model_version("fraud", "1").tags == {"validated": "yes"}

    from lockgate.registry.sql import SqlRegistry

    SqlRegistry(sqlite_uri).set_gate_policy(
        "fraud", stage="Production", policy={"rules": [{"type": "metric_threshold", "metric": "auc", "min": 0.9}]}
    )
    with pytest.raises(MlflowException, match="auc") as refused:
        client.transition_model_version_stage("fraud", "2", "Production")
    assert refused.value.error_code == "INVALID_STATE"
    assert client.get_model_version("fraud", "2").current_stage == "None"
    moved = client.transition_model_version_stage("fraud", "1", "Production")
    assert moved.current_stage == "Production"
    latest = client.get_latest_versions("fraud", stages=["Production"])
    assert [v.version for v in latest] == ["1"]
    rm = client.get_registered_model("fraud")
    assert rm.description == "fraud model" and rm.tags == {"team": "risk"}
    # A model with gate policies cannot be renamed without an override (its old name would be
    # free for an ungated model); the MLflow API has no override, so it is refused there.
    with pytest.raises(MlflowException, match="changes guarded stage Production") as renamed:
        client.rename_registered_model("fraud", "fraud-v2")
    assert renamed.value.error_code == "INVALID_STATE"
    SqlRegistry(sqlite_uri).rename_registered_model("fraud", "fraud-v2", reason="new name", override=True,
                                                    privileged=True)
    assert [m.name for m in client.search_registered_models()] == ["fraud-v2"]
    client.delete_model_version("fraud-v2", "2")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_model_version("fraud-v2", "2")


def test_create_model_version_twice_makes_versions_1_and_2(server_url: str) -> None:
    """The stock mlflow client: the same source and run registered twice are two versions."""
    client = MlflowClient()
    run = client.create_run(client.create_experiment("twice"))
    client.create_registered_model("twice")
    source = f"{run.info.artifact_uri}/model"
    first = client.create_model_version("twice", source, run_id=run.info.run_id)
    second = client.create_model_version("twice", source, run_id=run.info.run_id)
    assert (first.version, second.version) == ("1", "2")
    assert [v.version for v in client.search_model_versions("name='twice'")] == ["2", "1"]
