"""The tracking contract: every store backend must pass these: SqlStore on SQLite and PostgreSQL,
and RestStore through a live server on each (same results, same errors, same messages)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest
from lockgate import LockgateClient
from lockgate.entities import Metric, Param, RunStatus, RunTag, ViewType
from lockgate.errors import AlreadyExists, InvalidArgument, NotFound


@pytest.fixture(params=["sqlite", "postgres", "rest-sqlite", "rest-postgres"])
def store_uri(request: pytest.FixtureRequest) -> str:
    """A fresh database, used in-process or through a live server on it."""
    backend = str(request.param)
    uri = str(request.getfixturevalue(f"{backend.removeprefix('rest-')}_uri"))
    if not backend.startswith("rest-"):
        return uri
    start_server: Callable[..., str] = request.getfixturevalue("start_server")
    return start_server(backend_store_uri=uri)


@pytest.fixture
def client(store_uri: str) -> LockgateClient:
    return LockgateClient(store_uri)


@pytest.fixture
def run_id(client: LockgateClient) -> str:
    exp = client.create_experiment("contract")
    return client.create_run(exp, run_name="r1").info.run_id


# --------------------------------------------------------------- experiments
def test_default_experiment_exists(client: LockgateClient) -> None:
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert default.artifact_location.endswith("/0")


def test_experiment_create_get_rename_tags(client: LockgateClient) -> None:
    exp_id = client.create_experiment("churn", tags={"team": "risk"})
    exp = client.get_experiment(exp_id)
    assert (exp.name, exp.tags, exp.lifecycle_stage.value) == ("churn", {"team": "risk"}, "active")
    assert exp.artifact_location.endswith(f"/{exp_id}")
    assert client.get_experiment_by_name("churn").experiment_id == exp_id
    assert client.get_experiment_by_name("nope") is None
    client.rename_experiment(exp_id, "churn-v2")
    assert client.get_experiment(exp_id).name == "churn-v2"
    client.set_experiment_tag(exp_id, "owner", "ana")
    client.set_experiment_tag(exp_id, "owner", "bo")
    assert client.get_experiment(exp_id).tags == {"team": "risk", "owner": "bo"}
    client.delete_experiment_tag(exp_id, "team")
    assert client.get_experiment(exp_id).tags == {"owner": "bo"}
    with pytest.raises(NotFound, match="team"):
        client.delete_experiment_tag(exp_id, "team")


def test_experiment_name_conflicts(client: LockgateClient) -> None:
    exp_id = client.create_experiment("dup")
    with pytest.raises(AlreadyExists, match="'dup'"):
        client.create_experiment("dup")
    client.delete_experiment(exp_id)
    with pytest.raises(AlreadyExists, match="deleted"):
        client.create_experiment("dup")
    other = client.create_experiment("other")
    client.restore_experiment(exp_id)
    with pytest.raises(AlreadyExists):
        client.rename_experiment(other, "dup")
    with pytest.raises(InvalidArgument):
        client.create_experiment("")


def test_unknown_and_malformed_experiment_ids(client: LockgateClient) -> None:
    with pytest.raises(NotFound, match="'987654'"):
        client.get_experiment("987654")
    with pytest.raises(InvalidArgument, match="experiment id"):
        client.get_experiment("not-a-number")
    with pytest.raises(NotFound, match="'missing-exp'"):
        client.search_runs(["missing-exp"])


def test_delete_experiment_cascades_to_runs_and_restores(client: LockgateClient) -> None:
    exp_id = client.create_experiment("soft")
    run = client.create_run(exp_id)
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage.value == "deleted"
    assert client.get_run(run.info.run_id).info.lifecycle_stage.value == "deleted"
    with pytest.raises(InvalidArgument, match="deleted"):
        client.create_run(exp_id)
    active_names = [e.name for e in client.search_experiments()]
    deleted_names = [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    assert "soft" not in active_names and "soft" in deleted_names
    client.restore_experiment(exp_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage.value == "active"
    # The Default experiment is deleted like any other, as in MLflow; runs then need it restored.
    client.delete_experiment("0")
    with pytest.raises(InvalidArgument, match="deleted"):
        client.create_run("0")
    client.restore_experiment("0")
    assert client.get_experiment("0").lifecycle_stage.value == "active"


# --------------------------------------------------------------------- runs
def test_run_lifecycle_and_status(client: LockgateClient) -> None:
    exp_id = client.create_experiment("life")
    run = client.create_run(exp_id, run_name="first", tags={"k": 1})
    info = run.info
    assert info.status is RunStatus.RUNNING and info.end_time is None
    assert info.run_name == "first" and info.experiment_id == exp_id
    assert info.artifact_uri.endswith(f"/{exp_id}/{info.run_id}/artifacts")
    fetched = client.get_run(info.run_id)
    assert fetched.data.tags["k"] == "1"
    assert fetched.data.tags["mlflow.runName"] == "first"
    assert fetched.data.tags["lockgate.python.version"].count(".") == 2
    assert fetched.data.tags["lockgate.user"] == client.user
    ended = client.set_terminated(info.run_id, "FAILED")
    assert ended.status is RunStatus.FAILED and ended.end_time is not None
    client.update_run(info.run_id, name="renamed")
    assert client.get_run(info.run_id).info.run_name == "renamed"
    assert client.get_run(info.run_id).data.tags["mlflow.runName"] == "renamed"
    with pytest.raises(InvalidArgument, match="BOGUS"):
        client.update_run(info.run_id, status="BOGUS")


def test_nested_runs_record_parent(client: LockgateClient) -> None:
    exp_id = client.create_experiment("nest")
    parent = client.create_run(exp_id)
    child = client.create_run(exp_id, parent_run_id=parent.info.run_id)
    assert client.get_run(child.info.run_id).info.parent_run_id == parent.info.run_id
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    with pytest.raises(NotFound):
        client.create_run(exp_id, parent_run_id="f" * 32)


def test_unknown_run_ids(client: LockgateClient) -> None:
    with pytest.raises(NotFound, match="'" + "a" * 32 + "'"):
        client.get_run("a" * 32)
    with pytest.raises(InvalidArgument, match="run id"):
        client.get_run("../../etc/passwd")
    with pytest.raises(NotFound):
        client.log_metric("b" * 32, "x", 1.0)


def test_deleted_runs_refuse_writes_and_restore(client: LockgateClient, run_id: str) -> None:
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage.value == "deleted"
    with pytest.raises(InvalidArgument, match="deleted"):
        client.log_metric(run_id, "m", 1.0)
    with pytest.raises(InvalidArgument, match="deleted"):
        client.set_tag(run_id, "t", "v")
    client.restore_run(run_id)
    client.log_metric(run_id, "m", 2.0)
    assert client.get_run(run_id).data.metrics == {"m": 2.0}


# ------------------------------------------------------------------- params
def test_params_are_immutable(client: LockgateClient, run_id: str) -> None:
    client.log_params(run_id, {"lr": 0.01, "depth": 6})
    client.log_param(run_id, "lr", 0.01)  # same value again is fine
    with pytest.raises(InvalidArgument, match="'lr'.*0.01.*0.02"):
        client.log_param(run_id, "lr", 0.02)
    assert client.get_run(run_id).data.params == {"lr": "0.01", "depth": "6"}


def test_conflicting_param_batch_writes_nothing(client: LockgateClient, run_id: str) -> None:
    client.log_param(run_id, "a", "1")
    with pytest.raises(InvalidArgument):
        client.store.log_batch(
            run_id,
            params=[Param(key="b", value="2"), Param(key="a", value="changed")],
            metrics=[Metric(key="m", value=1.0, timestamp=1, step=0)],
        )
    run = client.get_run(run_id)
    assert run.data.params == {"a": "1"}
    assert run.data.metrics == {}


# ------------------------------------------------------------------ metrics
def test_metric_history_and_special_values(client: LockgateClient, run_id: str) -> None:
    for step in range(5):
        client.log_metric(run_id, "loss", 1 / (step + 1), step=step)
    client.log_metric(run_id, "weird", float("nan"), step=0)
    client.log_metric(run_id, "weird", float("inf"), step=1)
    client.log_metric(run_id, "weird", float("-inf"), step=2)
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1 / (s + 1)) for s in range(5)]
    weird = client.get_metric_history(run_id, "weird")
    assert math.isnan(weird[0].value) and weird[1].value == math.inf and weird[2].value == -math.inf
    assert client.get_run(run_id).data.metrics["weird"] == -math.inf
    client.log_metric(run_id, "nan_latest", float("nan"), step=3)
    assert math.isnan(client.get_run(run_id).data.metrics["nan_latest"])


def test_latest_metric_is_highest_step_then_latest_timestamp(client: LockgateClient, run_id: str) -> None:
    client.log_metric(run_id, "acc", 0.9, step=10, timestamp=1000)
    client.log_metric(run_id, "acc", 0.1, step=2, timestamp=5000)  # later, but lower step
    assert client.get_run(run_id).data.metrics["acc"] == 0.9
    client.log_metric(run_id, "acc", 0.95, step=10, timestamp=2000)  # same step, later timestamp
    assert client.get_run(run_id).data.metrics["acc"] == 0.95
    client.log_metric(run_id, "acc", 0.5, step=10, timestamp=1500)  # same step, older timestamp
    assert client.get_run(run_id).data.metrics["acc"] == 0.95
    assert len(client.get_metric_history(run_id, "acc")) == 4


@pytest.mark.parametrize("bad", [None, "0.5", True, b"1", object()])
def test_metric_values_must_be_numbers(client: LockgateClient, run_id: str, bad: object) -> None:
    with pytest.raises(InvalidArgument, match="metric 'm'"):
        client.log_metric(run_id, "m", bad)  # type: ignore[arg-type]
    assert client.get_run(run_id).data.metrics == {}


def test_numpy_scalars_are_accepted(client: LockgateClient, run_id: str) -> None:
    import numpy as np
    client.log_metric(run_id, "np", np.float32(0.25))
    client.log_metric(run_id, "npi", np.int64(3))
    assert client.get_run(run_id).data.metrics == {"np": 0.25, "npi": 3.0}


def test_overlong_and_bad_keys_and_values(client: LockgateClient, run_id: str) -> None:
    with pytest.raises(InvalidArgument, match="limit is 250"):
        client.log_metric(run_id, "k" * 251, 1.0)
    with pytest.raises(InvalidArgument, match="limit is 6000"):
        client.log_param(run_id, "p", "v" * 6001)
    with pytest.raises(InvalidArgument, match="limit is 8000"):
        client.set_tag(run_id, "t", "v" * 8001)
    with pytest.raises(InvalidArgument, match="'bad;key'"):
        client.log_param(run_id, "bad;key", "1")
    with pytest.raises(InvalidArgument, match=r"'\.\./x'"):
        client.set_tag(run_id, "../x", "1")
    client.set_tag(run_id, "long", "v" * 8000)
    client.log_param(run_id, "long", "v" * 6000)
    run = client.get_run(run_id)
    assert len(run.data.tags["long"]) == 8000 and len(run.data.params["long"]) == 6000


def test_store_enforces_batch_limits(client: LockgateClient, run_id: str) -> None:
    metrics = [Metric(key=f"m{i}", value=float(i), timestamp=1, step=0) for i in range(1001)]
    with pytest.raises(InvalidArgument, match="at most 1000 metrics"):
        client.store.log_batch(run_id, metrics=metrics)
    with pytest.raises(InvalidArgument, match="at most 100 params"):
        client.store.log_batch(run_id, params=[Param(key=f"p{i}", value="v") for i in range(101)])
    with pytest.raises(InvalidArgument, match="at most 100 tags"):
        client.store.log_batch(run_id, tags=[RunTag(key=f"t{i}", value="v") for i in range(101)])


def test_client_splits_large_batches(client: LockgateClient, run_id: str) -> None:
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(key="loss", value=float(i), timestamp=now, step=i) for i in range(2500)],
        params=[Param(key=f"p{i}", value=str(i)) for i in range(250)],
        tags=[RunTag(key=f"t{i}", value=str(i)) for i in range(250)],
    )
    run = client.get_run(run_id)
    assert len(client.get_metric_history(run_id, "loss")) == 2500
    assert run.data.metrics["loss"] == 2499.0
    assert len(run.data.params) == 250
    assert sum(1 for k in run.data.tags if k.startswith("t") and k[1:].isdigit()) == 250


def test_tags_set_overwrite_delete(client: LockgateClient, run_id: str) -> None:
    client.set_tag(run_id, "stage", "a")
    client.set_tag(run_id, "stage", "b")
    assert client.get_run(run_id).data.tags["stage"] == "b"
    client.delete_tag(run_id, "stage")
    assert "stage" not in client.get_run(run_id).data.tags
    with pytest.raises(NotFound, match="'stage'"):
        client.delete_tag(run_id, "stage")


def test_dataset_inputs(client: LockgateClient, run_id: str) -> None:
    client.log_input(run_id, name="iris", digest="abc123", source="sklearn.datasets", context="training",
                     schema='{"cols": 4}')
    client.log_input(run_id, name="iris", digest="abc123", source="sklearn.datasets", context="eval")
    client.log_input(run_id, name="holdout", digest="def456", context="eval")
    inputs = client.get_run(run_id).inputs.dataset_inputs
    by_name = {i.dataset.name: i for i in inputs}
    assert set(by_name) == {"iris", "holdout"}
    assert by_name["iris"].context == "eval"  # the latest context for the same dataset wins
    assert by_name["iris"].dataset.schema_ == '{"cols": 4}'
    assert by_name["holdout"].dataset.digest == "def456"
    with pytest.raises(InvalidArgument, match="digest"):
        client.log_input(run_id, name="x", digest="")


def test_gc_removes_deleted_runs_for_good(client: LockgateClient) -> None:
    exp_id = client.create_experiment("gc")
    keep = client.create_run(exp_id).info.run_id
    doomed = client.create_run(exp_id).info.run_id
    client.log_metric(doomed, "m", 1.0)
    client.log_param(doomed, "p", "1")
    with pytest.raises(InvalidArgument, match="not deleted"):
        client.gc(run_ids=[keep])
    client.delete_run(doomed)
    removed = client.gc()
    assert [r.info.run_id for r in removed] == [doomed]
    with pytest.raises(NotFound):
        client.get_run(doomed)
    assert client.get_run(keep).info.lifecycle_stage.value == "active"
    gone_exp = client.create_experiment("gone")
    client.create_run(gone_exp)
    client.delete_experiment(gone_exp)
    assert len(client.gc(experiment_ids=[gone_exp])) == 1
    with pytest.raises(NotFound):
        client.get_experiment(gone_exp)
    assert client.create_experiment("gone")  # the name is free again
