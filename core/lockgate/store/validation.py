"""Checks every store applies at its boundary, with messages that name the offending key.

Kept apart from the SQL code so the REST server and the client can run the same checks.
"""

from __future__ import annotations

import math
import numbers
import posixpath
import re
from collections import Counter
from collections.abc import Sequence

from lockgate.entities import DatasetInput, Metric, Param, RunTag
from lockgate.errors import InvalidArgument
from lockgate.store.base import (
    MAX_ENTITIES_PER_BATCH,
    MAX_KEY_LENGTH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_PARAMS_PER_BATCH,
    MAX_TAG_VALUE_LENGTH,
    MAX_TAGS_PER_BATCH,
)

__all__ = [
    "MAX_DATASETS_PER_REQUEST",
    "MAX_EXPERIMENT_NAME_LENGTH",
    "MAX_IDS_PER_REQUEST",
    "MAX_LIST_PER_REQUEST",
    "MAX_TAGS_PER_REQUEST",
    "checked_metric_keys",
    "mlflow_truncated_param_value",
    "mlflow_truncated_tag_value",
    "validate_batch",
    "validate_batch_size",
    "validate_dataset_inputs",
    "validate_experiment_name",
    "validate_experiment_tag",
    "validate_id_list",
    "validate_key",
    "validate_max_results",
    "validate_metric",
    "validate_param",
    "validate_params_and_tags",
    "validate_run_id",
    "validate_tag",
]

# MLflow's per-request limits (mlflow/utils/validation.py) for what it documents, and bounds
# of the same order for lists it leaves open, so one request cannot hold the write lock for
# long or blow a database's parameter limit.
MAX_DATASETS_PER_REQUEST = 1000
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_DATASET_SOURCE_LENGTH = 65535
MAX_DATASET_SCHEMA_LENGTH = 1048575
MAX_DATASET_PROFILE_LENGTH = 16777215
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500
MAX_TAGS_PER_REQUEST = 100
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
MAX_IDS_PER_REQUEST = 10_000
MAX_LIST_PER_REQUEST = 1000

# Keys may hold letters, digits, and _ - . / space (MLflow's rule), which keeps them safe as
# file names on every platform and readable in filters.
_KEY_RE = re.compile(r"^[\w\-./ :]+$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9_\-]{1,32}$")


def validate_key(kind: str, key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"Invalid {kind} name {key!r}: it must be a non-empty string.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(
            f"Invalid {kind} name {key[:40]!r}...: {len(key)} characters, the limit is {MAX_KEY_LENGTH}."
        )
    if not _KEY_RE.match(key):
        raise InvalidArgument(
            f"Invalid {kind} name {key!r}: names may only contain letters, digits, "
            "underscores, dashes, periods, colons, spaces and slashes."
        )
    if not _is_file_safe(key):
        raise InvalidArgument(
            f"Invalid {kind} name {key!r}: names may be used as file paths and must not resolve to "
            f"another name; this one resolves to {posixpath.normpath(key)!r}."
        )
    return key


def _is_file_safe(key: str) -> bool:
    """MLflow's rule: the key is already a normalized, relative path below the run ("a//b",
    "a/", "./a", "a/../b" and "." are refused, whatever characters they hold)."""
    norm = posixpath.normpath(key)
    return norm == key and norm != "." and not norm.startswith(("..", "/"))


# Keys already checked in this process; batches repeat the same few keys thousands of times.
_known_metric_keys: set[str] = set()


def checked_metric_keys(keys: set[str]) -> bool:
    """Whether every one of ``keys`` already passed ``validate_metric`` in this process."""
    return keys <= _known_metric_keys


def validate_metric(metric: Metric) -> None:
    key = metric.key
    if key not in _known_metric_keys:
        validate_key("metric", key)
        if len(_known_metric_keys) < 100_000:
            _known_metric_keys.add(key)
    value = metric.value
    kind = type(value)
    if kind is not float and kind is not int and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise InvalidArgument(
            f"Invalid value {value!r} for metric {metric.key!r}: a metric value must be a number "
            "(NaN and infinity are accepted)."
        )
    if type(metric.step) is not int and (not isinstance(metric.step, int) or isinstance(metric.step, bool)):
        raise InvalidArgument(f"Invalid step {metric.step!r} for metric {metric.key!r}: it must be an integer.")
    if type(metric.timestamp) is not int and (
        not isinstance(metric.timestamp, int) or isinstance(metric.timestamp, bool)
    ):
        raise InvalidArgument(
            f"Invalid timestamp {metric.timestamp!r} for metric {metric.key!r}: it must be integer milliseconds."
        )
    if metric.timestamp < 0:
        raise InvalidArgument(
            f"Invalid timestamp {metric.timestamp} for metric {metric.key!r}: it must be non-negative "
            "milliseconds since the epoch."
        )


def _validate_text(kind: str, what: str, key: object, value: object, *, limit: int) -> None:
    """``value`` is a string of at most ``limit`` characters (``kind`` names it in the type error,
    ``what`` in the length error)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"Invalid value for {kind} {key!r}: it must be a string.")
    if len(value) > limit:
        raise InvalidArgument(f"{what} {key!r} has a value of {len(value)} characters; the limit is {limit}.")


def validate_param(param: Param) -> None:
    validate_key("param", param.key)
    _validate_text("param", "Param", param.key, param.value, limit=MAX_PARAM_VALUE_LENGTH)


def validate_tag(tag: RunTag) -> None:
    validate_key("tag", tag.key)
    _validate_text("tag", "Tag", tag.key, tag.value, limit=MAX_TAG_VALUE_LENGTH)


def mlflow_truncated_param_value(value: str) -> str:
    """A param value as MLflow's server stores it: the first 6000 characters of a longer one.

    Only the MLflow surface uses this (the stock client must see MLflow's behaviour);
    Lockgate's own API and client refuse a longer value rather than lose its end silently.
    """
    return value if len(value) <= MAX_PARAM_VALUE_LENGTH else value[:MAX_PARAM_VALUE_LENGTH]


def mlflow_truncated_tag_value(value: str) -> str:
    """A run tag value as MLflow's server stores it (set-tag and log-batch alike): the first
    8000 characters of a longer one. MLflow surface only, like the param rule above."""
    return value if len(value) <= MAX_TAG_VALUE_LENGTH else value[:MAX_TAG_VALUE_LENGTH]


def validate_experiment_tag(key: object, value: object) -> None:
    """An experiment tag: a run tag's key rules, and a value of up to 20,000 characters (MLflow's
    limit for experiment tags, which it refuses rather than cuts)."""
    validate_key("tag", key)
    _validate_text("tag", "Experiment tag", key, value, limit=MAX_EXPERIMENT_TAG_VALUE_LENGTH)


def validate_batch(metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]) -> None:
    """Enforce MLflow's per-request limits and check every entity."""
    validate_batch_size(metrics, params, tags)
    for m in metrics:
        validate_metric(m)
    validate_params_and_tags(params, tags)


def validate_batch_size(metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]) -> None:
    """MLflow's per-request limits: the first of ``validate_batch``'s checks."""
    if len(metrics) > MAX_METRICS_PER_BATCH:
        raise InvalidArgument(
            f"A batch may hold at most {MAX_METRICS_PER_BATCH} metrics; got {len(metrics)}. "
            "LockgateClient.log_batch splits larger batches for you."
        )
    if len(params) > MAX_PARAMS_PER_BATCH:
        raise InvalidArgument(f"A batch may hold at most {MAX_PARAMS_PER_BATCH} params; got {len(params)}.")
    if len(tags) > MAX_TAGS_PER_BATCH:
        raise InvalidArgument(f"A batch may hold at most {MAX_TAGS_PER_BATCH} tags; got {len(tags)}.")
    total = len(metrics) + len(params) + len(tags)
    if total > MAX_ENTITIES_PER_BATCH:
        raise InvalidArgument(
            f"A batch may hold at most {MAX_ENTITIES_PER_BATCH} metrics, params and tags in total; got {total}."
        )


def validate_params_and_tags(params: Sequence[Param], tags: Sequence[RunTag]) -> None:
    """The last of ``validate_batch``'s checks: params (each key once) and tags."""
    duplicates = sorted(key for key, count in Counter(p.key for p in params).items() if count > 1)
    if duplicates:
        raise InvalidArgument(
            f"Duplicate param keys in one batch: {duplicates}. Send each param key once per request."
        )
    for p in params:
        validate_param(p)
    for t in tags:
        validate_tag(t)


def validate_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"Invalid experiment name {name!r}: it must be a non-empty string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidArgument(
            f"Experiment name {name[:40]!r}... is {len(name)} characters; the limit is {MAX_EXPERIMENT_NAME_LENGTH}."
        )
    return name


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InvalidArgument(f"Invalid run id {run_id!r}: expected up to 32 letters, digits, '-' or '_'.")
    return run_id


def validate_max_results(max_results: int, *, limit: int) -> int:
    if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1:
        raise InvalidArgument(f"Invalid max_results {max_results!r}: it must be a positive integer.")
    if max_results > limit:
        raise InvalidArgument(f"Invalid max_results {max_results}: the limit is {limit}.")
    return max_results


def validate_id_list(kind: str, ids: Sequence[object], *, limit: int = MAX_IDS_PER_REQUEST) -> None:
    """At most ``limit`` ids in one request (PostgreSQL's driver stops at 65,535 parameters)."""
    if len(ids) > limit:
        raise InvalidArgument(f"Invalid {kind}: {len(ids)} ids in one request, the limit is {limit}.")


def _check_length(what: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidArgument(f"{what} is {len(value)} characters; the limit is {limit}.")


def validate_dataset_inputs(datasets: Sequence[DatasetInput]) -> None:
    """MLflow's limits for log-inputs: 1000 datasets per request, and each field's length."""
    if len(datasets) > MAX_DATASETS_PER_REQUEST:
        raise InvalidArgument(
            f"A request may log at most {MAX_DATASETS_PER_REQUEST} dataset inputs; got {len(datasets)}."
        )
    for index, item in enumerate(datasets):
        ds = item.dataset
        if not ds.name or not ds.digest:
            raise InvalidArgument(f"datasets[{index}]: a dataset input needs a name and a digest.")
        label = f"datasets[{index}] ({ds.name[:40]!r})"
        _check_length(f"{label} name", ds.name, MAX_DATASET_NAME_LENGTH)
        _check_length(f"{label} digest", ds.digest, MAX_DATASET_DIGEST_LENGTH)
        _check_length(f"{label} source", ds.source, MAX_DATASET_SOURCE_LENGTH)
        _check_length(f"{label} schema", ds.schema_, MAX_DATASET_SCHEMA_LENGTH)
        _check_length(f"{label} profile", ds.profile, MAX_DATASET_PROFILE_LENGTH)
        if len(item.tags) > MAX_TAGS_PER_REQUEST:
            raise InvalidArgument(f"{label}: at most {MAX_TAGS_PER_REQUEST} input tags; got {len(item.tags)}.")
        for key, value in item.tags.items():
            _check_length(f"{label} input tag key {key[:40]!r}", key, MAX_INPUT_TAG_KEY_LENGTH)
            _check_length(f"{label} input tag {key[:40]!r} value", value, MAX_INPUT_TAG_VALUE_LENGTH)


def is_nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)
