"""Models on a live ``lockgate server`` that proxies artifacts (its default): a model logged by
Lockgate or by the stock mlflow client loads with ``lockgate.pyfunc.load_model`` from
``models:/<name>/<version>`` and ``models:/<name>@<alias>``, and predicts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import lockgate
import mlflow
import numpy as np
import pytest
from lockgate import LockgateClient
from sklearn.linear_model import LinearRegression

X = np.array([[0.0], [1.0], [2.0], [3.0]])
y = np.array([1.0, 3.0, 5.0, 7.0])  # 2x + 1


@pytest.fixture
def proxied_server(
    start_process_server: Callable[..., str], sqlite_uri: str, artifacts_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """`lockgate server` as a process with its defaults: artifacts served through its proxy."""
    url = start_process_server("--backend-store-uri", sqlite_uri, "--artifacts-destination", str(artifacts_dir))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    mlflow.set_tracking_uri(url)
    lockgate.set_tracking_uri(url)
    yield url
    while mlflow.active_run():
        mlflow.end_run()


def _predicts_2x_plus_1(model: lockgate.pyfunc.PyFuncModel) -> None:
    assert model.predict(np.array([[10.0], [-1.0]])).tolist() == pytest.approx([21.0, -1.0])


def test_model_logged_by_lockgate_loads_by_version_and_alias(proxied_server: str, artifacts_dir: Path) -> None:
    lockgate.set_experiment("server-models")
    with lockgate.start_run() as run:
        info = lockgate.sklearn.log_model(LinearRegression().fit(X, y), name="model",
                                          registered_model_name="lg-model")
    assert info.registered_model_version == 1
    client = LockgateClient(proxied_server)
    version = client.get_model_version("lg-model", 1)
    exp_id = run.info.experiment_id
    assert version.storage_location == f"mlflow-artifacts:/{exp_id}/{run.info.run_id}/artifacts/model"
    # The bytes sit in the server's destination, not anywhere the client could read directly.
    assert (artifacts_dir / exp_id / run.info.run_id / "artifacts" / "model" / "MLmodel").is_file()
    client.set_registered_model_alias("lg-model", "champion", 1)
    _predicts_2x_plus_1(lockgate.pyfunc.load_model("models:/lg-model/1"))
    _predicts_2x_plus_1(lockgate.pyfunc.load_model("models:/lg-model@champion"))
    _predicts_2x_plus_1(lockgate.pyfunc.load_model(f"runs:/{run.info.run_id}/model"))


def test_model_logged_by_mlflow_loads_by_version_and_alias(proxied_server: str) -> None:
    mlflow.set_experiment("mlflow-models")
    with mlflow.start_run():
        # Explicit requirements: mlflow's inference would re-import the model in a subprocess.
        info = mlflow.sklearn.log_model(LinearRegression().fit(X, y), name="model",
                                        registered_model_name="mlflow-model",
                                        pip_requirements=["scikit-learn"])
    assert info.model_id.startswith("m-")
    mlflow.MlflowClient().set_registered_model_alias("mlflow-model", "champion", "1")
    version = LockgateClient(proxied_server).get_model_version("mlflow-model", 1)
    assert version.storage_location.startswith("mlflow-artifacts:/")
    _predicts_2x_plus_1(lockgate.pyfunc.load_model("models:/mlflow-model/1"))
    _predicts_2x_plus_1(lockgate.pyfunc.load_model("models:/mlflow-model@champion"))
