"""LightGBM autologging: params, per-iteration evaluation metrics, feature importance, the model.

Patched: ``lightgbm.train`` (also as the scikit-learn wrappers import it). Each validation
set's metrics become histories named ``<valid name>-<metric>`` with step = iteration, and
``feature_importance_<type>.json`` holds ``Booster.feature_importance`` per feature name for
each importance type (``importance_types``, default split and gain).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from lockgate.autologging.boosting import bind, log_flavor_model, train_params
from lockgate.autologging.patching import Call, patch
from lockgate.autologging.session import TrainingSession

__all__ = ["install"]


class _Recorder:
    """A LightGBM callback: one metric point per validation set and metric per iteration."""

    order = 25  # after LightGBM's own evaluation logging, before early stopping decides

    def __init__(self, session: TrainingSession) -> None:
        self.session = session

    def __call__(self, env: Any) -> None:
        values = {f"{item[0]}-{item[1]}": float(item[2]) for item in env.evaluation_result_list or []}
        self.session.record_metrics(values, step=env.iteration)


class _LightGBMHooks:
    def __init__(self, original: Any) -> None:
        self.original = original

    def before(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        bound = bind(self.original, args, kwargs)
        session.log_params(train_params(bound))
        bound.arguments["callbacks"] = [*(bound.arguments.get("callbacks") or []), _Recorder(session)]
        return bound.args, bound.kwargs

    def cleanup(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None  # nothing attached to the user's objects: callbacks went in as arguments

    def after(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any],
              booster: Any) -> None:
        if booster.best_iteration > 0:
            session.log_metrics({"best_iteration": int(booster.best_iteration)})
        names = booster.feature_name()
        for kind in session.config.option("importance_types", ("split", "gain")):
            values = session.safely(f"compute {kind} feature importance",
                                    booster.feature_importance, importance_type=kind)
            if values is not None:
                session.log_json({name: float(v) for name, v in zip(names, values, strict=True)},
                                 f"feature_importance_{kind}.json")
        log_flavor_model(session, "lightgbm", booster)


def install(lightgbm: ModuleType) -> None:
    """Patch ``lightgbm.train`` wherever LightGBM refers to it (once)."""
    import lightgbm.engine
    import lightgbm.sklearn

    original = getattr(lightgbm.engine.train, "__lockgate_autolog_original__", lightgbm.engine.train)
    hooks = _LightGBMHooks(original)
    for namespace in (lightgbm, lightgbm.engine, lightgbm.sklearn):
        patch(namespace, "train", integration="lightgbm", hooks=hooks)
