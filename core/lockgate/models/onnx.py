"""ONNX models scored with onnxruntime, in MLflow's ``onnx`` flavor layout.

The python_function flavor names ``mlflow.onnx`` as its loader, as MLflow writes it. A
DataFrame is fed as one tensor (single-input models) or one tensor per column (named inputs);
float64 values are cast for ``tensor(float)`` inputs; DataFrame input gets a DataFrame back
with one column per model output, arrays and dicts get ``{output name: array}``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument
from lockgate.models import environment
from lockgate.models.logged import log_flavor_model
from lockgate.models.model import Model, ModelInfo
from lockgate.models.native import flavor_conf, model_dir_of
from lockgate.models.optional import import_extra
from lockgate.models.pyfunc import _prepare_dir, add_pyfunc_flavor, finish_model_dir
from lockgate.models.signature import ModelSignature

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["FLAVOR_NAME", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "onnx"
_MODEL_FILE = "model.onnx"
# What MLflow records by default; providers that are not installed are skipped on load.
DEFAULT_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def _onnx() -> Any:
    return import_extra("onnx", extra="onnx", feature="The onnx flavor")


def _ort() -> Any:
    return import_extra("onnxruntime", extra="onnx", feature="Scoring ONNX models")


def save_model(
    onnx_model: Any,
    path: str | os.PathLike[str],
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    onnx_execution_providers: list[Any] | None = None,
    onnx_session_options: dict[str, Any] | None = None,
    save_as_external_data: bool = True,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write an ``onnx.ModelProto`` as an MLmodel directory (large tensors as external data)."""
    onnx = _onnx()
    if not isinstance(onnx_model, onnx.ModelProto):
        raise InvalidArgument(f"onnx.save_model takes an onnx.ModelProto, not {type(onnx_model).__name__}.")
    try:
        onnx.checker.check_model(onnx_model)
    except onnx.checker.ValidationError as exc:
        raise InvalidArgument(f"The ONNX model is not valid: {exc}") from None
    _session_options(onnx_session_options)  # refuse bad options before anything is written
    model_dir = _prepare_dir(path)
    onnx.save_model(onnx_model, os.fspath(model_dir / _MODEL_FILE), save_as_external_data=save_as_external_data)
    env = environment.write_environment(
        model_dir, default_packages=["onnx", "onnxruntime", "numpy", "pandas"],
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
    )
    model = Model(metadata=metadata)
    add_pyfunc_flavor(model, loader_module="mlflow.onnx", env=env, data=_MODEL_FILE)
    model.add_flavor(FLAVOR_NAME, onnx_version=onnx.__version__, data=_MODEL_FILE,
                     providers=list(onnx_execution_providers or DEFAULT_PROVIDERS),
                     onnx_session_options=onnx_session_options, code=None)
    predict = None
    if input_example is not None and signature is None:
        predict = _OnnxPyfunc(os.fspath(model_dir / _MODEL_FILE), {"providers": ["CPUExecutionProvider"]}).predict
    finish_model_dir(model_dir, model, signature=signature, input_example=input_example,
                     predict_for_signature=predict)
    return model


def log_model(
    onnx_model: Any,
    name: str | None = None,
    *,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    onnx_execution_providers: list[Any] | None = None,
    onnx_session_options: dict[str, Any] | None = None,
    save_as_external_data: bool = True,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    client: LockgateClient | None = None,
) -> ModelInfo:
    """Save the ONNX model into the active run (or ``run_id``) under ``name``; maybe register it."""
    return log_flavor_model(
        save_model, onnx_model, name=name, artifact_path=artifact_path,
        registered_model_name=registered_model_name, run_id=run_id, client=client,
        signature=signature, input_example=input_example, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        onnx_execution_providers=onnx_execution_providers,
        onnx_session_options=onnx_session_options, save_as_external_data=save_as_external_data,
        metadata=metadata,
    )


def load_model(model_uri: str | os.PathLike[str], *, dst_path: str | None = None,
               client: LockgateClient | None = None) -> Any:
    """The ``onnx.ModelProto`` of a path, runs:/ or models:/ URI (external data loaded too)."""
    local, conf = flavor_conf(model_uri, FLAVOR_NAME, client=client, dst_path=dst_path)
    return _onnx().load_model(os.path.join(local, conf.get("data") or _MODEL_FILE))


def _session_options(options: dict[str, Any] | None) -> Any:
    if not options:
        return None
    ort = _ort()
    session_options = ort.SessionOptions()
    for key, value in options.items():
        if key == "execution_mode":
            modes = {"sequential": ort.ExecutionMode.ORT_SEQUENTIAL, "parallel": ort.ExecutionMode.ORT_PARALLEL}
            if str(value).lower() not in modes:
                raise InvalidArgument(f"onnx_session_options execution_mode must be one of {sorted(modes)}.")
            value = modes[str(value).lower()]
        elif key == "graph_optimization_level":
            value = ort.GraphOptimizationLevel(int(value))
        elif not hasattr(session_options, key):
            raise InvalidArgument(f"onnx_session_options has an unknown option {key!r}.")
        setattr(session_options, key, value)
    return session_options


class _OnnxPyfunc:
    def __init__(self, model_file: str, conf: dict[str, Any]) -> None:
        ort = _ort()
        declared = conf.get("providers") or DEFAULT_PROVIDERS
        declared = [declared] if isinstance(declared, str) else declared
        available = set(ort.get_available_providers())
        providers = [p for p in declared if (p[0] if isinstance(p, (list, tuple)) else p) in available]
        self.raw_model = ort.InferenceSession(
            model_file, sess_options=_session_options(conf.get("onnx_session_options")),
            providers=[tuple(p) if isinstance(p, list) else p for p in providers] or ["CPUExecutionProvider"],
        )
        self.inputs = [(i.name, i.type) for i in self.raw_model.get_inputs()]
        self.output_names = [o.name for o in self.raw_model.get_outputs()]

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import pandas as pd

        if isinstance(data, dict):
            feeds = dict(data)
        elif isinstance(data, pd.DataFrame):
            if len(self.inputs) > 1:
                missing = [name for name, _ in self.inputs if name not in data.columns]
                if missing:
                    raise InvalidArgument(f"The ONNX model needs input columns {missing}, which are missing.")
                feeds = {name: data[name].to_numpy() for name, _ in self.inputs}
            else:
                feeds = {self.inputs[0][0]: data.to_numpy()}
        else:
            if len(self.inputs) != 1:
                raise InvalidArgument(
                    f"An array can feed only a single-input ONNX model; this one needs "
                    f"{[name for name, _ in self.inputs]}: pass a dict or a DataFrame."
                )
            feeds = {self.inputs[0][0]: np.asarray(data)}
        for name, kind in self.inputs:
            feed = feeds.get(name)
            if kind == "tensor(float)" and feed is not None and getattr(feed, "dtype", None) == np.float64:
                feeds[name] = feed.astype(np.float32)
        outputs = self.raw_model.run(self.output_names, feeds)
        if isinstance(data, pd.DataFrame):
            return pd.DataFrame({name: np.asarray(out).reshape(-1) for name, out in zip(self.output_names, outputs)})
        return dict(zip(self.output_names, outputs))


def _load_pyfunc(path: str) -> _OnnxPyfunc:
    """The pyfunc loader (``mlflow.onnx`` in MLmodel files maps here)."""
    model_dir = model_dir_of(path)
    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME) or {}
    model_file = path if os.path.isfile(path) else os.path.join(model_dir, conf.get("data") or _MODEL_FILE)
    return _OnnxPyfunc(model_file, conf)
