"""Which Lockgate flavor can save an asset's output, decided without importing ML libraries.

A type is recognised by the modules of its base classes, so checking a pandas DataFrame never
imports torch or scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from lockgate.errors import InvalidArgument

__all__ = ["ModelFlavor", "describe_type", "detect_flavor"]


@dataclass(frozen=True)
class ModelFlavor:
    """A flavor name and the function that writes the model as an MLmodel directory."""

    name: str
    save: Callable[[Path], object] | None  # None: the output already is a logged model (ModelInfo)


def describe_type(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _bases(obj: object) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]


def detect_flavor(obj: object, *, asset: str) -> ModelFlavor:
    """The flavor that saves ``obj``; InvalidArgument naming ``asset`` and the type if none can."""
    bases = _bases(obj)
    if any(b.startswith("lockgate.models.model.ModelInfo") for b in bases):
        return ModelFlavor(name="logged", save=None)
    if any(b.startswith("lockgate.models.pyfunc.PythonModel") for b in bases):
        from lockgate.models import pyfunc

        python_model = cast(pyfunc.PythonModel, obj)
        return ModelFlavor(name="python_function",
                           save=lambda path: pyfunc.save_model(path, python_model=python_model))
    if "torch.nn.modules.module.Module" in bases:
        from lockgate.models import pytorch

        return ModelFlavor(name="pytorch", save=lambda path: pytorch.save_model(obj, path))
    if any(b.startswith("sklearn.") for b in bases) and hasattr(obj, "predict") or (
        any(b == "sklearn.base.BaseEstimator" for b in bases)
    ):
        from lockgate.models import sklearn

        return ModelFlavor(name="sklearn", save=lambda path: sklearn.save_model(obj, path))
    raise InvalidArgument(
        f"Asset {asset!r} returned a {describe_type(obj)}, which is not a model Lockgate can log. "
        "LockgateModelIOManager stores scikit-learn estimators, torch.nn.Module models, "
        "lockgate.pyfunc.PythonModel instances, and the ModelInfo that lockgate.<flavor>.log_model "
        "returns; give assets with other outputs another io_manager_key."
    )
