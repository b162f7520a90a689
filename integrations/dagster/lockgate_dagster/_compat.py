"""Everything that depends on Dagster's version or private corners, in one place.

Lockgate targets Dagster 1.13; the helpers here use only public APIs where Dagster offers one.
If a future Dagster moves something, this is the only module to touch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import dagster as dg
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "lockgate_dagster needs Dagster: pip install 'lockgate[dagster]' (Dagster 1.13 or newer)."
    ) from exc

__all__ = [
    "DAGSTER_VERSION",
    "DATA_VERSION_TAG",
    "PARENT_RUN_ID_TAG",
    "ROOT_RUN_ID_TAG",
    "asset_keys_of",
    "code_version_of",
    "dagster_run_id",
    "dagster_run_tags_of",
    "latest_materialization_metadata",
    "partition_key_of",
    "upstream_data_versions",
]

DAGSTER_VERSION: str = dg.__version__
# Tag names Dagster writes on materializations and re-executed runs (stable since 1.0).
DATA_VERSION_TAG = "dagster/data_version"
PARENT_RUN_ID_TAG = "dagster/parent_run_id"
ROOT_RUN_ID_TAG = "dagster/root_run_id"


def dagster_run_id(context: Any) -> str:
    """The Dagster run id of a step, input/output or check context."""
    run = getattr(context, "run", None)  # 1.13 deprecates context.run_id on asset contexts
    if run is not None and hasattr(run, "run_id"):
        return str(run.run_id)
    return str(context.run_id)


def dagster_run_tags_of(context: Any) -> Mapping[str, str]:
    run = getattr(context, "run", None)
    if run is not None and hasattr(run, "tags"):
        return run.tags or {}
    return getattr(context, "run_tags", None) or {}


def asset_keys_of(context: Any) -> list[dg.AssetKey]:
    """The asset keys a step is materializing (one for @asset, several for @multi_asset)."""
    if getattr(context, "has_assets_def", False):
        keys = list(context.selected_asset_keys)
        return sorted(keys, key=lambda k: k.to_user_string())
    return []


def partition_key_of(context: Any) -> str | None:
    """The partition (or ``start...end`` partition range) a step runs for, if any."""
    if getattr(context, "has_partition_key", False):
        return str(context.partition_key)
    if getattr(context, "has_partition_key_range", False):
        rng = context.partition_key_range
        return f"{rng.start}...{rng.end}"
    return None


def code_version_of(context: Any, key: dg.AssetKey) -> str | None:
    if not getattr(context, "has_assets_def", False):
        return None
    return context.assets_def.code_versions_by_key.get(key)


def upstream_data_versions(context: Any, keys: list[dg.AssetKey]) -> dict[str, str]:
    """Data versions of the latest materializations of the assets ``keys`` depend on."""
    if not getattr(context, "has_assets_def", False) or not keys:
        return {}
    deps: set[dg.AssetKey] = set()
    for key in keys:
        deps |= set(context.assets_def.asset_deps.get(key, ()))
    deps -= set(keys)
    if not deps:
        return {}
    versions: dict[str, str] = {}
    instance = context.instance
    for dep in sorted(deps, key=lambda k: k.to_user_string()):
        entry = instance.get_latest_materialization_event(dep)
        materialization = entry.asset_materialization if entry is not None else None
        if materialization is None:
            continue
        version = (materialization.tags or {}).get(DATA_VERSION_TAG)
        if version:
            versions[dep.to_user_string()] = version
    return versions


def latest_materialization_metadata(
    instance: dg.DagsterInstance, key: dg.AssetKey, *, partition: str | None = None
) -> Mapping[str, Any]:
    """The metadata (raw values) of an asset's (partition's) latest materialization; empty if none."""
    if partition is None:
        entry = instance.get_latest_materialization_event(key)
        materialization = entry.asset_materialization if entry is not None else None
    else:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
        ).records
        materialization = records[0].asset_materialization if records else None
    if materialization is None:
        return {}
    return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
