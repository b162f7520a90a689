"""Store selection: the tracking URI's scheme picks the backend.

``sqlite:///...``, ``postgresql+psycopg://...`` and ``mysql+pymysql://...`` give a
``SqlStore``; ``http(s)://...`` gives a ``RestStore`` that talks to a Lockgate server.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from lockgate import settings

if TYPE_CHECKING:
    from lockgate.registry.base import ModelRegistry
    from lockgate.store.base import TrackingStore

__all__ = ["clear_store_cache", "get_model_registry", "get_tracking_store"]

_stores: dict[tuple[str, str], TrackingStore] = {}
_lock = threading.Lock()


def get_tracking_store(uri: str | None = None) -> TrackingStore:
    """The store for ``uri`` (default: the tracking URI in force), shared within the process."""
    uri = uri or settings.tracking_uri()
    key = (uri, settings.default_artifact_root())
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _build(uri)
            _stores[key] = store
        return store


def _build(uri: str) -> TrackingStore:
    if settings.is_http_uri(uri):
        from lockgate.store.rest import RestStore

        return RestStore(uri)
    if "://" not in uri:
        from lockgate.errors import InvalidArgument

        raise InvalidArgument(
            f"Unsupported tracking URI {uri!r}: use sqlite:///path, postgresql+psycopg://..., "
            "mysql+pymysql://... or http(s)://server."
        )
    from lockgate.store.sql.store import SqlStore

    return SqlStore(uri)


def get_model_registry(
    uri: str | None = None, tracking_store: TrackingStore | None = None, *, token: str | None = None
) -> ModelRegistry:
    """The registry service for ``uri``: SQL in-process, or the server's over HTTP."""
    uri = uri or settings.tracking_uri()
    if settings.is_http_uri(uri):
        from lockgate.store.rest import RestRegistry

        return RestRegistry(uri, token=token) if token else RestRegistry(uri)
    tracking_store = tracking_store or get_tracking_store(uri)
    from lockgate.registry.sql import SqlRegistry

    return SqlRegistry(uri, tracking_store)


def clear_store_cache() -> None:
    """Forget cached stores (tests; after changing LOCKGATE_HOME)."""
    with _lock:
        _stores.clear()
