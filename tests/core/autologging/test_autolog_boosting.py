"""XGBoost and LightGBM autologging on real small models: params, histories, feature importance."""

from __future__ import annotations

import json
import warnings

import lightgbm as lgb
import lockgate
import pytest
import xgboost as xgb
from lockgate.autologging import AutologWarning
from lockgate.entities import RunStatus
from sklearn.datasets import load_breast_cancer


@pytest.fixture
def cancer():  # type: ignore[no-untyped-def]
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    return x.iloc[:400], y.iloc[:400], x.iloc[400:], y.iloc[400:]


def _json_artifact(run_id: str, path: str) -> dict[str, float]:
    with open(lockgate.download_artifacts(path, run_id=run_id)) as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def _history(run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in lockgate.get_metric_history(run_id, key)]


def _assert_model_logged_or_warned(run_id: str, flavor: str, caught: list[warnings.WarningMessage],
                                   x) -> None:  # type: ignore[no-untyped-def]
    module = getattr(lockgate, flavor)
    if hasattr(module, "log_model"):  # the flavor is part of this Lockgate
        loaded = lockgate.pyfunc.load_model(f"runs:/{run_id}/model")
        assert len(loaded.predict(x.iloc[:5])) == 5
    else:
        messages = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
        expected = (f"Lockgate autologging logged the {flavor} params, metrics and feature "
                    f"importance but not the model: this Lockgate has no lockgate.{flavor}.log_model.")
        assert messages == [expected]


def test_xgboost_train_params_histories_importance(cancer) -> None:  # type: ignore[no-untyped-def]
    x, y, vx, vy = cancer
    lockgate.xgboost.autolog()
    train, valid = xgb.DMatrix(x, label=y), xgb.DMatrix(vx, label=vy)
    evals_result: dict[str, dict[str, list[float]]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "eval_metric": ["logloss", "auc"]},
                            train, num_boost_round=6, evals=[(train, "train"), (valid, "valid")],
                            evals_result=evals_result, verbose_eval=False)
        xgb.train({"objective": "binary:logistic"}, train, num_boost_round=2)  # warns only once
    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FINISHED
    first = lockgate.search_runs(order_by=["attributes.start_time ASC"])[0]
    assert first.data.params["max_depth"] == "2"
    assert first.data.params["num_boost_round"] == "6"
    assert first.data.tags["lockgate.autologging"] == "xgboost"
    for data in ("train", "valid"):
        for metric in ("logloss", "auc"):
            history = _history(first.info.run_id, f"{data}-{metric}")
            assert history == [(i, pytest.approx(v)) for i, v in enumerate(evals_result[data][metric])]
    assert _json_artifact(first.info.run_id, "feature_importance_weight.json") == pytest.approx(
        booster.get_score(importance_type="weight"))
    assert _json_artifact(first.info.run_id, "feature_importance_gain.json") == pytest.approx(
        booster.get_score(importance_type="gain"))
    _assert_model_logged_or_warned(first.info.run_id, "xgboost", caught, vx)


def test_xgboost_sklearn_api_with_early_stopping(cancer) -> None:  # type: ignore[no-untyped-def]
    x, y, vx, vy = cancer
    lockgate.xgboost.autolog(log_models=False, importance_types=("weight",))
    model = xgb.XGBClassifier(n_estimators=200, max_depth=2, early_stopping_rounds=3, learning_rate=0.5)
    model.fit(x, y, eval_set=[(vx, vy)], verbose=False)
    run = lockgate.last_active_run()
    assert run is not None
    assert run.data.params["max_depth"] == "2"
    assert run.data.metrics["best_iteration"] == model.best_iteration
    history = _history(run.info.run_id, "validation_0-logloss")
    assert [step for step, _ in history] == list(range(model.best_iteration + 4))
    assert history[-1][1] == pytest.approx(model.evals_result()["validation_0"]["logloss"][-1])
    assert {f.path for f in lockgate.list_artifacts(run_id=run.info.run_id)} == {
        "feature_importance_weight.json"}


def test_lightgbm_train_params_histories_importance(cancer) -> None:  # type: ignore[no-untyped-def]
    x, y, vx, vy = cancer
    lockgate.lightgbm.autolog()
    train = lgb.Dataset(x, label=y)
    valid = lgb.Dataset(vx, label=vy, reference=train)
    recorded: dict[str, dict[str, list[float]]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        booster = lgb.train({"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": 7,
                             "verbose": -1}, train, num_boost_round=5, valid_sets=[valid],
                            valid_names=["valid"], callbacks=[lgb.record_evaluation(recorded)])
    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FINISHED
    assert run.data.params["num_leaves"] == "7" and run.data.params["num_boost_round"] == "5"
    for metric in ("binary_logloss", "auc"):
        assert _history(run.info.run_id, f"valid-{metric}") == [
            (i, pytest.approx(v)) for i, v in enumerate(recorded["valid"][metric])]
    split = dict(zip(booster.feature_name(), booster.feature_importance("split").tolist(), strict=True))
    assert _json_artifact(run.info.run_id, "feature_importance_split.json") == pytest.approx(split)
    assert set(_json_artifact(run.info.run_id, "feature_importance_gain.json")) == set(x.columns)
    _assert_model_logged_or_warned(run.info.run_id, "lightgbm", caught, vx)


def test_lightgbm_training_that_raises_fails_the_run(cancer) -> None:  # type: ignore[no-untyped-def]
    x, y, _, _ = cancer
    lockgate.lightgbm.autolog()
    with pytest.raises(lgb.basic.LightGBMError, match="Unknown objective"):
        lgb.train({"objective": "no-such-objective", "verbose": -1}, lgb.Dataset(x, label=y), 2)
    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FAILED
    assert run.data.params["objective"] == "no-such-objective"
