"""Revision 0006: a database at 0005 with webhooks and logged models upgrades in place; old
webhooks keep Lockgate's format and logged models start with no linked metrics."""

from __future__ import annotations

from lockgate.store.logged_models import LoggedModelMetric
from lockgate.store.sql import migrate
from lockgate.store.sql.engine import _normalize, upgrade_database
from lockgate.store.sql.logged_models import SqlLoggedModels
from sqlalchemy import create_engine, text

BEFORE = "0005_webhooks"


def test_upgrade_from_0005_keeps_webhooks_and_logged_models(store_uri: str) -> None:
    engine = create_engine(_normalize(store_uri))
    upgrade_database(engine, BEFORE)
    run_id, model_id = "d" * 32, "m-" + "e" * 32
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
                          "creation_time, last_update_time) VALUES (3, 'old', 'file:///tmp/x/3', 'active', 1, 1)"))
        conn.execute(text("INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, "
                          "lifecycle_stage, artifact_uri) VALUES (:r, 3, 'r', 'ana', 'FINISHED', 1, 'active', "
                          "'file:///tmp/x/3/r')"), {"r": run_id})
        conn.execute(text("INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                          "creation_time, last_updated_time, status, source_run_id, user_id, lifecycle_stage) "
                          "VALUES (:m, 3, 'model', 'file:///tmp/x/m', 1, 1, 'LOGGED_MODEL_READY', :r, 'ana', "
                          "'active')"), {"m": model_id, "r": run_id})
        conn.execute(text("INSERT INTO webhooks (webhook_id, name, url, events, secret_ref, status, created_by, "
                          "creation_timestamp, last_updated_timestamp, cursor, lease_expires) VALUES "
                          "(:w, 'old', 'https://example.com/h', '[\"alias.set\"]', 'env:HOOK', 'ACTIVE', 'ana', "
                          "1, 1, 0, 0)"), {"w": "a" * 32})
    engine.dispose()

    engine = create_engine(_normalize(store_uri))
    upgrade_database(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT payload_format FROM webhooks")).scalar_one() == "lockgate"
    engine.dispose()

    logged = SqlLoggedModels(store_uri)
    assert logged.get(model_id).metrics == []
    logged.log_metrics(run_id, [LoggedModelMetric(key="r2", value=0.5, timestamp=7, step=1, run_id=run_id,
                                                  model_id=model_id)])
    assert [(m.key, m.value, m.step, m.timestamp) for m in logged.get(model_id).metrics] == [("r2", 0.5, 1, 7)]
