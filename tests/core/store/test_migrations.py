"""Migrations: a database built at the first revision, filled, then upgraded keeps everything."""

from __future__ import annotations

import pytest
from lockgate import LockgateClient
from lockgate.store.sql import migrate
from lockgate.store.sql.engine import _normalize, upgrade_database
from lockgate.store.sql.tables import (
    ExperimentTable,
    LatestMetricTable,
    MetricTable,
    ParamTable,
    RunTable,
    RunTagTable,
)
from sqlalchemy import create_engine, insert

FIRST = "0001_tracking"


def test_upgrade_from_first_revision_keeps_data(store_uri: str) -> None:
    engine = create_engine(_normalize(store_uri))
    upgrade_database(engine, FIRST)
    assert migrate.current_revision(engine) == FIRST
    run_id = "c" * 32
    with engine.begin() as conn:
        conn.execute(insert(ExperimentTable).values(
            experiment_id=7, name="legacy", artifact_location="file:///tmp/a/7", lifecycle_stage="active",
            creation_time=1, last_update_time=1))
        conn.execute(insert(RunTable).values(
            run_uuid=run_id, experiment_id=7, name="old-run", user_id="ana", status="FINISHED", start_time=10,
            end_time=20, lifecycle_stage="active", artifact_uri="file:///tmp/a/7/r/artifacts"))
        conn.execute(insert(ParamTable).values(run_uuid=run_id, key="lr", value="0.1"))
        conn.execute(insert(RunTagTable).values(run_uuid=run_id, key="team", value="risk"))
        conn.execute(insert(MetricTable), [
            {"run_uuid": run_id, "key": "loss", "value": v, "is_nan": False, "timestamp": 100 + s, "step": s}
            for s, v in enumerate([0.5, 0.4, 0.3])])
        conn.execute(insert(LatestMetricTable).values(
            run_uuid=run_id, key="loss", value=0.3, is_nan=False, timestamp=102, step=2))
    engine.dispose()

    client = LockgateClient(store_uri)  # first use upgrades to head
    assert migrate.current_revision(client.store.engine) == migrate.head_revision()
    run = client.get_run(run_id)
    assert (run.info.run_name, run.info.user_id, run.info.status.value) == ("old-run", "ana", "FINISHED")
    assert run.data.params == {"lr": "0.1"} and run.data.tags == {"team": "risk"}
    assert run.data.metrics == {"loss": 0.3}
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.5, 0.4, 0.3]
    assert client.get_experiment("7").name == "legacy"
    client.log_metric(run_id, "loss", 0.2, step=3)
    assert client.get_run(run_id).data.metrics == {"loss": 0.2}


def test_every_revision_downgrades_and_upgrades_cleanly(sqlite_uri: str) -> None:
    from alembic import command

    engine = create_engine(sqlite_uri)
    upgrade_database(engine)
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert migrate.current_revision(engine) is None
    upgrade_database(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_bad_tracking_uri_is_a_clear_error() -> None:
    from lockgate.errors import InvalidArgument, ServiceUnavailable

    with pytest.raises(InvalidArgument, match="Unsupported tracking URI"):
        LockgateClient("no-scheme-here").get_run("a" * 32)
    with pytest.raises(ServiceUnavailable, match="Cannot reach"):
        LockgateClient("postgresql+psycopg://nobody@127.0.0.1:1/none").get_run("a" * 32)
