"""Keras 3 models in MLflow's ``keras`` flavor layout: ``data/model.keras``, Keras's own file.

The MLmodel keys are MLflow's (``data``, ``keras_version``, ``keras_backend``,
``save_exported_model``) and the python_function flavor names ``mlflow.keras`` as its loader
with no ``data`` entry, as MLflow writes it, so ``mlflow.keras`` and ``mlflow.pyfunc`` load our
models without Lockgate and Lockgate loads MLflow's with this module. Any Keras backend works
(the file is backend-independent); these machines use ``KERAS_BACKEND=torch`` on CPU torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument
from lockgate.models import environment
from lockgate.models.logged import log_flavor_model
from lockgate.models.model import Model, ModelInfo
from lockgate.models.native import flavor_conf
from lockgate.models.optional import import_extra
from lockgate.models.pyfunc import _prepare_dir, add_pyfunc_flavor, finish_model_dir
from lockgate.models.signature import ModelSignature

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from lockgate.autologging.config import AutologOptions
    from lockgate.client import LockgateClient

__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "keras"
_DATA_DIR = "data"
_MODEL_FILE = "model.keras"
_MODULE_FILE = "keras_module.txt"  # MLflow records which module saved the model ("keras")
# backend -> the distribution a model saved on it needs next to keras
_BACKEND_PACKAGES = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}


def _keras() -> Any:
    if importlib.util.find_spec("keras") is None:
        return import_extra("keras", extra="keras", feature="The keras flavor")  # raises
    try:
        keras = importlib.import_module("keras")
    except ImportError as exc:
        # Installed, but its backend is not (the default backend is tensorflow).
        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        raise InvalidArgument(
            f"Keras is installed but cannot import its {backend!r} backend ({exc}): install it, "
            "or set KERAS_BACKEND=torch (with torch installed) or jax before keras is imported."
        ) from None
    if int(str(keras.__version__).split(".")[0]) < 3:
        raise InvalidArgument(f"The keras flavor needs Keras 3; keras {keras.__version__} is installed.")
    return keras


def save_model(
    keras_model: Any,
    path: str | os.PathLike[str],
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    save_model_kwargs: dict[str, Any] | None = None,
) -> Model:
    """Write a ``keras.Model`` as an MLmodel directory (``data/model.keras``) at ``path``."""
    keras = _keras()
    if not isinstance(keras_model, keras.Model):
        raise InvalidArgument(
            f"keras.save_model takes a keras.Model, not {type(keras_model).__name__}."
        )
    model_dir = _prepare_dir(path)
    data_dir = model_dir / _DATA_DIR
    data_dir.mkdir()
    (data_dir / _MODULE_FILE).write_text("keras")
    keras_model.save(os.fspath(data_dir / _MODEL_FILE), **(save_model_kwargs or {}))
    backend = str(keras.backend.backend())
    packages = ["keras", "numpy", "pandas"]
    if backend in _BACKEND_PACKAGES:
        packages.append(_BACKEND_PACKAGES[backend])
    env = environment.write_environment(
        model_dir, default_packages=packages,
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
    )
    model = Model(metadata=metadata)
    add_pyfunc_flavor(model, loader_module="mlflow.keras", env=env)
    model.add_flavor(FLAVOR_NAME, data=_DATA_DIR, keras_version=str(keras.__version__),
                     keras_backend=backend, save_exported_model=False)
    finish_model_dir(model_dir, model, signature=signature, input_example=input_example,
                     predict_for_signature=_KerasPyfunc(keras_model).predict)
    return model


def log_model(
    keras_model: Any,
    name: str | None = None,
    *,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    save_model_kwargs: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    client: LockgateClient | None = None,
) -> ModelInfo:
    """Save the model into the active run (or ``run_id``) under ``name``; maybe register it."""
    return log_flavor_model(
        save_model, keras_model, name=name, artifact_path=artifact_path,
        registered_model_name=registered_model_name, run_id=run_id, client=client,
        signature=signature, input_example=input_example, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, metadata=metadata,
        save_model_kwargs=save_model_kwargs,
    )


def _read(model_dir: str, conf: dict[str, Any], *, custom_objects: dict[str, Any] | None = None,
          compile: bool = True) -> Any:
    keras = _keras()
    if conf.get("save_exported_model"):
        raise InvalidArgument(
            "This Keras model was saved in the exported (TensorFlow SavedModel) format, which "
            "Lockgate does not load; save it as a .keras file (save_exported_model=False)."
        )
    data = os.path.join(model_dir, str(conf.get("data") or _DATA_DIR))
    # MLflow's layout: data/model.keras; a data entry naming the file itself is accepted too.
    target = os.path.join(data, _MODEL_FILE) if os.path.isdir(data) else data
    if not os.path.isfile(target):
        raise InvalidArgument(f"No Keras model file at {target!r}.")
    return keras.saving.load_model(target, custom_objects=custom_objects, compile=compile)


def load_model(model_uri: str | os.PathLike[str], *, custom_objects: dict[str, Any] | None = None,
               compile: bool = True, dst_path: str | None = None,
               client: LockgateClient | None = None) -> Any:
    """The ``keras.Model`` of a path, runs:/ or models:/ URI (``custom_objects`` as Keras takes)."""
    local, conf = flavor_conf(model_uri, FLAVOR_NAME, client=client, dst_path=dst_path)
    return _read(local, conf, custom_objects=custom_objects, compile=compile)


class _KerasPyfunc:
    """Predicts as MLflow's Keras wrapper does: a DataFrame in, a DataFrame out; else numpy."""

    def __init__(self, raw_model: Any) -> None:
        self.raw_model = raw_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import pandas as pd

        keras = _keras()
        if isinstance(data, pd.DataFrame):
            return pd.DataFrame(self.raw_model.predict(data.to_numpy(), verbose=0), index=data.index)
        if not isinstance(data, (np.ndarray, list, tuple, dict)):
            raise InvalidArgument(
                "A Keras model takes a DataFrame, an array, a list, a tuple or a dict of arrays, "
                f"not {type(data).__name__}."
            )
        return keras.ops.convert_to_numpy(self.raw_model.predict(data, verbose=0))


def _load_pyfunc(path: str) -> _KerasPyfunc:
    """The pyfunc loader (``mlflow.keras`` in MLmodel files maps here).

    MLflow passes the model directory (its pyfunc flavor has no ``data``); a path inside it
    is accepted as well.
    """
    model_dir = path if os.path.isfile(os.path.join(path, "MLmodel")) else os.path.dirname(path)
    return _KerasPyfunc(_read(model_dir, Model.load(model_dir).flavors.get(FLAVOR_NAME) or {}))


def autolog(
    *, log_every_n_steps: int | None = None,
    **options: Unpack[AutologOptions],
) -> None:
    """Track ``keras.Model.fit``: its settings and optimizer, metrics per epoch, the model.

    ``log_every_n_steps=N`` also records the training logs of every Nth batch (step = the
    optimizer's iteration count). Options as ``lockgate.autolog()``; raises, naming the extra
    to install, when Keras is missing.
    """
    from lockgate.autologging import autolog_library

    autolog_library("keras", library_options={"log_every_n_steps": log_every_n_steps}, **options)
