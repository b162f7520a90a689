"""Helpers shared by flavors that store a library's own model file (xgboost, lightgbm, onnx)."""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument
from lockgate.models.model import Model

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["class_from_name", "class_name", "flavor_conf", "model_dir_of"]


def model_dir_of(path: str) -> str:
    """The model directory for a pyfunc ``data`` path (a file inside it) or the directory itself."""
    return path if os.path.isdir(path) else os.path.dirname(path)


def flavor_conf(model_uri: str | os.PathLike[str], flavor: str, *, client: LockgateClient | None,
                dst_path: str | None) -> tuple[str, dict[str, Any]]:
    """The local model directory of ``model_uri`` and its ``flavor`` settings from MLmodel."""
    from lockgate.models.fetch import local_model_path

    local = local_model_path(model_uri, client=client, dst_path=dst_path)
    conf = Model.load(local).flavors.get(flavor)
    if conf is None:
        raise InvalidArgument(f"The model at {os.fspath(model_uri)!r} has no {flavor} flavor.")
    return local, conf


def class_name(obj: Any) -> str:
    """``module.Class`` of ``obj``, as MLflow records ``model_class``."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def class_from_name(name: str, *, package: str) -> Any:
    """The class ``name`` (``module.Class``), refusing any outside ``package``: MLmodel files are input."""
    module_name, _, attr = name.rpartition(".")
    if not module_name or module_name.split(".")[0] != package:
        raise InvalidArgument(f"model_class {name!r} in the MLmodel file is not a {package} class.")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        raise InvalidArgument(f"model_class {name!r} in the MLmodel file does not exist in this "
                              f"{package} install.") from None
