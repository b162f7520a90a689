"""MLflow's REST JSON shapes for Lockgate's entities, in both directions.

Built by hand rather than through ``model_dump`` because these run for every row of a
search or a metric history; plain dict building is several times faster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lockgate.entities import DatasetInput, Experiment, Metric, Run, RunInfo
from lockgate.server.responses import wire_float

__all__ = [
    "dataset_input_json",
    "experiment_json",
    "key_values",
    "metric_json",
    "metrics_json",
    "points_json",
    "run_info_json",
    "run_json",
]


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
    return {"key": m.key, "value": wire_float(m.value), "timestamp": m.timestamp, "step": m.step}


def metrics_json(metrics: Iterable[Metric]) -> list[dict[str, Any]]:
    return [metric_json(m) for m in metrics]


def points_json(key: str, points: Iterable[tuple[float, int, int]]) -> list[dict[str, Any]]:
    """``(value, timestamp, step)`` points of one metric in MLflow's shape."""
    # x - x is 0.0 only for finite floats: one subtraction instead of a call per point.
    return [
        {"key": key, "value": value if value - value == 0 else wire_float(value), "timestamp": ts, "step": step}
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
    # The latest value per key is what search and get return; its step and timestamp are not
    # kept on the entity, so they travel as 0 (the mlflow client only reads the value).
    return {
        "info": run_info_json(run.info),
        "data": {
            "metrics": [
                {"key": k, "value": wire_float(v), "timestamp": 0, "step": 0} for k, v in data.metrics.items()
            ],
            "params": key_values(data.params),
            "tags": key_values(data.tags),
        },
        "inputs": {"dataset_inputs": [dataset_input_json(d) for d in run.inputs.dataset_inputs]},
    }
