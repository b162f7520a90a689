"""XGBoost autologging: params, per-iteration evaluation metrics, feature importance, the model.

Patched: ``xgboost.train`` (also as the scikit-learn wrappers import it). Each ``evals`` entry's
metrics become histories named ``<eval name>-<metric>`` with step = boosting iteration, and
``feature_importance_<type>.json`` holds ``Booster.get_score`` for each importance type
(``importance_types``, default weight and gain).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from lockgate.autologging.boosting import bind, log_flavor_model, train_params
from lockgate.autologging.patching import Call, patch
from lockgate.autologging.session import TrainingSession

__all__ = ["install"]


def _point(value: Any) -> float:
    return float(value[0] if isinstance(value, tuple) else value)  # xgboost.cv keeps (mean, std)


class _XGBoostHooks:
    def __init__(self, xgboost: ModuleType, original: Any) -> None:
        self.original = original
        base = xgboost.callback.TrainingCallback

        class _Recorder(base):  # type: ignore[misc, valid-type]
            def __init__(self, session: TrainingSession) -> None:
                super().__init__()
                self.session = session

            def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
                values = {f"{data}-{metric}": _point(history[-1])
                          for data, metrics in evals_log.items() for metric, history in metrics.items()}
                self.session.record_metrics(values, step=epoch)
                return False

        self.recorder = _Recorder

    def before(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        bound = bind(self.original, args, kwargs)
        session.log_params(train_params(bound))
        bound.arguments["callbacks"] = [*(bound.arguments.get("callbacks") or []),
                                        self.recorder(session)]
        return bound.args, bound.kwargs

    def cleanup(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None  # nothing attached to the user's objects: callbacks went in as arguments

    def after(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any],
              booster: Any) -> None:
        best = booster.attr("best_iteration")
        if best is not None:
            session.log_metrics({"best_iteration": int(best),
                                 "best_score": float(booster.attr("best_score"))})
        for kind in session.config.option("importance_types", ("weight", "gain")):
            scores = session.safely(f"compute {kind} feature importance", booster.get_score,
                                    importance_type=kind)
            if scores is not None:
                session.log_json({k: float(v) for k, v in scores.items()},
                                 f"feature_importance_{kind}.json")
        log_flavor_model(session, "xgboost", booster)


def install(xgboost: ModuleType) -> None:
    """Patch ``xgboost.train`` wherever XGBoost refers to it (once)."""
    import xgboost.sklearn
    import xgboost.training

    original = getattr(xgboost.training.train, "__lockgate_autolog_original__", xgboost.training.train)
    hooks = _XGBoostHooks(xgboost, original)
    for namespace in (xgboost, xgboost.training, xgboost.sklearn):
        patch(namespace, "train", integration="xgboost", hooks=hooks)
