"""LockgateModelIOManager on real Dagster with real scikit-learn models and the real registry."""

import dagster as dg
import numpy as np
import pytest
from lockgate import LockgateClient
from lockgate_dagster import LockgateModelIOManager, LockgateResource
from sklearn.linear_model import LogisticRegression


def _xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    return x, (x[:, 0] + 0.1 * rng.normal(size=80) > 0).astype(int)


def _fit() -> LogisticRegression:
    x, y = _xy()
    return LogisticRegression().fit(x, y)


def _failure_message(result: dg.ExecuteInProcessResult) -> tuple[str, str]:
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    # Dagster wraps the user's exception; the first non-Dagster error in the chain is ours.
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    return error.cls_name or "", error.message


def test_model_output_becomes_a_registered_version_with_lineage(
    instance: dg.DagsterInstance, store_uri: str
) -> None:
    sqlite_uri = store_uri  # runs on SQLite and on PostgreSQL
    @dg.asset
    def features() -> int:
        return 1

    @dg.asset(io_manager_key="model_io", code_version="3")
    def churn_model(context: dg.AssetExecutionContext, lockgate: LockgateResource, features: int):
        with lockgate.start_run(context):
            lockgate.log_metric("val_auc", 0.87)
            lockgate.log_metric("val_loss", 0.3)
            return _fit()

    @dg.asset
    def scores(churn_model) -> list:
        return [int(v) for v in churn_model.predict(_xy()[0][:5])]

    resources = {"lockgate": LockgateResource(tracking_uri=sqlite_uri),
                 "model_io": LockgateModelIOManager(tracking_uri=sqlite_uri)}
    result = dg.materialize([features, churn_model, scores], resources=resources, instance=instance)
    assert result.success
    client = LockgateClient(sqlite_uri)
    version = client.get_model_version("churn_model", 1)
    run = client.get_run(version.run_id)
    assert run.data.tags["lockgate.dagster.asset_key"] == "churn_model"
    assert version.tags["lockgate.dagster.run_id"] == result.run_id
    assert version.tags["lockgate.dagster.asset_key"] == "churn_model"
    assert version.tags["lockgate.dagster.code_version"] == "3"
    assert "features" in version.tags["lockgate.dagster.upstream_data_versions"]
    (mat,) = result.asset_materializations_for_node("churn_model")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["lockgate/model_uri"] == "models:/churn_model/1"
    assert meta["lockgate/version"] == 1
    assert meta["lockgate/run_id"] == version.run_id
    assert meta["lockgate/flavor"] == "sklearn"
    assert meta["lockgate/metric/val_auc"] == pytest.approx(0.87)
    assert meta["lockgate/metric/val_loss"] == pytest.approx(0.3)
    assert version.run_id in meta["lockgate/run_link"]
    # scores loaded version 1 through pyfunc and predicted with it
    assert result.output_for_node("scores") == [int(v) for v in _fit().predict(_xy()[0][:5])]


def test_io_manager_alone_logs_into_a_run_of_its_own(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    @dg.asset(io_manager_key="model_io", metadata={"lockgate/model_name": "churn-classifier"})
    def untracked_model():
        return _fit()

    result = dg.materialize([untracked_model], instance=instance,
                            resources={"model_io": LockgateModelIOManager(tracking_uri=sqlite_uri)})
    assert result.success
    client = LockgateClient(sqlite_uri)
    version = client.get_model_version("churn-classifier", 1)
    run = client.get_run(version.run_id)
    assert run.info.status.value == "FINISHED"
    assert run.data.tags["lockgate.dagster.run_id"] == result.run_id


def test_non_model_output_is_a_clear_error(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    @dg.asset(io_manager_key="model_io", key_prefix=["ml"])
    def not_a_model() -> dict:
        return {"auc": 0.9}

    result = dg.materialize([not_a_model], instance=instance, raise_on_error=False,
                            resources={"model_io": LockgateModelIOManager(tracking_uri=sqlite_uri)})
    assert not result.success
    cls_name, message = _failure_message(result)
    assert cls_name == "InvalidArgument"
    assert "'ml/not_a_model'" in message and "builtins.dict" in message
    assert "not a model" in message


@pytest.mark.parametrize("metadata, expected", [
    ({"lockgate/version": 1}, 1), ({"lockgate/version": "latest"}, 2), ({"lockgate/alias": "champion"}, 1), ({}, 2),
])
def test_load_input_by_version_alias_latest_and_materialized(
    instance: dg.DagsterInstance, sqlite_uri: str, metadata: dict, expected: int
) -> None:
    @dg.asset(io_manager_key="model_io")
    def clf():
        return _fit()

    @dg.asset(ins={"clf": dg.AssetIn(metadata=metadata)})
    def which(context: dg.AssetExecutionContext, clf) -> str:
        return type(clf).__name__

    resources = {"model_io": LockgateModelIOManager(tracking_uri=sqlite_uri)}
    assert dg.materialize([clf], instance=instance, resources=resources).success
    assert dg.materialize([clf], instance=instance, resources=resources).success
    client = LockgateClient(sqlite_uri)
    client.set_registered_model_alias("clf", "champion", 1)
    result = dg.materialize([clf, which], selection=[which], instance=instance, resources=resources)
    assert result.success
    (loaded,) = [e for e in result.all_events if e.event_type_value == "LOADED_INPUT"]
    assert loaded.event_specific_data.metadata["lockgate/version"].value == expected
    assert result.output_for_node("which") == "PyFuncModel"


def test_unknown_alias_on_load_is_a_clear_error(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    @dg.asset(io_manager_key="model_io")
    def clf():
        return _fit()

    @dg.asset(ins={"clf": dg.AssetIn(metadata={"lockgate/alias": "nonexistent"})})
    def consumer(clf) -> int:
        return 1

    resources = {"model_io": LockgateModelIOManager(tracking_uri=sqlite_uri)}
    result = dg.materialize([clf, consumer], instance=instance, resources=resources, raise_on_error=False)
    assert not result.success
    cls_name, message = _failure_message(result)
    assert cls_name == "NotFound"
    assert "'consumer.clf'" in message and "alias 'nonexistent'" in message and "'clf'" in message


def test_reexecuting_the_same_run_registers_no_duplicate(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    calls = []

    @dg.asset(io_manager_key="model_io", retry_policy=dg.RetryPolicy(max_retries=1))
    def flaky_model(context: dg.AssetExecutionContext, lockgate: LockgateResource):
        calls.append(context.retry_number)
        with lockgate.start_run(context):
            model = _fit()
        if context.retry_number == 0:
            # fail after the run is open: the retry must resume it, not add a second
            raise RuntimeError("lost the worker")
        return model

    resources = {"lockgate": LockgateResource(tracking_uri=sqlite_uri),
                 "model_io": LockgateModelIOManager(tracking_uri=sqlite_uri)}
    assert dg.materialize([flaky_model], instance=instance, resources=resources).success
    assert calls == [0, 1]
    client = LockgateClient(sqlite_uri)
    versions = client.search_model_versions(filter_string="name = 'flaky_model'")
    assert [v.version for v in versions] == [1]
    runs = client.search_runs(["0"])
    assert len(runs) == 1 and versions[0].run_id == runs[0].info.run_id
