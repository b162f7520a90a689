"""What XGBoost and LightGBM autologging share: params, the model through its flavor.

Both libraries train through one module-level ``train(params, data, num_boost_round, ...)``
that their scikit-learn wrappers call too, so one set of hooks per library covers both APIs.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from lockgate.autologging.session import TrainingSession, warn_once

__all__ = ["bind", "log_flavor_model", "train_params"]

# train() arguments that are data, callables or outputs rather than settings worth a param
_NOT_PARAMS = {"params", "dtrain", "train_set", "evals", "valid_sets", "obj", "feval",
               "custom_metric", "evals_result", "xgb_model", "init_model", "callbacks",
               "verbose_eval", "valid_names", "keep_training_booster"}


def bind(original: Callable[..., Any], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> inspect.BoundArguments:
    """The call's arguments by name, defaults filled in."""
    bound = inspect.signature(original).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound


def train_params(bound: inspect.BoundArguments) -> dict[str, Any]:
    """The booster params plus train()'s own settings (num_boost_round, early stopping ...)."""
    params = dict(bound.arguments.get("params") or {})
    for key, value in bound.arguments.items():
        if key not in _NOT_PARAMS and key not in params and value is not None:
            params[key] = value
    return params


def log_flavor_model(session: TrainingSession, flavor: str, model: Any) -> None:
    """Log ``model`` with ``lockgate.<flavor>.log_model``, or warn once that this Lockgate lacks it."""
    if not session.config.log_models:
        return
    module = importlib.import_module(f"lockgate.models.{flavor}")
    log = getattr(module, "log_model", None)
    if log is None:
        warn_once(f"{flavor}-flavor",
                  f"Lockgate autologging logged the {flavor} params, metrics and feature importance "
                  f"but not the model: this Lockgate has no lockgate.{flavor}.log_model.",
                  config=session.config)
        return
    session.log_model(log, model, "model")
