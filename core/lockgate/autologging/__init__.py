"""Autologging: one call, and training with scikit-learn, XGBoost, LightGBM, Lightning or Keras
is tracked.

``lockgate.autolog()`` turns it on for every supported library that is installed (absent ones
are skipped); ``lockgate.sklearn.autolog()``, ``lockgate.xgboost.autolog()``,
``lockgate.lightgbm.autolog()``, ``lockgate.pytorch.autolog()`` and ``lockgate.keras.autolog()``
turn on (or, with ``disable=True``, off) one library and raise, naming the extra, when it is not installed.
Libraries are patched once, right after they are imported; the options are read per call.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from typing_extensions import Unpack

from lockgate.autologging.config import (
    INTEGRATIONS,
    AutologConfig,
    AutologOptions,
    get_config,
    set_config,
)
from lockgate.autologging.imports import when_imported
from lockgate.autologging.session import AutologWarning
from lockgate.errors import InvalidArgument

__all__ = ["AutologOptions", "AutologWarning", "autolog", "autolog_library"]

_installed: set[str] = set()


def _install(name: str, module: ModuleType) -> None:
    integration = INTEGRATIONS[name]
    key = f"{name}:{module.__name__}"
    if key in _installed:
        return
    _installed.add(key)
    importlib.import_module(integration.patcher).install(module)


def autolog_library(library: str, *, library_options: dict[str, Any] | None = None,
                    **options: Unpack[AutologOptions]) -> None:
    """Turn autologging on (or off) for one library; raises when that library is missing."""
    integration = INTEGRATIONS.get(library)
    if integration is None:
        raise InvalidArgument(
            f"Unknown autologging library {library!r}; choose from {sorted(INTEGRATIONS)}."
        )
    config = AutologConfig(**options, options=dict(library_options or {}))
    if not config.disable and not integration.installed():
        raise integration.missing_error()
    set_config(library, config)
    if config.disable:
        return
    for module_name in integration.modules:
        when_imported(module_name, functools.partial(_install, library))


def autolog(*, exclude: Iterable[str] = (), **options: Unpack[AutologOptions]) -> None:
    """Track every training call of the installed libraries: params, metrics, the model.

    Covers scikit-learn, XGBoost, LightGBM, PyTorch Lightning and Keras (``exclude=["pytorch"]``
    leaves one out; libraries not installed are skipped). A training call with an active run
    logs into it; otherwise it gets a run of its own, ended when the call returns (FAILED if
    it raised; the exception reaches the caller unchanged). Options (also taken by
    ``lockgate.<library>.autolog()``): ``log_models=False`` keeps params and metrics only;
    ``log_input_examples`` and ``log_model_signatures`` (default True) shape the logged model;
    ``disable=True`` turns autologging off again; ``silent=True`` hides autologging's warnings;
    ``exclusive=True`` never writes into a run the user opened. A failure to track never
    fails the training: it becomes an ``AutologWarning``.
    """
    skipped = set(exclude)
    unknown = skipped - set(INTEGRATIONS)
    if unknown:
        raise InvalidArgument(
            f"exclude names unknown libraries {sorted(unknown)}; choose from {sorted(INTEGRATIONS)}."
        )
    disable = options.get("disable", False)
    for name, integration in INTEGRATIONS.items():
        if name in skipped or (not disable and not integration.installed()):
            continue
        if disable and get_config(name) is None:
            continue
        autolog_library(name, **options)
