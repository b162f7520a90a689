"""Keras 3 flavor (torch backend on CPU): a real small model, round trips with ``mlflow.keras`` both ways."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import keras
import lockgate
import mlflow.keras
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import yaml
from lockgate.errors import InvalidArgument
from mlflow.keras.utils import get_model_signature
from sklearn.datasets import load_iris

DOC = Path(__file__).resolve().parents[3] / "docs" / "models.md"


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X.astype("float32"), y.to_numpy()


@pytest.fixture(scope="module")
def trained(iris: tuple[pd.DataFrame, np.ndarray]) -> tuple[Any, np.ndarray]:
    """A two-layer classifier trained for a few epochs, and its predictions on the data."""
    X, y = iris
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X.to_numpy(), y, epochs=4, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    return model, model.predict(X.to_numpy(), verbose=0)


def test_lockgate_model_loads_in_mlflow(tmp_path: Path, iris: Any, trained: Any) -> None:
    X, _ = iris
    model, expected = trained
    lockgate.keras.save_model(model, tmp_path / "m", input_example=X.iloc[:3])

    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert mlmodel["flavors"]["keras"] == {
        "data": "data", "keras_version": keras.__version__, "keras_backend": "torch",
        "save_exported_model": False,
    }
    pyfunc = mlmodel["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.keras" and "data" not in pyfunc
    assert (tmp_path / "m" / "data" / "model.keras").is_file()
    assert (tmp_path / "m" / "data" / "keras_module.txt").read_text() == "keras"
    requirements = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert f"keras=={keras.__version__}" in requirements and any(r.startswith("torch==") for r in requirements)

    by_mlflow = mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(X)
    assert isinstance(by_mlflow, pd.DataFrame) and by_mlflow.shape == (150, 3)
    np.testing.assert_allclose(by_mlflow.to_numpy(), expected, rtol=1e-6)
    native = mlflow.keras.load_model(str(tmp_path / "m"))
    np.testing.assert_allclose(native.predict(X.to_numpy(), verbose=0), expected, rtol=1e-6)
    ours = lockgate.pyfunc.load_model(tmp_path / "m").predict(X)
    pd.testing.assert_frame_equal(ours, by_mlflow)


def test_mlflow_model_loads_in_lockgate(tmp_path: Path, iris: Any, trained: Any) -> None:
    X, _ = iris
    model, expected = trained
    (tmp_path / "m").mkdir()  # mlflow.keras.save_model writes the example before creating the dir
    mlflow.keras.save_model(model, str(tmp_path / "m"), signature=get_model_signature(model),
                            input_example=X.to_numpy()[:3], pip_requirements=["keras"])

    native = lockgate.keras.load_model(tmp_path / "m")
    assert isinstance(native, keras.Sequential)
    np.testing.assert_allclose(native.predict(X.to_numpy(), verbose=0), expected, rtol=1e-6)
    ours = lockgate.pyfunc.load_model(tmp_path / "m", suppress_warnings=True)
    assert ours.metadata.mlflow_version == mlflow.__version__
    out = ours.predict(X.to_numpy())  # the tensor signature: float32 [-1, 4]
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    with pytest.raises(InvalidArgument, match=r"shape \[-1, 4\]"):
        ours.predict(X.to_numpy()[:, :3])


def test_log_model_registers_and_loads_by_alias(iris: Any, trained: Any, client: Any) -> None:
    X, _ = iris
    model, expected = trained
    with lockgate.start_run():
        info = lockgate.keras.log_model(model, name="model", input_example=X.iloc[:5],
                                        registered_model_name="iris-nn")
    assert info.registered_model_version == 1
    client.set_registered_model_alias("iris-nn", "champion", "1")
    loaded = lockgate.pyfunc.load_model("models:/iris-nn@champion")
    np.testing.assert_allclose(loaded.predict(X).to_numpy(), expected, rtol=1e-6)
    with pytest.raises(InvalidArgument, match="petal width"):
        loaded.predict(X.drop(columns=["petal width (cm)"]))


def test_bad_input_is_refused(tmp_path: Path, trained: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = trained
    with pytest.raises(InvalidArgument, match="takes a keras.Model, not LinearRegression"):
        from sklearn.linear_model import LinearRegression

        lockgate.keras.save_model(LinearRegression(), tmp_path / "x")
    lockgate.keras.save_model(model, tmp_path / "m")
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("save_exported_model: false",
                                                   "save_exported_model: true"))
    with pytest.raises(InvalidArgument, match="exported"):
        lockgate.keras.load_model(tmp_path / "m")
    monkeypatch.setitem(sys.modules, "keras", None)  # what an uninstalled package looks like
    with pytest.raises(InvalidArgument, match=r"pip install 'lockgate\[keras\]'"):
        lockgate.keras.save_model(model, tmp_path / "n")


def test_docs_example_runs() -> None:
    section = DOC.read_text().split("### Keras 3\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    ns: dict[str, Any] = {}
    try:
        exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 - the documented example itself
    finally:
        lockgate.keras.autolog(disable=True)
    run, losses = ns["run"], ns["losses"]
    assert [m.step for m in losses] == [0, 1, 2]
    assert run.data.params["epochs"] == "3" and run.data.params["batch_size"] == "32"
    assert "model" in {f.path for f in lockgate.list_artifacts(run_id=run.info.run_id)}
    X = ns["X"]
    np.testing.assert_allclose(ns["probabilities"], ns["model"].predict(X, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(ns["native"].predict(X, verbose=0), ns["model"].predict(X, verbose=0))
