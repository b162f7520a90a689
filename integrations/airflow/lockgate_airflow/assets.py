"""Registry aliases as Airflow Assets: schedule a DAG on ``lockgate://models/churn@champion``.

``model_alias_asset("churn", "champion")`` is an ``Asset`` with an ``AssetWatcher`` whose trigger
(``ModelAliasEventTrigger``) follows the registry's event log from the triggerer. Every promotion
(every move of the alias) becomes an asset event, and a DAG with ``schedule=[asset]`` runs: Airflow
3's event-driven scheduling, with no task polling anything. ``promotion_of`` reads an event back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lockgate_airflow.triggers.model_alias import ModelAliasEventTrigger
from lockgate_airflow.version_compat import Asset, AssetWatcher

__all__ = ["model_alias_asset", "model_alias_uri", "promotion_of", "promotions"]


def model_alias_uri(model_name: str, alias: str) -> str:
    """The asset URI of a model's alias: ``lockgate://models/<name>@<alias>``."""
    if not model_name or not alias:
        raise ValueError(f"A model alias asset needs a model name and an alias, got {model_name!r} and {alias!r}")
    return f"lockgate://models/{model_name}@{alias}"


def model_alias_asset(
    model_name: str,
    alias: str,
    *,
    lockgate_conn_id: str = "lockgate_default",
    poll_interval: float = 30.0,
    after_event_id: int | None = None,
) -> Asset:
    """An Asset that gets an event each time ``model_name@alias`` moves (watched from the triggerer).

    ``poll_interval`` is how often (seconds) the triggerer reads the registry's event log;
    ``after_event_id`` is where a new watcher starts (default: the newest event when it first runs).
    """
    uri = model_alias_uri(model_name, alias)
    trigger = ModelAliasEventTrigger(model_name=model_name, alias=alias, lockgate_conn_id=lockgate_conn_id,
                                     poll_interval=poll_interval, after_event_id=after_event_id)
    return Asset(uri=uri, name=uri, watchers=[AssetWatcher(name=f"lockgate-{model_name}-{alias}", trigger=trigger)])


def promotion_of(asset_event: Any) -> dict[str, Any]:
    """What an asset event of a model alias asset says: model_name, alias, version, from_version,
    event_id (the registry's), type, actor and timestamp."""
    extra: Mapping[str, Any] = getattr(asset_event, "extra", None) or {}
    payload = extra.get("payload", extra)
    if not isinstance(payload, Mapping) or "event_id" not in payload:
        raise ValueError(f"This asset event was not emitted by a Lockgate alias watcher: extra={dict(extra)!r}")
    return dict(payload)


def promotions(triggering_asset_events: Mapping[Any, Sequence[Any]], asset: Asset) -> list[dict[str, Any]]:
    """The promotions of ``asset`` that started this DAG run, oldest first (its context's
    ``triggering_asset_events``); the last one is the version to deploy."""
    events = triggering_asset_events.get(asset) or []
    return sorted((promotion_of(event) for event in events), key=lambda p: int(p["event_id"]))
