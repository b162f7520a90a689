"""scikit-learn autologging on real small models: what a fit leaves in the run, read back."""

from __future__ import annotations

import sys
import warnings

import lockgate
import numpy as np
import pytest
from lockgate.autologging import AutologWarning
from lockgate.entities import RunStatus
from lockgate.errors import InvalidArgument
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def test_fit_logs_params_training_metrics_and_a_model_that_predicts(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.sklearn.autolog()
    model = LogisticRegression(C=0.5, max_iter=500)
    assert model.fit(x, y) is model
    run = lockgate.last_active_run()
    assert run is not None and lockgate.active_run() is None
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params["C"] == "0.5" and run.data.params["max_iter"] == "500"
    assert run.data.tags["lockgate.autologging"] == "sklearn"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(model.score(x, y))
    assert run.data.metrics["training_score"] == pytest.approx(model.score(x, y))
    assert 0 < run.data.metrics["training_log_loss"] < 1
    loaded = lockgate.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert list(loaded.predict(x.iloc[:10])) == list(model.predict(x.iloc[:10]))
    assert [c.name for c in loaded.metadata.signature.inputs.inputs] == list(x.columns)
    assert loaded.metadata.saved_input_example_info is not None


def test_regressor_pipeline_and_fit_transform(iris) -> None:  # type: ignore[no-untyped-def]
    x, _ = iris
    target = x.pop("petal width (cm)")
    lockgate.autolog(exclude=["pytorch"])
    pipe = make_pipeline(StandardScaler(), LinearRegression()).fit(x, target)
    run = lockgate.last_active_run()
    assert run is not None
    assert run.data.params["standardscaler__with_mean"] == "True"
    assert run.data.metrics["training_r2_score"] == pytest.approx(pipe.score(x, target))
    assert run.data.metrics["training_root_mean_squared_error"] > 0
    # the pipeline's inner fits were not logged as runs of their own
    assert len(lockgate.search_runs()) == 1

    scaled = StandardScaler().fit_transform(x)
    run = lockgate.last_active_run()
    assert run is not None and run.data.tags["estimator_name"] == "StandardScaler"
    loaded = lockgate.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.transform(x), scaled)


def test_grid_search_child_runs_and_best_on_the_parent(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.sklearn.autolog(max_tuning_runs=2)
    with lockgate.start_run() as parent:
        search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 0.1, 1.0]}, cv=3).fit(x, y)
    run = lockgate.get_run(parent.info.run_id)
    assert run.data.params["best_C"] == str(search.best_params_["C"])
    assert run.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    children = lockgate.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(children) == 2
    by_c = {c.data.params["C"]: c for c in children}
    ranks = search.cv_results_["rank_test_score"]
    best_two = [str(search.cv_results_["params"][i]["C"]) for i in np.argsort(ranks)[:2]]
    assert sorted(by_c) == sorted(best_two)
    for c_value, child in by_c.items():
        index = [str(p["C"]) for p in search.cv_results_["params"]].index(c_value)
        assert child.data.metrics["mean_test_score"] == pytest.approx(
            search.cv_results_["mean_test_score"][index])
        assert child.info.status == RunStatus.FINISHED
    names = {f.path for f in lockgate.list_artifacts(run_id=parent.info.run_id)}
    assert {"model", "best_estimator"} <= names


def test_randomized_search_is_logged_too(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.sklearn.autolog(log_models=False)
    search = RandomizedSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0]}, n_iter=2, cv=2,
                                random_state=0).fit(x, y)
    run = lockgate.last_active_run()
    assert run is not None
    assert run.data.params["best_C"] == str(search.best_params_["C"])
    assert lockgate.list_artifacts(run_id=run.info.run_id) == []  # log_models=False


def test_a_fit_that_raises_marks_the_run_failed_and_propagates_unchanged() -> None:
    lockgate.sklearn.autolog()
    with pytest.raises(ValueError, match="Input X contains NaN") as caught:
        LogisticRegression().fit(np.array([[np.nan], [1.0]]), np.array([0, 1]))
    assert type(caught.value) is ValueError
    run = lockgate.last_active_run()
    assert run is not None and run.info.status == RunStatus.FAILED
    assert lockgate.active_run() is None


def test_an_active_run_is_logged_into_and_exclusive_leaves_it_alone(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.sklearn.autolog(log_models=False)
    with lockgate.start_run() as mine:
        LogisticRegression(max_iter=300).fit(x, y)
    assert lockgate.get_run(mine.info.run_id).data.params["max_iter"] == "300"
    assert lockgate.get_run(mine.info.run_id).info.status == RunStatus.FINISHED

    lockgate.sklearn.autolog(exclusive=True)
    with lockgate.start_run() as other:
        LogisticRegression(max_iter=300).fit(x, y)
    assert lockgate.get_run(other.info.run_id).data.params == {}
    assert len(lockgate.search_runs()) == 2


def test_disable_turns_logging_off_again(iris) -> None:  # type: ignore[no-untyped-def]
    x, y = iris
    lockgate.autolog()
    lockgate.sklearn.autolog(disable=True)
    LogisticRegression(max_iter=300).fit(x, y)
    assert len(lockgate.search_runs()) == 0
    lockgate.autolog(disable=True)
    LogisticRegression(max_iter=300).fit(x, y)
    assert len(lockgate.search_runs()) == 0


def test_a_broken_store_is_a_warning_and_the_fit_is_untouched(  # type: ignore[no-untyped-def]
        iris, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = iris
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("LOCKGATE_TRACKING_URI", f"sqlite:///{blocker}/mlruns.db")
    lockgate.sklearn.autolog()
    with pytest.warns(AutologWarning, match="could not start a run"):
        model = LogisticRegression(max_iter=300).fit(x, y)
    assert model.score(x, y) > 0.9

    lockgate.sklearn.autolog(silent=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression(max_iter=300).fit(x, y)


def test_a_missing_library_is_skipped_or_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("xgboost", "lightgbm", "lightning", "pytorch_lightning", "keras"):
        monkeypatch.setitem(sys.modules, name, None)  # what Python does for an absent package
    lockgate.autolog()  # scikit-learn only; the absent libraries are skipped quietly
    from lockgate.autologging.config import get_config

    assert get_config("sklearn") is not None and get_config("xgboost") is None
    with pytest.raises(InvalidArgument, match=r"pip install 'lockgate\[xgboost\]'"):
        lockgate.xgboost.autolog()
    with pytest.raises(InvalidArgument, match=r"pip install 'lockgate\[lightning\]'"):
        lockgate.pytorch.autolog()
    with pytest.raises(InvalidArgument, match=r"pip install 'lockgate\[keras\]'"):
        lockgate.keras.autolog()
    with pytest.raises(InvalidArgument, match="exclude names unknown libraries"):
        lockgate.autolog(exclude=["tensorflow"])
