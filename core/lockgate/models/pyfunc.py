"""Load any model as a generic Python function, and write models from your own Python class.

``load_model(uri)`` reads the ``python_function`` flavor of an MLmodel directory (local, a
``runs:/`` or ``models:/`` URI, or any artifact URI), checks the environment, and returns a
``PyFuncModel`` whose ``predict`` enforces the signature. Models written by MLflow load too.
"""

from __future__ import annotations

import importlib
import inspect
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument, LockgateError
from lockgate.models import environment
from lockgate.models.example import load_input_example, save_input_example
from lockgate.models.model import PYFUNC_FLAVOR, Model, ModelInfo
from lockgate.models.signature import ModelSignature, enforce_schema, infer_signature

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "add_pyfunc_flavor",
    "dask_predict",
    "finish_model_dir",
    "load_model",
    "log_model",
    "save_model",
    "spark_udf",
]

FLAVOR_NAME = PYFUNC_FLAVOR
_PYTHON_MODEL_FILE = "python_model.pkl"
_ARTIFACTS_DIR = "artifacts"
_CODE_DIR = "code"
# MLflow loaders we implement ourselves, so MLflow models load without mlflow installed.
_LOADER_ALIASES = {
    "mlflow.sklearn": "lockgate.models.sklearn",
    "mlflow.xgboost": "lockgate.models.xgboost",
    "mlflow.lightgbm": "lockgate.models.lightgbm",
    "mlflow.onnx": "lockgate.models.onnx",
    "mlflow.keras": "lockgate.models.keras",
}


class PythonModelContext:
    """What ``PythonModel.load_context`` receives: bundled artifact paths and model config."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None) -> None:
        self.artifacts = artifacts
        self.model_config = model_config or {}


class PythonModel:
    """Subclass this to ship custom code as a model: override ``predict`` (and ``load_context``).

    ``predict(self, context, model_input, params=None)`` is called with the context built from
    the bundled artifacts; ``predict(self, model_input, params=None)`` works too.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Load what predict needs (files in ``context.artifacts``) once, after unpickling."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("PythonModel subclasses must implement predict().")


class _PythonModelWrapper:
    """Adapts a PythonModel to the plain ``predict(data, params)`` of a pyfunc implementation."""

    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        parameters = list(inspect.signature(python_model.predict).parameters)
        self._wants_context = bool(parameters) and parameters[0] == "context"
        self._takes_params = "params" in parameters

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        args: list[Any] = [self.context, data] if self._wants_context else [data]
        predict: Any = self.python_model.predict  # user code: its signature was inspected above
        if self._takes_params:
            return predict(*args, params=params)
        return predict(*args)


class PyFuncModel:
    """A loaded model with one ``predict``; ``metadata`` is its MLmodel file."""

    def __init__(self, *, model_meta: Model, model_impl: Any, model_dir: str) -> None:
        self.metadata = model_meta
        self._impl = model_impl
        self.model_dir = model_dir
        try:
            self._impl_takes_params = "params" in inspect.signature(model_impl.predict).parameters
        except (TypeError, ValueError):
            self._impl_takes_params = False

    def __repr__(self) -> str:
        flavors = ", ".join(self.metadata.flavors)
        return f"PyFuncModel(flavors=[{flavors}], dir={self.model_dir!r})"

    @property
    def signature(self) -> ModelSignature | None:
        return self.metadata.signature

    def prepare_input(self, data: Any) -> Any:
        """The input checked and converted to the signature (what predict feeds the model)."""
        schema = self.metadata.get_input_schema()
        if schema is None:
            if data is None:
                raise InvalidArgument("The model input is empty.")
            return data
        return enforce_schema(data, schema)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predictions for ``data`` (DataFrame, array, dict or list), after signature checks."""
        prepared = self.prepare_input(data)
        if self._impl_takes_params:
            return self._impl.predict(prepared, params=params)
        return self._impl.predict(prepared)

    def input_example(self) -> Any:
        """The example input saved with the model, or None."""
        return load_input_example(self.model_dir, self.metadata.saved_input_example_info)

    def unwrap_python_model(self) -> PythonModel:
        """The user's PythonModel instance behind a custom model."""
        if isinstance(self._impl, _PythonModelWrapper):
            return self._impl.python_model
        raise InvalidArgument("This model was not saved from a lockgate.pyfunc.PythonModel.")

    def get_raw_model(self) -> Any:
        """The native model object (sklearn estimator, torch module ...) when there is one."""
        return getattr(self._impl, "raw_model", self._impl)


def _import_loader(loader_module: str) -> Any:
    target = _LOADER_ALIASES.get(loader_module, loader_module)
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        package = target.split(".")[0]
        raise InvalidArgument(
            f"This model is loaded by {loader_module!r}, which cannot be imported ({exc}). "
            f"Install the package that provides it (pip install {package})."
        ) from None


def load_model(
    model_uri: str | os.PathLike[str],
    *,
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: dict[str, Any] | None = None,
    client: LockgateClient | None = None,
) -> PyFuncModel:
    """Load the model at ``model_uri`` (path, ``runs:/``, ``models:/`` or artifact URI).

    ``client`` names the tracking server or database the URI refers to (default: the
    tracking URI in force).
    """
    from lockgate.models.fetch import local_model_path

    uri = os.fspath(model_uri)
    local = local_model_path(uri, client=client, dst_path=dst_path)
    model = Model.load(local)
    conf = model.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise InvalidArgument(
            f"The model at {uri!r} has no python_function flavor (it has {sorted(model.flavors)}); "
            "load it with its native flavor instead."
        )
    loader_module = conf.get("loader_module")
    if not loader_module:
        raise InvalidArgument(f"The python_function flavor of {uri!r} names no loader_module.")
    if not suppress_warnings:
        environment.warn_on_mismatch(local, saved_python=conf.get("python_version"))
    code = conf.get("code")
    if code:
        code_dir = os.path.join(local, code)
        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)
    data_path = os.path.join(local, conf["data"]) if conf.get("data") else local
    loader = _import_loader(loader_module)
    config = {**(conf.get("config") or {}), **(conf.get("model_config") or {}), **(model_config or {})}
    try:
        if model_config and "model_config" in inspect.signature(loader._load_pyfunc).parameters:
            impl = loader._load_pyfunc(data_path, model_config=config)
        else:
            impl = loader._load_pyfunc(data_path)
    except LockgateError:
        raise
    except FileNotFoundError as exc:
        raise InvalidArgument(f"The model at {uri!r} is incomplete: {exc}") from None
    except Exception as exc:  # unpickling errors come in every type
        raise InvalidArgument(
            f"The model at {uri!r} could not be loaded by {loader_module}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return PyFuncModel(model_meta=model, model_impl=impl, model_dir=local)


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _PythonModelWrapper:
    """Loader for custom PythonModel models (used by Lockgate and by ``mlflow.pyfunc``)."""
    import cloudpickle

    model_dir = path if os.path.isdir(path) else os.path.dirname(path)
    conf = Model.load(model_dir).flavors[FLAVOR_NAME]
    with open(os.path.join(model_dir, conf.get("python_model", _PYTHON_MODEL_FILE)), "rb") as handle:
        python_model = cloudpickle.load(handle)
    artifacts = {
        name: os.path.join(model_dir, entry["path"] if isinstance(entry, dict) else entry)
        for name, entry in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, {**(conf.get("model_config") or {}), **(model_config or {})})
    python_model.load_context(context)
    return _PythonModelWrapper(python_model, context)


# -- saving ----------------------------------------------------------------------------------

def _prepare_dir(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        from lockgate.errors import AlreadyExists

        raise AlreadyExists(f"Cannot save a model to {str(target)!r}: it exists and is not empty.")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _copy_code(model_dir: Path, code_paths: list[str] | None) -> str | None:
    if not code_paths:
        return None
    dest = model_dir / _CODE_DIR
    dest.mkdir()
    for code_path in code_paths:
        src = Path(code_path)
        if src.is_dir():
            shutil.copytree(src, dest / src.name)
        elif src.is_file():
            shutil.copy2(src, dest / src.name)
        else:
            raise InvalidArgument(f"Code path {code_path!r} does not exist.")
    return _CODE_DIR


def add_pyfunc_flavor(model: Model, *, loader_module: str, env: dict[str, str],
                      code: str | None = None, **params: Any) -> None:
    """Declare the python_function flavor the way MLflow writes it."""
    model.add_flavor(FLAVOR_NAME, loader_module=loader_module, python_version=platform.python_version(),
                     env=env, code=code, **params)


def finish_model_dir(
    model_dir: Path,
    model: Model,
    *,
    signature: ModelSignature | None,
    input_example: Any,
    predict_for_signature: Any = None,
) -> None:
    """Save the input example, infer the signature from it when none was given, write MLmodel."""
    if input_example is not None:
        model.saved_input_example_info = save_input_example(model_dir, input_example)
        if signature is None:
            from lockgate.models.example import _normalize

            example = _normalize(input_example)
            output = None
            if predict_for_signature is not None:
                try:
                    output = predict_for_signature(example)
                except Exception:  # noqa: BLE001 - a signature without outputs beats failing the save
                    output = None
            signature = infer_signature(example, output)
    model.signature = signature
    model.model_size_bytes = sum(f.stat().st_size for f in model_dir.rglob("*") if f.is_file())
    model.save(model_dir)


def save_model(
    path: str | os.PathLike[str],
    *,
    python_model: PythonModel,
    artifacts: dict[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    client: LockgateClient | None = None,
) -> Model:
    """Write a custom PythonModel, with its artifacts bundled, as an MLmodel directory.

    ``artifacts`` URIs (``runs:/`` ...) are fetched through ``client`` (default: the tracking
    URI in force).
    """
    import cloudpickle

    if not isinstance(python_model, PythonModel) and not callable(getattr(python_model, "predict", None)):
        raise InvalidArgument("python_model must be a lockgate.pyfunc.PythonModel instance.")
    model_dir = _prepare_dir(path)
    bundled: dict[str, dict[str, str]] = {}
    local_artifacts: dict[str, str] = {}
    if artifacts:
        from lockgate.models.fetch import local_model_path

        (model_dir / _ARTIFACTS_DIR).mkdir()
        for name, uri in artifacts.items():
            src = Path(local_model_path(uri, client=client))
            dest = model_dir / _ARTIFACTS_DIR / src.name
            if src.is_dir():
                shutil.copytree(src, dest)
            else:
                shutil.copy2(src, dest)
            bundled[name] = {"path": f"{_ARTIFACTS_DIR}/{src.name}", "uri": uri}
            local_artifacts[name] = str(dest)
    with open(model_dir / _PYTHON_MODEL_FILE, "wb") as handle:
        cloudpickle.dump(python_model, handle)
    code = _copy_code(model_dir, code_paths)
    env = environment.write_environment(
        model_dir, default_packages=["lockgate", "cloudpickle", "pandas", "numpy"],
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
    )
    model = Model(metadata=metadata)
    params: dict[str, Any] = {"python_model": _PYTHON_MODEL_FILE,
                              "cloudpickle_version": cloudpickle.__version__}
    if bundled:
        params["artifacts"] = bundled
    if model_config:
        params["model_config"] = model_config
    add_pyfunc_flavor(model, loader_module="lockgate.models.pyfunc", env=env, code=code, **params)

    def predict(example: Any) -> Any:
        context = PythonModelContext(local_artifacts, model_config)
        python_model.load_context(context)
        return _PythonModelWrapper(python_model, context).predict(example)

    finish_model_dir(model_dir, model, signature=signature, input_example=input_example,
                     predict_for_signature=predict)
    return model


def log_model(
    name: str | None = None,
    *,
    python_model: PythonModel,
    artifacts: dict[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    code_paths: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    client: LockgateClient | None = None,
) -> ModelInfo:
    """Save a PythonModel into the active run (or ``run_id``) under ``name``; maybe register it.

    ``client`` is where the run lives (default: the tracking URI in force).
    """
    from lockgate.models.logged import log_saved_model

    def save(path: Path) -> None:
        save_model(path, python_model=python_model, artifacts=artifacts, signature=signature,
                   input_example=input_example, pip_requirements=pip_requirements,
                   extra_pip_requirements=extra_pip_requirements, code_paths=code_paths,
                   metadata=metadata, client=client)

    return log_saved_model(save, name=name, artifact_path=artifact_path,
                           registered_model_name=registered_model_name, run_id=run_id, client=client)


# -- distributed scoring (implemented in lockgate.serving; reached here as MLflow users expect) --

def spark_udf(spark: Any, model_uri: str | os.PathLike[str], *, result_type: Any = "double",
              client: LockgateClient | None = None) -> Any:
    """A PySpark UDF scoring with the model, loaded once per executor (see ``serving.spark_scoring``)."""
    from lockgate.serving.spark_scoring import spark_udf as build

    return build(spark, model_uri, result_type=result_type, client=client)


def dask_predict(ddf: Any, model_uri: str | os.PathLike[str], *, output_column: str = "prediction",
                 include_input: bool = True, client: LockgateClient | None = None) -> Any:
    """``ddf`` with predictions, scored per partition, the model loaded once per worker."""
    from lockgate.serving.dask_scoring import dask_predict as score

    return score(ddf, model_uri, output_column=output_column, include_input=include_input, client=client)
