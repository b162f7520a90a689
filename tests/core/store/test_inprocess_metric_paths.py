"""The in-process metric fast paths (issue 18, round 2) give what the slow ones gave: ``Metric(...)``
without pydantic's validator for plain types, the column-wise checks of a batch, the latest value
of a one-key batch, and history entities built from the table's rows."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from lockgate.entities import Metric
from lockgate.errors import InvalidArgument
from lockgate.store.sql.store import SqlStore
from pydantic import BaseModel, ValidationError


class _Validated(BaseModel):
    """Metric's fields through pydantic's own validator, to compare with."""

    key: str
    value: float
    timestamp: int
    step: int = 0


@pytest.mark.parametrize("kwargs", [
    {"key": "loss", "value": 0.25, "timestamp": 7, "step": 3},
    {"key": "loss", "value": 0.25, "timestamp": 7},
    {"key": "loss", "value": math.nan, "timestamp": 7, "step": -2},
    {"key": "loss", "value": 1, "timestamp": 7, "step": 3},  # an int value becomes a float
    {"key": "loss", "value": 0.5, "timestamp": 7.0, "step": True},  # pydantic's lax coercions
    {"key": "loss", "value": "1.5", "timestamp": 7, "step": 1},
    {"key": "loss", "value": 0.5, "timestamp": 7, "step": 1, "unknown": "ignored"},
])
def test_metric_is_built_as_pydantic_builds_it(kwargs: dict[str, Any]) -> None:
    metric, validated = Metric(**kwargs), _Validated(**kwargs)
    assert metric.model_dump() == validated.model_dump() or math.isnan(metric.value)
    assert [type(v) for v in metric.model_dump().values()] == [type(v) for v in validated.model_dump().values()]
    assert metric.model_fields_set == validated.model_fields_set
    assert repr(metric) == repr(validated).replace("_Validated", "Metric")
    if not math.isnan(metric.value):
        assert metric == Metric.model_validate(kwargs)
        assert hash(metric) == hash(Metric.model_validate(kwargs))
    copy = metric.model_copy(update={"step": 9})
    assert copy.step == 9 and "step" in copy.model_fields_set and metric.step != 9
    # Instances may share their fields set: an update never reaches the others.
    assert Metric(**kwargs).model_fields_set == validated.model_fields_set
    with pytest.raises(ValidationError):
        metric.value = 2.0  # type: ignore[misc]  # still frozen


@pytest.mark.parametrize("kwargs", [
    {"value": 0.5, "timestamp": 1},
    {"key": "loss", "timestamp": 1},
    {"key": "loss", "value": 0.5},
    {"key": "loss", "value": "high", "timestamp": 1},
    {"key": "loss", "value": 0.5, "timestamp": 1, "step": 1.5},
    {"key": 3, "value": 0.5, "timestamp": 1},
])
def test_metric_refuses_what_pydantic_refuses(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as built:
        Metric(**kwargs)
    with pytest.raises(ValidationError) as validated:
        _Validated(**kwargs)
    assert [e["loc"] for e in built.value.errors()] == [e["loc"] for e in validated.value.errors()]


@pytest.fixture
def store(store_uri: str) -> SqlStore:
    return SqlStore(store_uri)


def _run(store: SqlStore) -> str:
    exp = store.create_experiment(f"inproc-{uuid.uuid4().hex[:8]}")
    return store.create_run(experiment_id=exp).info.run_id


@pytest.mark.parametrize(("bad", "message"), [
    (Metric.model_construct(key="a/../b", value=1.0, timestamp=1, step=0), "resolves to 'b'"),
    (Metric.model_construct(key="loss", value="x", timestamp=1, step=0), "Invalid value 'x' for metric 'loss'"),
    (Metric.model_construct(key="loss", value=True, timestamp=1, step=0), "Invalid value True"),
    (Metric.model_construct(key="loss", value=1.0, timestamp=-1, step=0), "Invalid timestamp -1"),
    (Metric.model_construct(key="loss", value=1.0, timestamp=1, step=1.5), "Invalid step 1.5"),
])
def test_a_bad_metric_anywhere_in_a_batch_refuses_it_whole(store: SqlStore, bad: Metric, message: str) -> None:
    run_id = _run(store)
    good = [Metric(key="loss", value=s * 0.5, timestamp=10, step=s) for s in range(300)]
    with pytest.raises(InvalidArgument, match=message):
        store.log_batch(run_id, metrics=[*good[:200], bad, *good[200:]])
    assert store.get_metric_history(run_id, "loss") == []
    assert store.get_run(run_id).data.metrics == {}


def test_the_latest_value_of_a_batch_follows_mlflow_rule(store: SqlStore) -> None:
    run_id = _run(store)
    # One key: the highest step wins over a later timestamp; on a full tie the first logged stays.
    store.log_batch(run_id, metrics=[
        Metric(key="loss", value=3.0, timestamp=50, step=4),
        Metric(key="loss", value=1.0, timestamp=10, step=5),
        Metric(key="loss", value=1.0, timestamp=10, step=5),
        Metric(key="loss", value=0.5, timestamp=9, step=5),
    ])
    # Several keys, a NaN counting as 0 against a negative value at the same step and time.
    store.log_batch(run_id, metrics=[
        Metric(key="acc", value=-1.0, timestamp=5, step=2),
        Metric(key="loss", value=9.0, timestamp=1, step=1),
        Metric(key="acc", value=math.nan, timestamp=5, step=2),
    ])
    run = store.get_run(run_id)
    assert run.data.metrics["loss"] == 1.0
    assert run.data.metric_points["loss"] == (5, 10)
    assert math.isnan(run.data.metrics["acc"])


def test_history_entities_read_back_like_built_ones(store: SqlStore) -> None:
    run_id = _run(store)
    logged = [Metric(key="loss", value=v, timestamp=100 + i, step=i)
              for i, v in enumerate([0.5, math.nan, math.inf, -math.inf, 1e-308, 2.0])]
    store.log_batch(run_id, metrics=logged)
    history = store.get_metric_history(run_id, "loss")
    assert [(m.step, m.timestamp) for m in history] == [(m.step, m.timestamp) for m in logged]
    assert math.isnan(history[1].value)
    assert [history[0], *history[2:]] == [logged[0], *logged[2:]]
    assert history[5].model_fields_set == Metric(key="loss", value=2.0, timestamp=105, step=5).model_fields_set
    moved = history[5].model_copy(update={"step": 6})
    assert moved.step == 6 and history[5].step == 5
    page = store.get_metric_history(run_id, "loss", max_results=4)
    assert len(page) == 4 and page.token
    rest = store.get_metric_history(run_id, "loss", max_results=4, page_token=page.token)
    assert [m.step for m in rest] == [4, 5] and rest.token is None


def test_metric_keeps_pydantic_signature_and_keywords_only() -> None:
    import inspect

    assert str(inspect.signature(Metric)) == str(inspect.signature(_Validated))
    with pytest.raises(TypeError):
        Metric("loss", 0.5, 1)  # type: ignore[misc]
