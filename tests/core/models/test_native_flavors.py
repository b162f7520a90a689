"""XGBoost, LightGBM and ONNX flavors: real models, round trips with MLflow's own flavors both ways."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import lockgate
import mlflow.lightgbm
import mlflow.onnx
import mlflow.pyfunc
import mlflow.xgboost
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
import yaml
from lockgate.errors import InvalidArgument
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression

_PIP = ["pandas"]  # skips MLflow's requirement inference (a subprocess per save)


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" ", "_") for c in X.columns]
    return X.iloc[:300], y.iloc[:300].to_numpy()


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X.astype("float32"), y.to_numpy()


@dataclass
class Case:
    flavor: str
    train: Callable[[pd.DataFrame, np.ndarray], Any]
    native: Callable[[Any, pd.DataFrame], np.ndarray]


def _onnx(X: pd.DataFrame, y: np.ndarray) -> Any:
    from skl2onnx import to_onnx

    return to_onnx(LinearRegression().fit(X, y), X.to_numpy()[:1], target_opset=17)


CASES = {
    "xgb-booster": Case("xgboost", lambda X, y: xgb.train({"max_depth": 3, "objective": "binary:logistic"},
                                                          xgb.DMatrix(X, label=y), num_boost_round=8),
                        lambda m, X: m.predict(xgb.DMatrix(X))),
    "xgb-classifier": Case("xgboost", lambda X, y: xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(X, y),
                           lambda m, X: m.predict(X)),
    "lgb-booster": Case("lightgbm", lambda X, y: lgb.train({"objective": "binary", "verbose": -1},
                                                           lgb.Dataset(X, label=y), num_boost_round=8),
                        lambda m, X: m.predict(X)),
    "lgb-regressor": Case("lightgbm", lambda X, y: lgb.LGBMRegressor(n_estimators=8, verbose=-1).fit(X, y),
                          lambda m, X: m.predict(X)),
    "onnx": Case("onnx", _onnx, lambda m, X: _onnx_run(m, X)),
}


def _onnx_run(model: Any, X: pd.DataFrame) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X.to_numpy(dtype=np.float32)})[0].reshape(-1)


def _data(name: str, cancer: Any, diabetes: Any) -> tuple[pd.DataFrame, np.ndarray]:
    return cancer if name.startswith(("xgb", "lgb-booster")) else diabetes


def _values(predictions: Any) -> np.ndarray:
    if isinstance(predictions, pd.DataFrame):
        return predictions.iloc[:, 0].to_numpy()
    return np.asarray(predictions).reshape(-1)


@pytest.mark.parametrize("name", list(CASES))
def test_lockgate_model_loads_in_mlflow(name: str, tmp_path: Path, cancer: Any, diabetes: Any) -> None:
    case, (X, y) = CASES[name], _data(name, cancer, diabetes)
    raw = case.train(X, y)
    expected = case.native(raw, X)
    flavor = getattr(lockgate, case.flavor)
    flavor.save_model(raw, tmp_path / "m", input_example=X.iloc[:3])

    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == f"mlflow.{case.flavor}"
    data_file = mlmodel["flavors"][case.flavor]["data"]
    assert (tmp_path / "m" / data_file).is_file()
    assert mlmodel["signature"]["inputs"]  # inferred from the example

    by_mlflow = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_allclose(_values(by_mlflow.predict(X)), _values(expected), rtol=1e-5)
    native = getattr(mlflow, case.flavor).load_model(str(tmp_path / "m"))
    np.testing.assert_allclose(_values(case.native(native, X)), _values(expected), rtol=1e-5)
    ours = lockgate.pyfunc.load_model(tmp_path / "m")
    np.testing.assert_allclose(_values(ours.predict(X)), _values(expected), rtol=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_mlflow_model_loads_in_lockgate(name: str, tmp_path: Path, cancer: Any, diabetes: Any) -> None:
    case, (X, y) = CASES[name], _data(name, cancer, diabetes)
    raw = case.train(X, y)
    expected = case.native(raw, X)
    kwargs: dict[str, Any] = {"serialization_format": "cloudpickle"} if name == "lgb-regressor" else {}
    getattr(mlflow, case.flavor).save_model(raw, str(tmp_path / "m"), input_example=X.iloc[:3],
                                            pip_requirements=_PIP, **kwargs)

    native = getattr(lockgate, case.flavor).load_model(tmp_path / "m")
    assert type(native).__name__ == type(raw).__name__
    np.testing.assert_allclose(_values(case.native(native, X)), _values(expected), rtol=1e-5)
    ours = lockgate.pyfunc.load_model(tmp_path / "m", suppress_warnings=True)
    assert ours.metadata.mlflow_version == mlflow.__version__
    np.testing.assert_allclose(_values(ours.predict(X)), _values(expected), rtol=1e-5)


def test_log_model_registers_and_loads_by_alias(cancer: Any, client: Any) -> None:
    X, y = cancer
    booster = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    with lockgate.start_run():
        info = lockgate.xgboost.log_model(booster, name="model", input_example=X.iloc[:5],
                                          registered_model_name="churn-xgb")
    assert info.registered_model_version == 1
    client.set_registered_model_alias("churn-xgb", "champion", "1")
    loaded = lockgate.pyfunc.load_model("models:/churn-xgb@champion")
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))
    native = lockgate.xgboost.load_model(info.model_uri)
    assert isinstance(native, xgb.XGBClassifier)
    np.testing.assert_array_equal(native.predict_proba(X), booster.predict_proba(X))


def test_signature_errors_name_the_missing_column(tmp_path: Path, diabetes: Any) -> None:
    X, y = diabetes
    lockgate.lightgbm.save_model(lgb.LGBMRegressor(n_estimators=3, verbose=-1).fit(X, y), tmp_path / "m",
                                 input_example=X.iloc[:2])
    with pytest.raises(InvalidArgument, match="bmi"):
        lockgate.pyfunc.load_model(tmp_path / "m").predict(X.drop(columns=["bmi"]))


@pytest.mark.parametrize(("flavor", "module", "extra"), [
    ("xgboost", "xgboost", "xgboost"), ("lightgbm", "lightgbm", "lightgbm"), ("onnx", "onnx", "onnx"),
])
def test_missing_library_names_the_extra(flavor: str, module: str, extra: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    flavor_module = getattr(lockgate, flavor)
    monkeypatch.setitem(sys.modules, module, None)  # what an uninstalled package looks like to import
    with pytest.raises(InvalidArgument, match=rf"pip install 'lockgate\[{extra}\]'"):
        flavor_module.save_model(object(), tmp_path / "m")


def test_foreign_model_class_is_refused(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    lockgate.xgboost.save_model(xgb.XGBClassifier(n_estimators=2).fit(X, y), tmp_path / "m")
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("xgboost.sklearn.XGBClassifier", "os.system"))
    with pytest.raises(InvalidArgument, match="not a xgboost class"):
        lockgate.xgboost.load_model(tmp_path / "m")


def test_wrong_model_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="xgboost.Booster or XGBModel"):
        lockgate.xgboost.save_model(LinearRegression(), tmp_path / "x")
    with pytest.raises(InvalidArgument, match="onnx.ModelProto"):
        lockgate.onnx.save_model(LinearRegression(), tmp_path / "o")
