"""scikit-learn models in MLflow's ``sklearn`` flavor layout.

The python_function flavor names ``mlflow.sklearn`` as its loader, exactly as MLflow writes
it, so ``mlflow.pyfunc.load_model`` loads our models without Lockgate installed; Lockgate loads
``mlflow.sklearn`` models with this module. Pickle, cloudpickle and skops files are read.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument
from lockgate.models import environment
from lockgate.models.logged import log_flavor_model
from lockgate.models.model import Model, ModelInfo
from lockgate.models.pyfunc import _prepare_dir, add_pyfunc_flavor, finish_model_dir
from lockgate.models.signature import ModelSignature

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from lockgate.autologging.config import AutologOptions
    from lockgate.client import LockgateClient

__all__ = ["FLAVOR_NAME", "autolog", "dump_estimator", "load_estimator", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "sklearn"
FORMATS = ("cloudpickle", "pickle", "skops")
_FILES = {"cloudpickle": "model.pkl", "pickle": "model.pkl", "skops": "model.skops"}


def dump_estimator(estimator: Any, path: Path, *, serialization_format: str) -> list[str]:
    """Write ``estimator`` to the file ``path`` as pickle, cloudpickle or skops.

    Returns the packages (beyond the estimator's own library) needed to read it back.
    """
    if serialization_format not in FORMATS:
        raise InvalidArgument(
            f"serialization_format must be one of {list(FORMATS)}, not {serialization_format!r}."
        )
    if serialization_format == "skops":
        import skops.io

        skops.io.dump(estimator, path)
        return ["skops"]
    with open(path, "wb") as handle:
        if serialization_format == "cloudpickle":
            import cloudpickle

            cloudpickle.dump(estimator, handle)
            return ["cloudpickle"]
        pickle.dump(estimator, handle, protocol=pickle.DEFAULT_PROTOCOL)
    return []


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = "cloudpickle",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write a fitted estimator or pipeline as an MLmodel directory at ``path``."""
    import sklearn

    if serialization_format not in FORMATS:
        raise InvalidArgument(
            f"serialization_format must be one of {list(FORMATS)}, not {serialization_format!r}."
        )
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise InvalidArgument(
            f"The model ({type(sk_model).__name__}) has no {pyfunc_predict_fn}() method."
        )
    model_dir = _prepare_dir(path)
    filename = _FILES[serialization_format]
    packages = ["scikit-learn", "numpy", "pandas", "scipy"]
    packages += dump_estimator(sk_model, model_dir / filename, serialization_format=serialization_format)
    env = environment.write_environment(
        model_dir, default_packages=packages, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
    )
    model = Model(metadata=metadata)
    add_pyfunc_flavor(model, loader_module="mlflow.sklearn", env=env, model_path=filename,
                      predict_fn=pyfunc_predict_fn)
    model.add_flavor(FLAVOR_NAME, pickled_model=filename, sklearn_version=sklearn.__version__,
                     serialization_format=serialization_format, code=None)
    finish_model_dir(model_dir, model, signature=signature, input_example=input_example,
                     predict_for_signature=getattr(sk_model, pyfunc_predict_fn))
    return model


def log_model(
    sk_model: Any,
    name: str | None = None,
    *,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    serialization_format: str = "cloudpickle",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    client: LockgateClient | None = None,
) -> ModelInfo:
    """Save the estimator into the active run (or ``run_id``) under ``name``; maybe register it."""
    return log_flavor_model(
        save_model, sk_model, name=name, artifact_path=artifact_path,
        registered_model_name=registered_model_name, run_id=run_id, client=client,
        serialization_format=serialization_format, signature=signature, input_example=input_example,
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
        pyfunc_predict_fn=pyfunc_predict_fn, metadata=metadata,
    )


def _read(model_dir: str, conf: dict[str, Any]) -> Any:
    fmt = conf.get("serialization_format", "pickle")
    path = os.path.join(model_dir, conf.get("pickled_model") or _FILES.get(fmt, "model.pkl"))
    return load_estimator(path, serialization_format=fmt, trusted_types=conf.get("skops_trusted_types"))


def load_estimator(path: str, *, serialization_format: str, trusted_types: Any = None) -> Any:
    """Read an estimator written by ``dump_estimator`` (or by MLflow's sklearn-style flavors)."""
    fmt = serialization_format
    if fmt == "skops":
        try:
            import skops.io
        except ImportError:
            raise InvalidArgument("This model was saved with skops: pip install skops") from None
        return skops.io.load(path, trusted=trusted_types)
    if fmt not in FORMATS:
        raise InvalidArgument(f"Unknown sklearn serialization_format {fmt!r} in the MLmodel file.")
    with open(path, "rb") as handle:
        if fmt == "cloudpickle":
            import cloudpickle

            return cloudpickle.load(handle)
        return pickle.load(handle)


def load_model(model_uri: str | os.PathLike[str], *, dst_path: str | None = None,
               client: LockgateClient | None = None) -> Any:
    """The fitted scikit-learn object of a model (path, runs:/, models:/ or artifact URI)."""
    from lockgate.models.fetch import local_model_path

    local = local_model_path(model_uri, client=client, dst_path=dst_path)
    model = Model.load(local)
    conf = model.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise InvalidArgument(f"The model at {os.fspath(model_uri)!r} has no sklearn flavor.")
    return _read(local, conf)


class _SklearnPyfunc:
    def __init__(self, raw_model: Any, predict_fn: str) -> None:
        self.raw_model = raw_model
        self._predict = getattr(raw_model, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(data)


def _load_pyfunc(path: str) -> _SklearnPyfunc:
    """The pyfunc loader for sklearn models (``mlflow.sklearn`` in MLmodel files maps here)."""
    model_dir = path if os.path.isdir(path) else os.path.dirname(path)
    model = Model.load(model_dir)
    conf = model.flavors.get(FLAVOR_NAME)
    if conf is None:
        # Very old MLflow models: python_function only, data pointing at a pickle.
        pyfunc_conf = model.flavors.get("python_function", {})
        conf = {"pickled_model": os.path.basename(path) if os.path.isfile(path) else
                pyfunc_conf.get("model_path", "model.pkl"), "serialization_format": "pickle"}
    predict_fn = model.flavors.get("python_function", {}).get("predict_fn", "predict")
    return _SklearnPyfunc(_read(model_dir, conf), predict_fn)


def autolog(
    *, max_tuning_runs: int = 5,
    **options: Unpack[AutologOptions],
) -> None:
    """Track scikit-learn fits: params, training metrics, search child runs, the model.

    ``max_tuning_runs`` caps the child runs of a hyperparameter search (best ranks first).

    Options as ``lockgate.autolog()``; raises, naming the extra to install, when the library
    is missing.
    """
    from lockgate.autologging import autolog_library

    autolog_library("sklearn", library_options={"max_tuning_runs": max_tuning_runs}, **options)
