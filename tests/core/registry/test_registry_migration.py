"""The 0002_registry migration builds exactly the tables the code declares, and reverts cleanly."""

from __future__ import annotations

import lockgate.store.sql.registry_tables  # noqa: F401  (registers the registry tables)
from lockgate.store.sql import migrate
from lockgate.store.sql.engine import get_engine
from lockgate.store.sql.tables import metadata
from sqlalchemy import create_engine, inspect

REGISTRY_TABLES = {"registered_models", "registered_model_tags", "model_versions", "model_version_tags",
                   "model_aliases", "gate_policies", "registry_events"}


def test_migrated_schema_matches_the_tables(store_uri: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = get_engine(store_uri)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert REGISTRY_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_downgrade_to_tracking_drops_only_registry_tables(store_uri: str) -> None:
    from alembic import command

    engine = create_engine(get_engine(store_uri).url)
    cfg = migrate.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001_tracking")
    tables = set(inspect(engine).get_table_names())
    assert not (REGISTRY_TABLES & tables)
    assert {"runs", "experiments", "metrics"} <= tables
    migrate.upgrade(engine)
    assert REGISTRY_TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()
