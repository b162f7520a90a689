"""Models move both ways between Lockgate and the real mlflow package."""

from __future__ import annotations

from pathlib import Path

import lockgate
import mlflow  # a test dependency: uv pip install mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import yaml
from lockgate.models.model import Model
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# Pinning requirements skips MLflow's slow requirement inference (a subprocess per save).
_PIP = ["scikit-learn", "pandas"]


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.integers(18, 80, 200).astype("int64"),
                      "income": rng.normal(50, 10, 200),
                      "tenure": rng.normal(3, 1, 200)})
    y = (X["income"] + rng.normal(0, 5, 200) > 50).astype(int).to_numpy()
    return X, y


def test_lockgate_sklearn_model_loads_in_mlflow(tmp_path: Path, data) -> None:
    X, y = data
    est = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    lockgate.sklearn.save_model(est, tmp_path / "m", input_example=X[:5])

    by_mlflow = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(by_mlflow.predict(X), est.predict(X))
    native = mlflow.sklearn.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(native.predict(X), est.predict(X))
    # MLflow reads our signature and input example as its own.
    schema = by_mlflow.metadata.get_input_schema()
    assert schema.input_names() == ["age", "income", "tenure"]
    assert [t.name for t in schema.input_types()] == ["long", "double", "double"]
    example = by_mlflow.metadata.load_input_example(str(tmp_path / "m"))
    pd.testing.assert_frame_equal(example.reset_index(drop=True), X[:5].reset_index(drop=True),
                                  check_dtype=False)


def test_mlflow_sklearn_models_load_in_lockgate(tmp_path: Path, data) -> None:
    X, y = data
    est = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    for fmt in ("skops", "cloudpickle", "pickle"):
        path = tmp_path / fmt
        trusted = ["sklearn.tree._tree.Tree"] if fmt == "skops" else None
        mlflow.sklearn.save_model(est, str(path), serialization_format=fmt, input_example=X[:3],
                                  skops_trusted_types=trusted, pip_requirements=_PIP)
        model = lockgate.pyfunc.load_model(path)
        np.testing.assert_array_equal(model.predict(X), est.predict(X))
        assert model.metadata.mlflow_version == mlflow.__version__
        assert model.signature is not None and model.signature.inputs.names() == ["age", "income", "tenure"]
        np.testing.assert_array_equal(model.predict(model.input_example()), est.predict(X[:3]))
        assert type(lockgate.sklearn.load_model(path)) is RandomForestClassifier


def test_mlflow_pyfunc_python_model_loads_in_lockgate(tmp_path: Path, data) -> None:
    X, _ = data

    class Doubler(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["income"] * 2

    mlflow.pyfunc.save_model(str(tmp_path / "pf"), python_model=Doubler(), input_example=X[:2],
                             pip_requirements=_PIP)
    model = lockgate.pyfunc.load_model(tmp_path / "pf")
    np.testing.assert_allclose(model.predict(X).to_numpy(), X["income"].to_numpy() * 2)


def test_mlmodel_round_trip_keeps_unknown_keys(tmp_path: Path, data) -> None:
    X, y = data
    mlflow.sklearn.save_model(LogisticRegression().fit(X, y), str(tmp_path / "m"), input_example=X[:2],
                              pip_requirements=_PIP)
    original = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    Model.load(tmp_path / "m").save(tmp_path / "m")
    rewritten = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert rewritten == original
    # and MLflow still reads the rewritten file
    assert mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X).shape == (200,)


def test_mlflow_log_model_loads_in_lockgate(tmp_path: Path, data, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = data
    est = LogisticRegression().fit(X, y)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment = mlflow.create_experiment("interop", artifact_location=(tmp_path / "mlartifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = mlflow.sklearn.log_model(est, name="model", input_example=X[:3], pip_requirements=_PIP)
        location = mlflow.MlflowClient().get_logged_model(info.model_id).artifact_location
    finally:
        mlflow.set_tracking_uri(None)
    assert location.startswith("file://")
    model = lockgate.pyfunc.load_model(location)
    np.testing.assert_array_equal(model.predict(X), est.predict(X))
    np.testing.assert_array_equal(model.predict(model.input_example()), est.predict(X[:3]))
