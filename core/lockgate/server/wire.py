"""MLflow's REST JSON shapes for Lockgate's entities, in both directions.

Built by hand rather than through ``model_dump`` because these run for every row of a
search or a metric history; plain dict building is several times faster.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from lockgate.entities import DatasetInput, Experiment, Metric, Run, RunInfo

__all__ = [
    "dataset_input_json",
    "experiment_json",
    "key_values",
    "metric_json",
    "metrics_json",
    "mlflow_value",
    "points_json",
    "run_info_json",
    "run_json",
]


_NO_POINT = (0, 0)


_FLOAT_MAX = sys.float_info.max


def mlflow_value(value: float) -> float | str:
    """A metric value as ``mlflow server`` answers it: NaN as "NaN", and +/-infinity as
    +/-1.7976931348623157e308 (its SQL store keeps the float limits in their place). Lockgate
    stores infinity itself; only the MLflow surface shows the limits."""
    if math.isnan(value):
        return "NaN"
    if value > _FLOAT_MAX:
        return _FLOAT_MAX
    if value < -_FLOAT_MAX:
        return -_FLOAT_MAX
    return value


def key_values(pairs: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs.items()]


def experiment_json(exp: Experiment) -> dict[str, Any]:
    body: dict[str, Any] = {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "artifact_location": exp.artifact_location,
        "lifecycle_stage": exp.lifecycle_stage.value,
        "tags": key_values(exp.tags),
    }
    if exp.creation_time is not None:
        body["creation_time"] = exp.creation_time
    if exp.last_update_time is not None:
        body["last_update_time"] = exp.last_update_time
    return body


def run_info_json(info: RunInfo) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status.value,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage.value,
    }
    if info.start_time is not None:
        body["start_time"] = info.start_time
    if info.end_time is not None:
        body["end_time"] = info.end_time
    return body


def metric_json(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": mlflow_value(m.value), "timestamp": m.timestamp, "step": m.step}


def metrics_json(metrics: Iterable[Metric]) -> list[dict[str, Any]]:
    return [metric_json(m) for m in metrics]


def _latest_json(key: str, value: float, point: tuple[int, int]) -> dict[str, Any]:
    return {"key": key, "value": mlflow_value(value), "timestamp": point[1], "step": point[0]}


def points_json(key: str, points: Iterable[tuple[float, int, int]]) -> list[dict[str, Any]]:
    """``(value, timestamp, step)`` points of one metric in MLflow's shape."""
    # x - x is 0.0 only for finite floats: one subtraction instead of a call per point.
    return [
        {"key": key, "value": value if value - value == 0 else mlflow_value(value), "timestamp": ts, "step": step}
        for value, ts, step in points
    ]


def dataset_input_json(item: DatasetInput) -> dict[str, Any]:
    ds = item.dataset
    dataset: dict[str, Any] = {
        "name": ds.name,
        "digest": ds.digest,
        "source_type": ds.source_type,
        "source": ds.source,
    }
    if ds.schema_ is not None:
        dataset["schema"] = ds.schema_
    if ds.profile is not None:
        dataset["profile"] = ds.profile
    return {"tags": key_values(item.tags), "dataset": dataset}


def run_json(run: Run) -> dict[str, Any]:
    data = run.data
    points = data.metric_points
    return {
        "info": run_info_json(run.info),
        "data": {
            "metrics": [_latest_json(k, v, points.get(k, _NO_POINT)) for k, v in data.metrics.items()],
            "params": key_values(data.params),
            "tags": key_values(data.tags),
        },
        "inputs": {"dataset_inputs": [dataset_input_json(d) for d in run.inputs.dataset_inputs]},
    }
