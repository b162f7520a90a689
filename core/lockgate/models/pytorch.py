"""PyTorch modules as models: saved whole with ``torch.save``, loaded on CPU by default.

The python_function flavor feeds a DataFrame or array as one float tensor (or a dict of arrays
as keyword tensors) under ``torch.no_grad()`` and returns numpy (a DataFrame for DataFrame
input), so PyTorch models score through the same server and batch path as every other flavor.
"""

from __future__ import annotations

import os
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

__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]

FLAVOR_NAME = "pytorch"
_DATA_DIR = "data"
_MODEL_FILE = "model.pth"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise InvalidArgument("The pytorch flavor needs torch: pip install torch") from None
    return torch


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Write a ``torch.nn.Module`` as an MLmodel directory at ``path``."""
    torch = _torch()
    if not isinstance(pytorch_model, torch.nn.Module):
        raise InvalidArgument(
            f"pytorch.save_model takes a torch.nn.Module, not {type(pytorch_model).__name__}."
        )
    model_dir = _prepare_dir(path)
    (model_dir / _DATA_DIR).mkdir()
    torch.save(pytorch_model, model_dir / _DATA_DIR / _MODEL_FILE)
    env = environment.write_environment(
        model_dir, default_packages=["torch", "numpy", "pandas"],
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
    )
    model = Model(metadata=metadata)
    add_pyfunc_flavor(model, loader_module="lockgate.models.pytorch", env=env, data=_DATA_DIR)
    model.add_flavor(FLAVOR_NAME, model_data=_DATA_DIR, model_file=_MODEL_FILE,
                     pytorch_version=str(torch.__version__), code=None)
    wrapper = _TorchPyfunc(pytorch_model, device="cpu")
    finish_model_dir(model_dir, model, signature=signature, input_example=input_example,
                     predict_for_signature=wrapper.predict)
    return model


def log_model(
    pytorch_model: Any,
    name: str | None = None,
    *,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    client: LockgateClient | None = None,
) -> ModelInfo:
    """Save the module into the active run (or ``run_id``) under ``name``; maybe register it."""
    return log_flavor_model(
        save_model, pytorch_model, name=name, artifact_path=artifact_path,
        registered_model_name=registered_model_name, run_id=run_id, client=client,
        signature=signature, input_example=input_example, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, metadata=metadata,
    )


def _load_module(data_dir: str, *, device: str) -> Any:
    torch = _torch()
    path = os.path.join(data_dir, _MODEL_FILE)
    if not os.path.isfile(path):
        raise InvalidArgument(f"No PyTorch model file at {path!r}.")
    # Whole-module pickles need weights_only=False; load only models you trust, as with pickle.
    module = torch.load(path, map_location=device, weights_only=False)
    module.eval()
    return module


def load_model(model_uri: str | os.PathLike[str], *, device: str = "cpu", dst_path: str | None = None,
               client: LockgateClient | None = None) -> Any:
    """The ``torch.nn.Module`` of a model (path, runs:/, models:/ or artifact URI), in eval mode."""
    from lockgate.models.fetch import local_model_path

    local = local_model_path(model_uri, client=client, dst_path=dst_path)
    conf = Model.load(local).flavors.get(FLAVOR_NAME)
    if conf is None:
        raise InvalidArgument(f"The model at {os.fspath(model_uri)!r} has no pytorch flavor.")
    return _load_module(os.path.join(local, conf.get("model_data", _DATA_DIR)), device=device)


class _TorchPyfunc:
    def __init__(self, raw_model: Any, *, device: str) -> None:
        self.raw_model = raw_model
        self.device = device

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import pandas as pd

        torch = _torch()
        was_frame = isinstance(data, pd.DataFrame)
        with torch.no_grad():
            if isinstance(data, dict):
                tensors = {k: torch.as_tensor(np.asarray(v), device=self.device) for k, v in data.items()}
                out = self.raw_model(**tensors)
            else:
                array = data.to_numpy(dtype=np.float32) if was_frame else np.asarray(data)
                out = self.raw_model(torch.as_tensor(array, device=self.device))
        result = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out
        if was_frame and isinstance(result, np.ndarray):
            return pd.DataFrame(result.reshape(len(result), -1) if result.ndim > 1 else result,
                                index=data.index)
        return result


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _TorchPyfunc:
    """The pyfunc loader (used by Lockgate and, via the MLmodel file, by ``mlflow.pyfunc``)."""
    device = (model_config or {}).get("device") or "cpu"
    return _TorchPyfunc(_load_module(path, device=device), device=device)


def autolog(
    *, log_every_n_step: int | None = None, checkpoint: bool = False,
    **options: Unpack[AutologOptions],
) -> None:
    """Track PyTorch Lightning ``Trainer.fit``: hparams, metrics per epoch, the trained module.

    ``log_every_n_step=N`` also records what every Nth training step logged;
    ``checkpoint=True`` logs the best checkpoint of the trainer's ``ModelCheckpoint``.

    Options as ``lockgate.autolog()``; raises, naming the extra to install, when the library
    is missing.
    """
    from lockgate.autologging import autolog_library

    autolog_library("pytorch", **options, library_options={
        "log_every_n_step": log_every_n_step, "checkpoint": checkpoint})
