"""scikit-learn autologging: params, training metrics and score, search child runs, the model.

Patched: ``fit``, ``fit_transform`` and ``fit_predict`` of every estimator scikit-learn lists,
and of ``Pipeline`` and the hyperparameter searches. ``GridSearchCV``/``RandomizedSearchCV``
log one child run per candidate (the best ``max_tuning_runs`` by rank) and the best params
and score on the parent run.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

from lockgate.autologging.patching import Call, patch
from lockgate.autologging.session import TrainingSession

__all__ = ["install"]

_METHODS = ("fit", "fit_transform", "fit_predict")
_EXAMPLE_ROWS = 5


def _xy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    x = args[1] if len(args) > 1 else kwargs.get("X")
    y = args[2] if len(args) > 2 else kwargs.get("y")
    return x, y


def _head(data: Any) -> Any:
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[:_EXAMPLE_ROWS]
    try:
        return data[:_EXAMPLE_ROWS]
    except Exception:  # noqa: BLE001 - sparse or exotic input: no example rather than a failure
        return None


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if not math.isnan(number) else None


def training_metrics(estimator: Any, x: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
    """MLflow's training_* metrics for a fitted classifier or regressor (empty otherwise).

    One ``predict`` serves every metric, and ``training_score`` reuses accuracy (or R²) when
    the estimator keeps scikit-learn's default ``score``, which computes exactly that.
    """
    from sklearn import base, metrics

    if y is None or not hasattr(estimator, "predict"):
        return {}
    w = sample_weight
    found: dict[str, float] = {}
    if base.is_classifier(estimator):
        predicted = estimator.predict(x)
        found["training_accuracy_score"] = metrics.accuracy_score(y, predicted, sample_weight=w)
        precision, recall, f1, _ = metrics.precision_recall_fscore_support(
            y, predicted, average="weighted", sample_weight=w, zero_division=0)
        found.update(training_precision_score=precision, training_recall_score=recall,
                     training_f1_score=f1)
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(x)
            classes = estimator.classes_
            found["training_log_loss"] = metrics.log_loss(y, proba, sample_weight=w, labels=classes)
            found["training_roc_auc"] = (
                metrics.roc_auc_score(y, proba[:, 1], sample_weight=w) if len(classes) == 2 else
                metrics.roc_auc_score(y, proba, multi_class="ovr", sample_weight=w, labels=classes))
        default_score, default_key = base.ClassifierMixin.score, "training_accuracy_score"
    elif base.is_regressor(estimator):
        predicted = estimator.predict(x)
        mse = metrics.mean_squared_error(y, predicted, sample_weight=w)
        found.update(training_mean_squared_error=mse, training_root_mean_squared_error=math.sqrt(mse),
                     training_mean_absolute_error=metrics.mean_absolute_error(y, predicted,
                                                                              sample_weight=w),
                     training_r2_score=metrics.r2_score(y, predicted, sample_weight=w))
        default_score, default_key = base.RegressorMixin.score, "training_r2_score"
    else:
        return {}
    if getattr(type(estimator), "score", None) is default_score:
        found["training_score"] = found[default_key]
    elif hasattr(estimator, "score"):
        found["training_score"] = estimator.score(x, y) if w is None else \
            estimator.score(x, y, sample_weight=w)
    return {k: float(v) for k, v in found.items()}


def _log_estimator(session: TrainingSession, estimator: Any, x: Any, name: str = "model") -> None:
    from lockgate.models import sklearn as flavor
    from lockgate.models.signature import infer_signature

    predict_fn = next((fn for fn in ("predict", "transform") if callable(getattr(estimator, fn, None))),
                      None)
    if predict_fn is None:
        return
    head = _head(x)
    signature = None
    if head is not None and session.config.log_model_signatures:
        signature = session.safely("infer the model signature", lambda: infer_signature(
            head, getattr(estimator, predict_fn)(head)))
    example = head if session.config.log_input_examples else None
    session.log_model(flavor.log_model, estimator, name, input_example=example,
                      signature=signature, pyfunc_predict_fn=predict_fn)


def _log_search(session: TrainingSession, search: Any, x: Any) -> None:
    """Best params/score on the run; one child run per candidate, best ranks first."""
    import numpy as np

    if not hasattr(search, "cv_results_"):
        return
    results = search.cv_results_
    if hasattr(search, "best_params_"):
        session.log_params({f"best_{k}": v for k, v in search.best_params_.items()})
    best = _finite(getattr(search, "best_score_", None))
    if best is not None:
        session.log_metrics({"best_cv_score": best})
    limit = int(session.config.option("max_tuning_runs", 5) or 0)
    ranks = results.get("rank_test_score")
    order = list(np.argsort(ranks, kind="stable")) if ranks is not None else \
        list(range(len(results["params"])))
    scalar_keys = [k for k in results if k != "params" and not k.startswith("param_")
                   and not k.startswith("split")]
    client, parent = session.client, session.run_id
    run = client.get_run(parent)
    for index in order[:limit]:
        child = client.create_run(run.info.experiment_id, parent_run_id=parent,
                                  tags={"lockgate.autologging": "sklearn"})
        session.safely("log a search candidate", _log_candidate, client, child.info.run_id,
                       results["params"][index],
                       {k: results[k][index] for k in scalar_keys})
    if getattr(search, "best_estimator_", None) is not None:
        _log_estimator(session, search.best_estimator_, x, "best_estimator")


def _log_candidate(client: Any, run_id: str, params: dict[str, Any], scores: dict[str, Any]) -> None:
    try:
        client.log_params(run_id, params)
        values = {k: v for k, v in ((k, _finite(v)) for k, v in scores.items()) if v is not None}
        client.log_metrics(run_id, values)
    finally:
        client.set_terminated(run_id)


class _SklearnHooks:
    def before(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        estimator = args[0]
        session.log_params(estimator.get_params(deep=True))
        session.set_tags({"estimator_name": type(estimator).__name__,
                          "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}"})
        return args, kwargs

    def cleanup(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None  # nothing attached to the user's objects: callbacks went in as arguments

    def after(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any],
              result: Any) -> None:
        estimator = args[0]
        x, y = _xy(args, kwargs)
        if hasattr(estimator, "cv_results_"):
            _log_search(session, estimator, x)
        scores = session.safely("compute training metrics", training_metrics, estimator, x, y,
                                kwargs.get("sample_weight"))
        session.log_metrics(scores or {})
        _log_estimator(session, estimator, x)


def _estimator_classes(sklearn: ModuleType) -> list[type]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.utils import all_estimators

    return [cls for _name, cls in all_estimators()] + [GridSearchCV, RandomizedSearchCV, Pipeline,
                                                       FeatureUnion]


def install(sklearn: ModuleType) -> None:
    """Patch every scikit-learn estimator's training methods (once)."""
    hooks = _SklearnHooks()
    for cls in _estimator_classes(sklearn):
        for method in _METHODS:
            owner = next((c for c in cls.__mro__ if method in c.__dict__), None)
            if owner is not None and owner.__module__.startswith("sklearn."):
                patch(owner, method, integration="sklearn", hooks=hooks)
