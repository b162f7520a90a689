"""0010_metric_blocks on a database holding metric points: the backfill summarises every block
as the write path would have, charts read them at once, and the migration reverts cleanly."""

from __future__ import annotations

import math

from lockgate.store.sql import migrate
from lockgate.store.sql.engine import _normalize, read_connection, upgrade_database
from lockgate.store.sql.metric_blocks import BlockSummary, stored_blocks
from lockgate.store.sql.sampling import sample_metric_histories
from lockgate.store.sql.store import SqlStore
from lockgate.store.sql.tables import ExperimentTable, MetricTable, RunTable
from sqlalchemy import create_engine, insert, inspect

BEFORE = "0009_registry_tag_values"
RUNS = ("a" * 32, "b" * 32)


def _points(run: int) -> list[tuple[int, int, float]]:
    """Steps -200..2,999 (negative steps, ten blocks of NaN-free noise a run), two spikes, a
    NaN-only block, a step logged twice and ±inf."""
    pts = [(s, 1000 + s, ((s * 7919 + run) % 101) / 100.0) for s in range(-200, 3000)]
    pts += [(s, 5, math.nan) for s in range(3072, 3100)]
    pts += [(640, 2, 40.0 + run), (2500, 3, -40.0), (2500, 1, -40.0), (5, 9, math.inf), (6, 9, -math.inf)]
    return pts


def _expected(pts: list[tuple[int, int, float]]) -> dict[int, BlockSummary]:
    blocks: dict[int, list[tuple[int, int, float]]] = {}
    for p in pts:
        blocks.setdefault(p[0] >> 7, []).append(p)
    out = {}
    for j, group in blocks.items():
        finite = [p for p in group if not math.isnan(p[2])]
        low = min(finite, key=lambda p: (p[2], p[0], p[1])) if finite else (None, None, None)
        high = min(finite, key=lambda p: (-p[2], p[0], p[1])) if finite else (None, None, None)
        out[j] = BlockSummary(j, len(group), min(p[0] for p in group), max(p[0] for p in group),
                              low[2], low[0], low[1], high[2], high[0], high[1])
    return out


def test_metric_blocks_backfill_matches_the_points(store_uri: str) -> None:
    from alembic import command

    engine = create_engine(_normalize(store_uri))
    upgrade_database(engine, BEFORE)
    assert "metric_blocks" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(insert(ExperimentTable).values(
            experiment_id=4, name="old", artifact_location="file:///tmp/a/4", lifecycle_stage="active",
            creation_time=1, last_update_time=1))
        for i, run_id in enumerate(RUNS):
            conn.execute(insert(RunTable).values(
                run_uuid=run_id, experiment_id=4, name=f"r{i}", user_id="u", status="FINISHED", start_time=i,
                lifecycle_stage="active", artifact_uri=f"file:///tmp/a/4/{run_id}"))
            conn.execute(insert(MetricTable), [
                {"run_uuid": run_id, "key": "loss", "value": 0.0 if math.isnan(v) else v, "is_nan": math.isnan(v),
                 "timestamp": t, "step": s} for s, t, v in _points(i)])

    upgrade_database(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
    store = SqlStore(store_uri)
    with read_connection(store.engine) as conn:
        for i, run_id in enumerate(RUNS):
            assert stored_blocks(conn, run_id, "loss", -100, 100) == _expected(_points(i))
    (series,) = sample_metric_histories(store, [RUNS[1]], ["loss"], max_points=40)
    assert series.sampled and series.total == len(_points(1))
    assert {41.0, -40.0, math.inf, -math.inf} <= {p.value for p in series.points}
    assert (2500, 1, -40.0) in {(p.step, p.timestamp, p.value) for p in series.points}  # the earlier of a tie

    cfg = migrate.alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, BEFORE)
    assert "metric_blocks" not in inspect(store.engine).get_table_names()
    upgrade_database(store.engine)
    with read_connection(store.engine) as conn:
        assert stored_blocks(conn, RUNS[0], "loss", -100, 100) == _expected(_points(0))
