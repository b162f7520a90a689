"""LightGBM models (``Booster`` or the scikit-learn API) in MLflow's ``lightgbm`` flavor layout.

A ``Booster`` is written with LightGBM's own text format (``model.lgb``); an ``LGBMModel``
(LGBMClassifier ...) as cloudpickle, pickle or skops, like scikit-learn models. The
python_function flavor names ``mlflow.lightgbm`` as its loader, as MLflow writes it, so each
side loads the other's models.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument
from lockgate.models import environment
from lockgate.models.logged import log_flavor_model
from lockgate.models.model import Model, ModelInfo
from lockgate.models.native import class_name, flavor_conf, model_dir_of
from lockgate.models.optional import import_extra
from lockgate.models.pyfunc import _prepare_dir, add_pyfunc_flavor, finish_model_dir
from lockgate.models.signature import ModelSignature
from lockgate.models.sklearn import FORMATS, dump_estimator, load_estimator

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from lockgate.autologging.config import AutologOptions
    from lockgate.client import LockgateClient

__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "lightgbm"
_BOOSTER_CLASS = "lightgbm.basic.Booster"
# Types a skops file of a LightGBM scikit-learn model holds; recorded in MLmodel as MLflow does.
_SKOPS_TRUSTED = ["collections.OrderedDict", _BOOSTER_CLASS, "lightgbm.sklearn.LGBMClassifier",
                  "lightgbm.sklearn.LGBMRegressor"]


def _lgb() -> Any:
    return import_extra("lightgbm", extra="lightgbm", feature="The lightgbm flavor")


def save_model(
    lgb_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = "cloudpickle",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write a ``lightgbm.Booster`` or ``LGBMModel`` (LGBMClassifier ...) as an MLmodel directory.

    ``serialization_format`` applies to the scikit-learn API models only.
    """
    lgb = _lgb()
    if not isinstance(lgb_model, (lgb.Booster, lgb.LGBMModel)):
        raise InvalidArgument(
            f"lightgbm.save_model takes a lightgbm.Booster or LGBMModel, not {type(lgb_model).__name__}."
        )
    if serialization_format not in FORMATS:
        raise InvalidArgument(
            f"serialization_format must be one of {list(FORMATS)}, not {serialization_format!r}."
        )
    model_dir = _prepare_dir(path)
    packages = ["lightgbm", "numpy", "pandas", "scipy"]
    if isinstance(lgb_model, lgb.Booster):
        filename = "model.lgb"
        lgb_model.save_model(os.fspath(model_dir / filename))
    else:
        filename = "model.skops" if serialization_format == "skops" else "model.pkl"
        packages += ["scikit-learn"]
        packages += dump_estimator(lgb_model, model_dir / filename, serialization_format=serialization_format)
    env = environment.write_environment(
        model_dir, default_packages=packages, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
    )
    model = Model(metadata=metadata)
    add_pyfunc_flavor(model, loader_module="mlflow.lightgbm", env=env, data=filename)
    model.add_flavor(FLAVOR_NAME, lgb_version=lgb.__version__, data=filename,
                     model_class=class_name(lgb_model), code=None,
                     serialization_format=serialization_format,
                     skops_trusted_types=_SKOPS_TRUSTED if serialization_format == "skops" else None)
    finish_model_dir(model_dir, model, signature=signature, input_example=input_example,
                     predict_for_signature=lgb_model.predict)
    return model


def log_model(
    lgb_model: Any,
    name: str | None = None,
    *,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    serialization_format: str = "cloudpickle",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    client: LockgateClient | None = None,
) -> ModelInfo:
    """Save the model into the active run (or ``run_id``) under ``name``; maybe register it."""
    return log_flavor_model(
        save_model, lgb_model, name=name, artifact_path=artifact_path,
        registered_model_name=registered_model_name, run_id=run_id, client=client,
        serialization_format=serialization_format, signature=signature, input_example=input_example,
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _read(model_dir: str, conf: dict[str, Any]) -> Any:
    lgb = _lgb()
    data = conf.get("data")
    if not data:
        raise InvalidArgument("The lightgbm flavor in the MLmodel file names no data file.")
    path = os.path.join(model_dir, data)
    if conf.get("model_class", _BOOSTER_CLASS) == _BOOSTER_CLASS:
        return lgb.Booster(model_file=path)
    trusted = conf.get("skops_trusted_types")
    return load_estimator(path, serialization_format=conf.get("serialization_format", "cloudpickle"),
                          trusted_types=trusted)


def load_model(model_uri: str | os.PathLike[str], *, dst_path: str | None = None,
               client: LockgateClient | None = None) -> Any:
    """The LightGBM model (Booster or LGBMModel, as saved) of a path, runs:/ or models:/ URI."""
    local, conf = flavor_conf(model_uri, FLAVOR_NAME, client=client, dst_path=dst_path)
    return _read(local, conf)


class _LightGBMPyfunc:
    def __init__(self, raw_model: Any) -> None:
        self.raw_model = raw_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.raw_model.predict(data)


def _load_pyfunc(path: str) -> _LightGBMPyfunc:
    """The pyfunc loader (``mlflow.lightgbm`` in MLmodel files maps here)."""
    model_dir = model_dir_of(path)
    return _LightGBMPyfunc(_read(model_dir, Model.load(model_dir).flavors.get(FLAVOR_NAME) or {}))


def autolog(
    *, importance_types: tuple[str, ...] = ("split", "gain"),
    **options: Unpack[AutologOptions],
) -> None:
    """Track LightGBM training: params, evaluation metric histories, feature importance, the model.

    Options as ``lockgate.autolog()``; raises, naming the extra to install, when the library
    is missing.
    """
    from lockgate.autologging import autolog_library

    autolog_library("lightgbm", library_options={"importance_types": importance_types}, **options)
