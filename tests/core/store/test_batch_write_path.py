"""log_batch's fast write path (multi-row inserts on SQLite, one pipelined round trip on
PostgreSQL) keeps every point and refuses a bad batch whole, on both databases."""

from __future__ import annotations

import math
import uuid

import pytest
from lockgate.entities import Metric, Param, RunTag
from lockgate.errors import InvalidArgument, NotFound
from lockgate.store.sql.store import SqlStore


@pytest.fixture
def store(store_uri: str) -> SqlStore:
    return SqlStore(store_uri)


def _run(store: SqlStore) -> str:
    exp = store.create_experiment(f"write-path-{uuid.uuid4().hex[:8]}")
    return store.create_run(experiment_id=exp).info.run_id


def test_a_batch_across_insert_chunks_reads_back_exactly(store: SqlStore) -> None:
    run_id = _run(store)
    specials = {7: math.nan, 500: math.inf, 501: -math.inf, 999: 1e-308}
    points = [Metric(key="loss", value=specials.get(s, s * 0.1 + 1 / 3), timestamp=1_000 + s, step=s)
              for s in range(1000)]
    store.log_batch(run_id, metrics=points)
    store.log_batch(run_id, metrics=[Metric(key="loss", value=2.5, timestamp=5, step=1000)])
    history = store.get_metric_history(run_id, "loss")
    expected = [*points, Metric(key="loss", value=2.5, timestamp=5, step=1000)]
    assert len(history) == 1001
    for got, want in zip(history, expected):
        assert (got.step, got.timestamp) == (want.step, want.timestamp)
        assert got.value == want.value or (math.isnan(got.value) and math.isnan(want.value))
    # The entities read back behave like ones built by hand.
    assert history[3] == Metric(key="loss", value=0.3 + 1 / 3, timestamp=1_003, step=3)
    assert hash(history[3]) == hash(Metric(key="loss", value=0.3 + 1 / 3, timestamp=1_003, step=3))
    assert history[3].model_dump() == {"key": "loss", "value": 0.3 + 1 / 3, "timestamp": 1_003, "step": 3}
    assert repr(history[999]) == repr(Metric(key="loss", value=1e-308, timestamp=1_999, step=999))
    assert store.get_run(run_id).data.metrics["loss"] == 2.5


def test_a_batch_for_a_missing_run_is_not_found(store: SqlStore) -> None:
    missing = uuid.uuid4().hex
    with pytest.raises(NotFound, match=missing):
        store.log_batch(missing, metrics=[Metric(key="m", value=1.0, timestamp=1, step=0)],
                        params=[Param(key="p", value="1")], tags=[RunTag(key="t", value="v")])


def test_a_deleted_run_refuses_the_whole_batch(store: SqlStore) -> None:
    run_id = _run(store)
    store.delete_run(run_id)
    with pytest.raises(InvalidArgument, match="is deleted"):
        store.log_batch(run_id, metrics=[Metric(key="m", value=1.0, timestamp=1, step=0)],
                        params=[Param(key="p", value="1")], tags=[RunTag(key="t", value="v")])
    store.restore_run(run_id)
    run = store.get_run(run_id)
    assert run.data.metrics == {} and run.data.params == {} and "t" not in run.data.tags
    assert store.get_metric_history(run_id, "m") == []


def test_a_changed_param_rolls_back_the_metrics_and_tags_of_its_batch(store: SqlStore) -> None:
    run_id = _run(store)
    store.log_batch(run_id, params=[Param(key="lr", value="0.1")])
    with pytest.raises(InvalidArgument, match="'lr' of run .* is already '0.1'"):
        store.log_batch(run_id, params=[Param(key="lr", value="0.2"), Param(key="depth", value="3")],
                        metrics=[Metric(key="m", value=1.0, timestamp=1, step=0)],
                        tags=[RunTag(key="mlflow.runName", value="renamed")])
    run = store.get_run(run_id)
    assert run.data.params == {"lr": "0.1"}
    assert run.data.metrics == {} and run.info.run_name != "renamed"
    # The same value again is accepted, with the rest of the batch.
    store.log_batch(run_id, params=[Param(key="lr", value="0.1")], tags=[RunTag(key="mlflow.runName", value="ok")],
                    metrics=[Metric(key="m", value=4.0, timestamp=1, step=0)])
    run = store.get_run(run_id)
    assert run.info.run_name == "ok" and run.data.metrics == {"m": 4.0}


def test_create_run_checks_its_experiment_and_parent_and_builds_the_artifact_uri(store: SqlStore) -> None:
    exp = store.create_experiment(f"write-path-{uuid.uuid4().hex[:8]}", artifact_location="file:///tmp/arts//")
    run = store.create_run(experiment_id=exp, run_name="r", tags=[RunTag(key="t", value="v")])
    stored = store.get_run(run.info.run_id)
    assert stored.info == run.info
    assert run.info.artifact_uri == f"file:///tmp/arts/{run.info.run_id}/artifacts"
    assert stored.data.tags == {"t": "v", "mlflow.runName": "r"}
    child = store.create_run(experiment_id=exp, parent_run_id=run.info.run_id)
    assert store.get_run(child.info.run_id).info.parent_run_id == run.info.run_id
    with pytest.raises(NotFound, match="No experiment with id '987654'"):
        store.create_run(experiment_id="987654")
    orphan = uuid.uuid4().hex
    with pytest.raises(NotFound, match=f"No run with id '{orphan}'"):
        store.create_run(experiment_id=exp, parent_run_id=orphan, run_name="orphan")
    store.delete_experiment(exp)
    with pytest.raises(InvalidArgument, match="is deleted"):
        store.create_run(experiment_id=exp, run_name="late")
    names = {r.info.run_name for r in store.search_runs([exp], view_type="ALL")}
    assert names == {"r", child.info.run_name}
