"""0007_compat_validation: experiment names up to 500 characters (as MLflow), existing data kept."""

from __future__ import annotations

import pytest
from lockgate import LockgateClient
from lockgate.errors import InvalidArgument
from lockgate.store.sql import migrate
from lockgate.store.sql.engine import _normalize, upgrade_database
from lockgate.store.sql.tables import ExperimentTable, RunTable
from sqlalchemy import create_engine, insert, inspect

BEFORE = "0005_webhooks"


def test_upgrade_widens_experiment_names_and_keeps_data(store_uri: str) -> None:
    engine = create_engine(_normalize(store_uri))
    upgrade_database(engine, BEFORE)
    old_name = "o" * 256
    with engine.begin() as conn:
        conn.execute(insert(ExperimentTable).values(
            experiment_id=7, name=old_name, artifact_location="file:///tmp/a/7", lifecycle_stage="active",
            creation_time=1, last_update_time=1))
        conn.execute(insert(RunTable).values(
            run_uuid="d" * 32, experiment_id=7, name="kept", user_id="ana", status="FINISHED", start_time=10,
            end_time=20, lifecycle_stage="active", artifact_uri="file:///tmp/a/7/r/artifacts"))
    width = {c["name"]: c["type"] for c in inspect(engine).get_columns("experiments")}["name"].length
    assert width == 256
    engine.dispose()

    client = LockgateClient(store_uri)  # first use upgrades to head
    assert migrate.current_revision(client.store.engine) == migrate.head_revision()
    widened = {c["name"]: c["type"] for c in inspect(client.store.engine).get_columns("experiments")}
    assert widened["name"].length == 500
    assert client.get_experiment("7").name == old_name
    assert client.get_run("d" * 32).info.run_name == "kept"
    long_id = client.create_experiment("n" * 500)
    assert client.get_experiment(long_id).name == "n" * 500
    run = client.create_run(long_id)
    assert client.get_run(run.info.run_id).info.experiment_id == long_id
    with pytest.raises(InvalidArgument, match="500"):
        client.create_experiment("n" * 501)


def test_downgrade_restores_the_old_width(sqlite_uri: str) -> None:
    from alembic import command

    engine = create_engine(sqlite_uri)
    upgrade_database(engine)
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, BEFORE)
    assert {c["name"]: c["type"] for c in inspect(engine).get_columns("experiments")}["name"].length == 256
    upgrade_database(engine)
    assert {c["name"]: c["type"] for c in inspect(engine).get_columns("experiments")}["name"].length == 500
    engine.dispose()
