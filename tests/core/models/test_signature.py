"""Signatures: inference from pandas/numpy/dict inputs, MLflow's JSON, enforcement messages."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import lockgate
import numpy as np
import pandas as pd
import pytest
from lockgate.errors import InvalidArgument
from lockgate.models.environment import EnvironmentMismatchWarning
from lockgate.models.signature import (
    ColSpec,
    ModelSignature,
    Schema,
    TensorSpec,
    enforce_schema,
    infer_signature,
)


def test_infer_from_pandas() -> None:
    frame = pd.DataFrame({
        "i64": np.array([1, 2], dtype="int64"), "i32": np.array([1, 2], dtype="int32"),
        "f64": [1.0, 2.0], "f32": np.array([1, 2], dtype="float32"), "flag": [True, False],
        "name": ["a", "b"], "when": pd.to_datetime(["2024-01-01", "2024-01-02"]), "raw": [b"x", b"y"],
    })
    schema = infer_signature(frame).inputs
    assert [(s.name, s.type) for s in schema.inputs] == [
        ("i64", "long"), ("i32", "integer"), ("f64", "double"), ("f32", "float"), ("flag", "boolean"),
        ("name", "string"), ("when", "datetime"), ("raw", "binary")]


def test_infer_from_numpy_and_dicts() -> None:
    sig = infer_signature(np.zeros((3, 4), dtype="float32"), np.zeros(3, dtype="int64"))
    assert sig.inputs.inputs == [TensorSpec("float32", (-1, 4))]
    assert sig.outputs.inputs == [ColSpec("long")]
    named = infer_signature({"image": np.zeros((2, 8, 8), dtype="uint8"), "mask": np.ones((2, 3))})
    assert named.inputs.inputs == [TensorSpec("uint8", (-1, 8, 8), "image"), TensorSpec("float64", (-1, 3), "mask")]
    scalars = infer_signature({"age": 3, "city": "Oslo"})
    assert [(s.name, s.type) for s in scalars.inputs.inputs] == [("age", "long"), ("city", "string")]
    records = infer_signature([{"a": 1.5}, {"a": 2.5}])
    assert records.inputs.inputs == [ColSpec("double", "a")]


def test_json_matches_mlflow() -> None:
    import mlflow.models

    frame = pd.DataFrame({"a": [1.0], "b": [1], "c": ["x"]})
    ours = infer_signature(frame, np.array([0, 1]), params={"k": 3})
    theirs = mlflow.models.ModelSignature.from_dict(ours.to_dict())
    assert theirs.inputs.input_names() == ["a", "b", "c"]
    assert json.loads(theirs.to_dict()["inputs"]) == json.loads(ours.to_dict()["inputs"])
    assert theirs.params.params[0].name == "k"
    back = ModelSignature.from_dict(mlflow.models.infer_signature(frame, np.array([0])).to_dict())
    assert back.inputs == ours.inputs


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"a": ["x"], "b": [1]}), "Column 'a' expects type 'double' but got str value 'x'"),
    (pd.DataFrame({"a": [1.0], "b": [1.5]}), "Column 'b' expects type 'long' but got non-integer value 1.5"),
    (pd.DataFrame({"a": [1.0], "b": [None]}), "Column 'b' expects type 'long' but got missing values"),
    (pd.DataFrame({"a": [1.0]}), "missing required column(s) 'b' (long)"),
    (pd.DataFrame({"a": [True], "b": [1]}), "Column 'a' expects type 'double' but got booleans"),
    (pd.DataFrame(), "empty"),
])
def test_enforcement_errors_name_column_and_type(frame: pd.DataFrame, message: str) -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("long", "b")])
    with pytest.raises(InvalidArgument) as err:
        enforce_schema(frame, schema)
    assert message in err.value.message


def test_enforcement_converts_and_selects() -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "c", required=False)])
    out = enforce_schema(pd.DataFrame({"extra": [0], "b": [2.0], "a": [1]}), schema)
    assert list(out.columns) == ["a", "b"]
    assert out["a"].dtype == "float64" and out["b"].dtype == "int64"
    out = enforce_schema([{"a": 1, "b": 2}], schema)
    assert out.to_dict(orient="records") == [{"a": 1.0, "b": 2}]
    with pytest.raises(InvalidArgument, match="empty"):
        enforce_schema(None, schema)


def test_tensor_enforcement() -> None:
    schema = Schema([TensorSpec("float32", (-1, 2))])
    assert enforce_schema(np.ones((3, 2), dtype="float64"), schema).dtype == np.float32
    with pytest.raises(InvalidArgument, match=r"expects shape \[-1, 2\] but got \[3, 3\]"):
        enforce_schema(np.ones((3, 3)), schema)
    with pytest.raises(InvalidArgument, match="expects dtype float32 but got <U1"):
        enforce_schema(np.array([["a", "b"]]), schema)
    named = Schema([TensorSpec("int64", (-1,), "x"), TensorSpec("int64", (-1,), "y")])
    with pytest.raises(InvalidArgument, match=r"missing tensor\(s\) \['y'\]"):
        enforce_schema({"x": np.array([1])}, named)


def test_environment_mismatch_warns_on_load(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    lockgate.sklearn.save_model(LinearRegression().fit([[1.0], [2.0]], [1.0, 2.0]), tmp_path / "m",
                                extra_pip_requirements=["not-installed-pkg==1.0"])
    requirements = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in requirements
    with warnings.catch_warnings():
        warnings.simplefilter("error", EnvironmentMismatchWarning)
        with pytest.raises(EnvironmentMismatchWarning, match=r"not-installed-pkg==1.0 \(not installed\)"):
            lockgate.pyfunc.load_model(tmp_path / "m")
    text = (tmp_path / "m" / "requirements.txt").read_text().replace(
        f"scikit-learn=={sklearn.__version__}", "scikit-learn==0.0.1")
    (tmp_path / "m" / "requirements.txt").write_text(text)
    with pytest.warns(EnvironmentMismatchWarning, match=rf"scikit-learn==0.0.1 \(running {sklearn.__version__}\)"):
        lockgate.pyfunc.load_model(tmp_path / "m")
    with warnings.catch_warnings():
        warnings.simplefilter("error", EnvironmentMismatchWarning)
        lockgate.pyfunc.load_model(tmp_path / "m", suppress_warnings=True)


def test_pytorch_model_loads_in_mlflow(tmp_path: Path) -> None:
    import mlflow.pyfunc
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    example = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    lockgate.pytorch.save_model(net, tmp_path / "net", input_example=example)
    with torch.no_grad():
        expected = net(torch.as_tensor(example)).numpy()
    np.testing.assert_allclose(mlflow.pyfunc.load_model(str(tmp_path / "net")).predict(example), expected, rtol=1e-6)
    native = lockgate.pytorch.load_model(tmp_path / "net")
    assert not native.training
    frame = pd.DataFrame(example, columns=["a", "b", "c"])
    with pytest.raises(InvalidArgument, match="expects shape"):
        lockgate.pyfunc.load_model(tmp_path / "net").predict(np.ones((2, 5), dtype="float32"))
    assert lockgate.pyfunc.load_model(tmp_path / "net").predict(frame.to_numpy()).shape == (5, 1)
