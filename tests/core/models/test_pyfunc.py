"""Custom PythonModel models: bundled artifacts, context, loading by Lockgate and MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import lockgate
import numpy as np
import pandas as pd
import pytest
from lockgate.errors import AlreadyExists, InvalidArgument, NotFound


class ThresholdModel(lockgate.pyfunc.PythonModel):
    """Scores rows above a threshold read from a bundled artifact."""

    def load_context(self, context):
        with open(context.artifacts["config"]) as handle:
            self.threshold = json.load(handle)["threshold"]

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        return (model_input["score"] * scale > self.threshold).astype(int)


class NoContextModel(lockgate.pyfunc.PythonModel):
    def predict(self, model_input):
        return np.asarray(model_input).sum(axis=1)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"threshold": 0.5}))
    return path


def test_python_model_with_artifacts(tmp_path: Path, config_file: Path) -> None:
    frame = pd.DataFrame({"score": [0.1, 0.7, 0.5, 0.9]})
    lockgate.pyfunc.save_model(tmp_path / "m", python_model=ThresholdModel(),
                               artifacts={"config": str(config_file)}, input_example=frame[:2])
    config_file.unlink()  # the model must carry its own copy
    model = lockgate.pyfunc.load_model(tmp_path / "m")
    assert model.predict(frame).tolist() == [0, 1, 0, 1]
    assert model.predict(frame, params={"scale": 2.0}).tolist() == [0, 1, 1, 1]
    assert model.unwrap_python_model().threshold == 0.5
    assert model.predict(model.input_example()).tolist() == [0, 1]
    assert (tmp_path / "m" / "artifacts" / "config.json").is_file()


def test_python_model_loads_with_mlflow(tmp_path: Path, config_file: Path) -> None:
    import mlflow
    from lockgate.models.signature import infer_signature

    frame = pd.DataFrame({"score": [0.1, 0.7]})
    signature = infer_signature(frame, params={"scale": 1.0})
    lockgate.pyfunc.save_model(tmp_path / "m", python_model=ThresholdModel(),
                               artifacts={"config": str(config_file)}, input_example=frame,
                               signature=signature)
    assert lockgate.pyfunc.load_model(tmp_path / "m").predict(frame, params={"scale": 10.0}).tolist() == [1, 1]
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    assert list(loaded.predict(frame)) == [0, 1]
    assert list(loaded.predict(frame, params={"scale": 10.0})) == [1, 1]


def test_predict_without_context_argument(tmp_path: Path) -> None:
    array = np.arange(6, dtype="float64").reshape(3, 2)
    lockgate.pyfunc.save_model(tmp_path / "m", python_model=NoContextModel(), input_example=array)
    model = lockgate.pyfunc.load_model(tmp_path / "m")
    assert model.predict(array).tolist() == [1.0, 5.0, 9.0]
    assert model.signature.inputs.is_tensor


def test_saving_over_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x").write_text("1")
    with pytest.raises(AlreadyExists, match="not empty"):
        lockgate.pyfunc.save_model(tmp_path / "m", python_model=NoContextModel())


def test_missing_model_uri(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nowhere"):
        lockgate.pyfunc.load_model(tmp_path / "nowhere")


def test_directory_without_mlmodel(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="No MLmodel file"):
        lockgate.pyfunc.load_model(tmp_path / "empty")


@pytest.mark.parametrize("content, match", [
    ("flavors: [unclosed", "not valid YAML"),
    ("just a string", "not a YAML mapping"),
    ("flavors: {}\n", "declares no flavors"),
    ("flavors:\n  sklearn: {pickled_model: model.pkl}\n", "no python_function flavor"),
    ("flavors:\n  python_function: {}\n", "names no loader_module"),
    ("flavors:\n  python_function: {loader_module: not_a_real_module_xyz}\n", "pip install not_a_real_module_xyz"),
    (("flavors:\n  python_function: {loader_module: mlflow.sklearn, model_path: model.pkl}\n"
      "  sklearn: {pickled_model: model.pkl, serialization_format: cloudpickle}\n"), "incomplete"),
    ("flavors:\n  python_function: 3\n", "not a mapping"),
    (("flavors:\n  python_function: {loader_module: lockgate.models.pyfunc}\n"
      "signature: {inputs: 'not json'}\n"), "signature is malformed"),
])
def test_corrupt_mlmodel_files(tmp_path: Path, content: str, match: str) -> None:
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text(content)
    with pytest.raises(InvalidArgument, match=match):
        lockgate.pyfunc.load_model(model_dir)


def test_corrupt_pickle(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    lockgate.sklearn.save_model(LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0]), tmp_path / "m")
    (tmp_path / "m" / "model.pkl").write_bytes(b"not a pickle")
    with pytest.raises(InvalidArgument, match="could not be loaded"):
        lockgate.pyfunc.load_model(tmp_path / "m")
