"""Run tags that tie a Lockgate run to the Dagster run, asset, partition and versions.

Dagster accepts partition keys that a tag store cannot hold as they are (lone surrogates,
control characters, keys longer than a tag value may be), so every value goes through
``sanitize_tag_value``; when that changes a value, a SHA-256 of the original is kept too so
the exact key stays identifiable.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from lockgate_dagster._compat import (
    PARENT_RUN_ID_TAG,
    ROOT_RUN_ID_TAG,
    asset_keys_of,
    code_version_of,
    dagster_run_id,
    dagster_run_tags_of,
    partition_key_of,
    upstream_data_versions,
)

__all__ = [
    "MAX_VALUE_LENGTH",
    "TAG_PREFIX",
    "dagster_run_tags",
    "materialization_key",
    "sanitize_tag_value",
]

TAG_PREFIX = "lockgate.dagster."
# Well under the store's 8000-character limit: these values are shown in tables and filters.
MAX_VALUE_LENGTH = 500


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def sanitize_tag_value(value: str, *, max_length: int = MAX_VALUE_LENGTH) -> str:
    """``value`` made storable: control characters escaped, lone surrogates replaced, length capped.

    A capped value ends with ``...`` and the first 12 hex digits of the original's SHA-256, so
    two long keys that share a prefix still get different tags.
    """
    out: list[str] = []
    for ch in value:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        elif unicodedata.category(ch) == "Cc":
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    clean = "".join(out)
    if len(clean) > max_length:
        suffix = f"...{_digest(value)[:12]}"
        clean = clean[: max_length - len(suffix)] + suffix
    return clean


def materialization_key(dagster_run_id: str, asset_key: str, partition_key: str | None) -> str:
    """A stable id for one asset (partition) materialized by one Dagster run, retries included."""
    raw = "\x1f".join([dagster_run_id, asset_key, partition_key if partition_key is not None else ""])
    return _digest(raw)[:32]


def dagster_run_tags(context: Any, *, include_data_versions: bool = True) -> dict[str, str]:
    """The ``lockgate.dagster.*`` tags describing the step ``context`` belongs to."""
    tags: dict[str, str] = {"lockgate.orchestrator": "dagster"}
    run_id = dagster_run_id(context)
    tags[TAG_PREFIX + "run_id"] = run_id
    job_name = getattr(context, "job_name", None)
    if job_name:
        tags[TAG_PREFIX + "job"] = sanitize_tag_value(str(job_name))
    run_tags = dagster_run_tags_of(context)
    for dagster_tag, name in ((ROOT_RUN_ID_TAG, "root_run_id"), (PARENT_RUN_ID_TAG, "parent_run_id")):
        if run_tags.get(dagster_tag):
            tags[TAG_PREFIX + name] = sanitize_tag_value(str(run_tags[dagster_tag]))
    retry = getattr(context, "retry_number", 0) or 0
    tags[TAG_PREFIX + "retry_number"] = str(retry)
    keys = asset_keys_of(context)
    partition = partition_key_of(context)
    if keys:
        joined = ",".join(k.to_user_string() for k in keys)
        tags[TAG_PREFIX + "asset_key"] = sanitize_tag_value(joined)
        tags[TAG_PREFIX + "materialization_key"] = materialization_key(run_id, joined, partition)
        code_versions = {k.to_user_string(): code_version_of(context, k) for k in keys}
        known = {k: v for k, v in code_versions.items() if v}
        if len(keys) == 1 and known:
            tags[TAG_PREFIX + "code_version"] = sanitize_tag_value(next(iter(known.values())))
        elif known:
            tags[TAG_PREFIX + "code_version"] = sanitize_tag_value(json.dumps(known, sort_keys=True))
        if include_data_versions:
            versions = upstream_data_versions(context, keys)
            if versions:
                tags[TAG_PREFIX + "upstream_data_versions"] = sanitize_tag_value(
                    json.dumps(versions, sort_keys=True), max_length=4000
                )
    if partition is not None:
        clean = sanitize_tag_value(partition)
        tags[TAG_PREFIX + "partition_key"] = clean
        if clean != partition:
            tags[TAG_PREFIX + "partition_key_sha256"] = _digest(partition)
    return tags
