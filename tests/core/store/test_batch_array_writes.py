"""log_batch's set-based writes (PostgreSQL: one INSERT ... SELECT FROM unnest of array literals
per table) store exactly what was logged, whatever the keys and number types, on both databases."""

from __future__ import annotations

import math
import uuid

import numpy as np
import psycopg
import pytest
from lockgate.entities import Metric
from lockgate.store.sql.batch_writes import pg_array_literals
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.metric_blocks import blocks_from_points, stored_blocks
from lockgate.store.sql.store import SqlStore

KEYS = ["loss", "a b/c.d-e_f:g", "éü/ß 数", "x" * 250]


def test_awkward_keys_and_number_types_read_back_exactly(store_uri: str) -> None:
    store = SqlStore(store_uri)
    run_id = store.create_run(experiment_id=store.create_experiment(f"arrays-{uuid.uuid4().hex[:8]}")).info.run_id
    kinds = [lambda s: s * 0.1 + 1 / 7, lambda s: s, lambda s: np.float64(s / 3), lambda s: 0.5 * s]
    metrics = [Metric.model_construct(key=KEYS[s % 4], value=kinds[s % 4](s), timestamp=2**62 + s, step=s - 2**40)
               for s in range(300)]
    metrics += [Metric(key="loss", value=math.nan, timestamp=1, step=-2**40 + 1_000),
                Metric(key="loss", value=-math.inf, timestamp=2, step=-2**40 + 1_001)]
    store.log_batch(run_id, metrics=metrics)

    for key in KEYS:
        sent = [m for m in metrics if m.key == key]
        got = store.get_metric_history(run_id, key)
        assert [(m.step, m.timestamp) for m in got] == [(m.step, m.timestamp) for m in sent]
        for g, m in zip(got, sent):
            assert type(g.value) is float
            assert g.value == float(m.value) or (math.isnan(g.value) and math.isnan(m.value))
    latest = store.get_run(run_id).data.metrics
    assert latest["loss"] == -math.inf  # the highest step wins, NaN before it is not the latest
    assert latest[KEYS[1]] == 297 and latest[KEYS[2]] == 298 / 3 and latest[KEYS[3]] == 0.5 * 299
    with read_connection(store.engine) as conn:
        for key in KEYS:
            kept = stored_blocks(conn, run_id, key, -(2**33), 2**33)
            assert kept and kept == blocks_from_points(conn, run_id, key, -(2**41), 2**41)


def test_array_literals_carry_any_text_and_null(postgres_uri: str) -> None:
    rows = [('q"uo\\te {a,b} NULL', 1.5, -(2**63), True), ("NULL", math.inf, 2**63 - 1, False),
            ("", -0.0, None, False), (" é ", None, 0, True)]
    with psycopg.connect(postgres_uri.replace("+psycopg", "")) as conn:
        got = conn.execute("SELECT * FROM unnest(%s::text[], %s::float8[], %s::int8[], %s::bool[])",
                           pg_array_literals(rows, "tfib")).fetchall()
    assert got == rows
    assert math.copysign(1.0, got[2][1]) == -1.0


@pytest.mark.parametrize("value", [0.1 + 0.2, 5e-324, 1.7976931348623157e308, -1 / 3])
def test_float_literals_are_exact(value: float) -> None:
    assert float(pg_array_literals([(value,)], "f")[0][1:-1]) == value
