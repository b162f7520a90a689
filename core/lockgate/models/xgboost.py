"""XGBoost models (``Booster`` or the scikit-learn API) in MLflow's ``xgboost`` flavor layout.

The model file is XGBoost's own (``model.ubj`` by default, or ``json``); the python_function
flavor names ``mlflow.xgboost`` as its loader, as MLflow writes it, so ``mlflow.pyfunc`` loads
our models without Lockgate and Lockgate loads MLflow's with this module.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument
from lockgate.models import environment
from lockgate.models.logged import log_flavor_model
from lockgate.models.model import Model, ModelInfo
from lockgate.models.native import class_from_name, class_name, flavor_conf, model_dir_of
from lockgate.models.optional import import_extra
from lockgate.models.pyfunc import _prepare_dir, add_pyfunc_flavor, finish_model_dir
from lockgate.models.signature import ModelSignature

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from lockgate.autologging.config import AutologOptions
    from lockgate.client import LockgateClient

__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "xgboost"
FORMATS = ("ubj", "json", "deprecated")


def _xgb() -> Any:
    return import_extra("xgboost", extra="xgboost", feature="The xgboost flavor")


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    *,
    model_format: str = "ubj",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write an ``xgboost.Booster`` or ``XGBModel`` (XGBClassifier ...) as an MLmodel directory."""
    xgb = _xgb()
    if not isinstance(xgb_model, (xgb.Booster, xgb.XGBModel)):
        raise InvalidArgument(
            f"xgboost.save_model takes an xgboost.Booster or XGBModel, not {type(xgb_model).__name__}."
        )
    if model_format not in FORMATS:
        raise InvalidArgument(f"model_format must be one of {list(FORMATS)}, not {model_format!r}.")
    model_dir = _prepare_dir(path)
    filename = f"model.{model_format}"
    xgb_model.save_model(os.fspath(model_dir / filename))
    env = environment.write_environment(
        model_dir, default_packages=[_distribution(), "numpy", "pandas", "scipy"],
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
    )
    model = Model(metadata=metadata)
    add_pyfunc_flavor(model, loader_module="mlflow.xgboost", env=env, data=filename)
    model.add_flavor(FLAVOR_NAME, xgb_version=xgb.__version__, data=filename,
                     model_class=class_name(xgb_model), model_format=model_format, code=None)
    finish_model_dir(model_dir, model, signature=signature, input_example=input_example,
                     predict_for_signature=_XGBoostPyfunc(xgb_model).predict)
    return model


def _distribution() -> str:
    # The CPU-only wheel installs the same `xgboost` module under another distribution name.
    return "xgboost" if environment._installed_version("xgboost") else "xgboost-cpu"


def log_model(
    xgb_model: Any,
    name: str | None = None,
    *,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    client: LockgateClient | None = None,
) -> ModelInfo:
    """Save the model into the active run (or ``run_id``) under ``name``; maybe register it."""
    return log_flavor_model(
        save_model, xgb_model, name=name, artifact_path=artifact_path,
        registered_model_name=registered_model_name, run_id=run_id, client=client,
        model_format=model_format, signature=signature, input_example=input_example,
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _read(model_dir: str, conf: dict[str, Any]) -> Any:
    _xgb()
    model = class_from_name(conf.get("model_class", "xgboost.core.Booster"), package="xgboost")()
    data = conf.get("data")
    if not data:
        raise InvalidArgument("The xgboost flavor in the MLmodel file names no data file.")
    model.load_model(os.path.join(model_dir, data))
    return model


def load_model(model_uri: str | os.PathLike[str], *, dst_path: str | None = None,
               client: LockgateClient | None = None) -> Any:
    """The XGBoost model (Booster or XGBModel, as saved) of a path, runs:/ or models:/ URI."""
    local, conf = flavor_conf(model_uri, FLAVOR_NAME, client=client, dst_path=dst_path)
    return _read(local, conf)


class _XGBoostPyfunc:
    def __init__(self, raw_model: Any) -> None:
        self.raw_model = raw_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        xgb = _xgb()
        if isinstance(self.raw_model, xgb.Booster):
            return self.raw_model.predict(xgb.DMatrix(data), validate_features=True)
        return self.raw_model.predict(data, validate_features=True)


def _load_pyfunc(path: str) -> _XGBoostPyfunc:
    """The pyfunc loader (``mlflow.xgboost`` in MLmodel files maps here)."""
    model_dir = model_dir_of(path)
    return _XGBoostPyfunc(_read(model_dir, Model.load(model_dir).flavors.get(FLAVOR_NAME) or {}))


def autolog(
    *, importance_types: tuple[str, ...] = ("weight", "gain"),
    **options: Unpack[AutologOptions],
) -> None:
    """Track XGBoost training: params, evaluation metric histories, feature importance, the model.

    Options as ``lockgate.autolog()``; raises, naming the extra to install, when the library
    is missing.
    """
    from lockgate.autologging import autolog_library

    autolog_library("xgboost", library_options={"importance_types": importance_types}, **options)
