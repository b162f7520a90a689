"""Alembic environment: runs on the connection Lockgate hands over (see migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import lockgate.store.sql.tables

try:  # the registry's tables, once that package exists
    import lockgate.store.sql.registry_tables
except ImportError:  # pragma: no cover
    pass

import lockgate.store.sql.server_tables
import lockgate.store.sql.webhook_tables  # webhooks and their delivery log

# Importing the modules above put every table on this one MetaData.
target_metadata = lockgate.store.sql.tables.metadata
config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        assert url, "alembic needs sqlalchemy.url or a connection"
        engine = create_engine(url)
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
