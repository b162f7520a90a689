"""0008_perf_scale on a database holding runs: the covering metric index is built, search
ordered by a metric reads the same runs through it, and the migration reverts cleanly."""

from __future__ import annotations

import math

from lockgate.store.sql import migrate
from lockgate.store.sql.engine import _normalize, upgrade_database
from lockgate.store.sql.store import SqlStore
from lockgate.store.sql.tables import ExperimentTable, LatestMetricTable, RunTable
from sqlalchemy import create_engine, insert, inspect

BEFORE = "0007_compat_validation"


def _index_columns(engine: object) -> list[str]:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("latest_metrics")}
    return list(indexes["ix_latest_metrics_key_value"])


def test_perf_scale_migration_keeps_data_and_search_order(store_uri: str) -> None:
    from alembic import command

    engine = create_engine(_normalize(store_uri))
    upgrade_database(engine, BEFORE)
    assert _index_columns(engine) == ["key", "value"]
    values = [0.3, math.nan, 0.9, 0.1, 0.7]
    with engine.begin() as conn:
        conn.execute(insert(ExperimentTable).values(
            experiment_id=3, name="before", artifact_location="file:///tmp/a/3", lifecycle_stage="active",
            creation_time=1, last_update_time=1))
        for i, value in enumerate(values):
            run_id = f"{i:032x}"
            conn.execute(insert(RunTable).values(
                run_uuid=run_id, experiment_id=3, name=f"r{i}", user_id="u", status="FINISHED", start_time=i,
                lifecycle_stage="active", artifact_uri=f"file:///tmp/a/3/{run_id}"))
            conn.execute(insert(LatestMetricTable).values(
                run_uuid=run_id, key="acc", value=0.0 if math.isnan(value) else value, is_nan=math.isnan(value),
                timestamp=1, step=0))

    upgrade_database(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _index_columns(engine) == ["key", "value", "is_nan", "run_uuid"]
    engine.dispose()

    store = SqlStore(store_uri)
    best = store.search_runs(["3"], filter_string="metrics.acc > 0.2", order_by=["metrics.acc DESC"], max_results=2)
    assert [r.info.run_name for r in best] == ["r2", "r4"]
    every = store.search_runs(["3"], order_by=["metrics.acc DESC"], max_results=10)
    assert [r.info.run_name for r in every] == ["r2", "r4", "r0", "r3", "r1"]  # NaN after every number

    cfg = migrate.alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, BEFORE)
    assert _index_columns(store.engine) == ["key", "value"]
    upgrade_database(store.engine)
    assert _index_columns(store.engine) == ["key", "value", "is_nan", "run_uuid"]
