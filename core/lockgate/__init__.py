"""Lockgate: experiment tracking, models, a gated model registry and serving.

``import lockgate`` is cheap: the fluent functions and ``LockgateClient`` are loaded on
first use, so no database engine, web framework or dataframe library is imported here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it; resolved lazily by __getattr__.
_EXPORTS: dict[str, str] = {
    "LockgateClient": "lockgate.client",
    "set_tracking_uri": "lockgate.settings",
    "get_tracking_uri": "lockgate.settings",
    "autolog": "lockgate.autologging",
}
_FLUENT = [
    "set_experiment", "start_run", "end_run", "active_run", "last_active_run",
    "log_param", "log_params", "log_metric", "log_metrics", "set_tag", "set_tags",
    "delete_tag", "log_input", "get_run", "search_runs", "get_metric_history",
]
_EXPORTS.update({name: "lockgate.fluent" for name in _FLUENT})
_ARTIFACT_FLUENT = [
    "log_artifact", "log_artifacts", "log_text", "log_dict", "log_figure", "log_image",
    "list_artifacts", "download_artifacts", "get_artifact_uri",
]
_EXPORTS.update({name: "lockgate.fluent" for name in _ARTIFACT_FLUENT})
# flavors and sub-packages reached as attributes: lockgate.sklearn, lockgate.pyfunc ...
_FLAVORS = {"sklearn", "pytorch", "pyfunc", "xgboost", "lightgbm", "onnx", "keras"}
_SUBMODULES = _FLAVORS | {"registry", "artifacts", "models", "entities", "errors", "projects"}

__all__ = sorted(_EXPORTS) + ["__version__"]  # noqa: PLE0605 - built from the lazy-export table


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(_EXPORTS[name])
        attr = "tracking_uri" if name == "get_tracking_uri" else name
        value = getattr(module, attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        target = f"lockgate.models.{name}" if name in _FLAVORS else f"lockgate.{name}"
        module = importlib.import_module(target)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'lockgate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)


if TYPE_CHECKING:  # pragma: no cover
    from lockgate.autologging import autolog  # noqa: F401
    from lockgate.client import LockgateClient  # noqa: F401
    from lockgate.fluent import (  # noqa: F401
        active_run,
        delete_tag,
        end_run,
        get_run,
        last_active_run,
        log_input,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        search_runs,
        set_experiment,
        set_tag,
        set_tags,
        start_run,
    )
