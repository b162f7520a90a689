"""``SqlRegistry``: the registry service on SQLite and PostgreSQL.

The service (validation, gates, move decisions, guarded changes, events to record) is
``lockgate.registry.service.RegistryService``; the rows live in
``lockgate.store.sql.registry_store.SqlRegistryStore``. This module joins the two, as every
caller that holds a database URI wants.
"""

from __future__ import annotations

from sqlalchemy import Engine

from lockgate.registry.service import RegistryService
from lockgate.registry.validation import validate_alias, validate_model_name, version_number
from lockgate.store.base import TrackingStore
from lockgate.store.sql.registry_store import SqlRegistryStore

__all__ = ["SqlRegistry", "validate_alias", "validate_model_name", "version_number"]


class SqlRegistry(RegistryService):
    """The registry service on a SQL database.

    ``engine_or_uri`` is a database URL (the engine is shared and migrated on first use) or
    an ``Engine`` you built. ``tracking_store`` is where runs are read for gates and lineage;
    by default the tracking store of the same URI.
    """

    def __init__(self, engine_or_uri: Engine | str, tracking_store: TrackingStore | None = None) -> None:
        rows = SqlRegistryStore(engine_or_uri)
        super().__init__(rows, tracking_store)
        self.uri = rows.uri
        self.engine = rows.engine

    def __repr__(self) -> str:
        return f"SqlRegistry({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def tracking_store(self) -> TrackingStore | None:
        """The store runs are read from (built from the registry's URI on first use)."""
        if self._tracking is None and self.uri is not None:
            from lockgate.store import get_tracking_store

            self._tracking = get_tracking_store(self.uri)
        return self._tracking
