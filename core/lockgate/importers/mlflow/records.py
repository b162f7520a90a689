"""What an MLflow source hands the importer: plain records, parsed leniently.

MLflow adds fields from release to release; parsers read the fields they know and ignore the
rest, so a newer server's responses import the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lockgate.store.logged_models import LoggedModel, LoggedModelStatus

__all__ = [
    "SourceDatasetInput",
    "SourceExperiment",
    "SourceMetric",
    "SourceModelVersion",
    "SourceRegisteredModel",
    "SourceRun",
    "as_float",
    "parse_experiment",
    "parse_logged_model",
    "parse_metric",
    "parse_model_version",
    "parse_registered_model",
    "parse_run",
    "tag_map",
]


@dataclass(frozen=True)
class SourceExperiment:
    """One MLflow experiment: its id in the source, name, tags and lifecycle."""

    experiment_id: str
    name: str
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None


@dataclass(frozen=True)
class SourceMetric:
    """One point of a metric history."""

    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class SourceDatasetInput:
    """A run's use of a dataset, with the input tags (e.g. ``mlflow.data.context``)."""

    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str | None = None
    profile: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRun:
    """One run without its metric histories (those stream separately, key by key)."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metric_keys: tuple[str, ...] = ()
    inputs: tuple[SourceDatasetInput, ...] = ()
    outputs: tuple[tuple[str, int], ...] = ()

    @property
    def parent_run_id(self) -> str | None:
        """The parent of a nested run (MLflow keeps it in a tag)."""
        return self.tags.get("mlflow.parentRunId") or None


@dataclass(frozen=True)
class SourceModelVersion:
    """One registered model version, with the number the importer preserves."""

    name: str
    version: int
    source: str
    run_id: str | None
    status: str
    current_stage: str
    description: str | None
    user_id: str
    creation_time: int
    last_updated_time: int
    run_link: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceRegisteredModel:
    """A registered model with its tags and aliases (alias -> version number)."""

    name: str
    description: str | None
    creation_time: int
    last_updated_time: int
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)


def as_float(value: Any) -> float:
    """A metric value as MLflow's JSON spells it: numbers, or "NaN"/"Infinity"/"-Infinity"."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "nan":
            return math.nan
        if text in ("infinity", "inf"):
            return math.inf
        if text in ("-infinity", "-inf"):
            return -math.inf
    return float(value)


def _int(value: Any, default: int = 0) -> int:
    return int(value) if value not in (None, "") else default


def tag_map(items: Any) -> dict[str, str]:
    """``[{"key": k, "value": v}, ...]`` (MLflow's tag lists) as a dict."""
    return {str(t["key"]): str(t.get("value", "")) for t in items or () if "key" in t}


def parse_experiment(body: dict[str, Any]) -> SourceExperiment:
    """An experiment from MLflow's JSON."""
    return SourceExperiment(
        experiment_id=str(body["experiment_id"]),
        name=str(body["name"]),
        lifecycle_stage=str(body.get("lifecycle_stage") or "active"),
        tags=tag_map(body.get("tags")),
        creation_time=_int(body.get("creation_time"), 0) or None,
    )


def parse_metric(body: dict[str, Any]) -> SourceMetric:
    """A metric point from MLflow's JSON."""
    return SourceMetric(
        key=str(body["key"]), value=as_float(body.get("value", 0.0)),
        timestamp=_int(body.get("timestamp")), step=_int(body.get("step")),
    )


def parse_run(body: dict[str, Any]) -> SourceRun:
    """A run from MLflow's ``runs/search`` JSON (metrics give only the keys to stream)."""
    info, data = body.get("info") or {}, body.get("data") or {}
    inputs = []
    for item in (body.get("inputs") or {}).get("dataset_inputs") or ():
        ds = item.get("dataset") or {}
        inputs.append(SourceDatasetInput(
            name=str(ds.get("name", "")), digest=str(ds.get("digest", "")),
            source_type=str(ds.get("source_type") or ""), source=str(ds.get("source") or ""),
            schema=ds.get("schema") or None, profile=ds.get("profile") or None,
            tags=tag_map(item.get("tags")),
        ))
    outputs = tuple(
        (str(o["model_id"]), _int(o.get("step")))
        for o in (body.get("outputs") or {}).get("model_outputs") or () if o.get("model_id")
    )
    run_id = str(info.get("run_id") or info.get("run_uuid"))
    tags = tag_map(data.get("tags"))
    return SourceRun(
        run_id=run_id,
        experiment_id=str(info.get("experiment_id")),
        run_name=str(info.get("run_name") or tags.get("mlflow.runName") or run_id),
        user_id=str(info.get("user_id") or ""),
        status=str(info.get("status") or "FINISHED"),
        start_time=_int(info.get("start_time")),
        end_time=_int(info.get("end_time")) if info.get("end_time") not in (None, "") else None,
        lifecycle_stage=str(info.get("lifecycle_stage") or "active"),
        artifact_uri=str(info.get("artifact_uri") or ""),
        params=tag_map(data.get("params")),
        tags=tags,
        metric_keys=tuple(sorted({str(m["key"]) for m in data.get("metrics") or () if "key" in m})),
        inputs=tuple(inputs),
        outputs=outputs,
    )


def parse_logged_model(body: dict[str, Any]) -> LoggedModel:
    """A logged model from MLflow's ``logged-models/search`` JSON (ids and location as MLflow has them)."""
    info, data = body.get("info") or {}, body.get("data") or {}
    return LoggedModel(
        model_id=str(info["model_id"]),
        experiment_id=str(info.get("experiment_id")),
        name=str(info.get("name") or info["model_id"]),
        artifact_location=str(info.get("artifact_uri") or ""),
        creation_timestamp=_int(info.get("creation_timestamp_ms")),
        last_updated_timestamp=_int(info.get("last_updated_timestamp_ms")),
        status=LoggedModelStatus(str(info.get("status") or "LOGGED_MODEL_READY")),
        status_message=info.get("status_message") or None,
        source_run_id=info.get("source_run_id") or None,
        model_type=info.get("model_type") or None,
        creator_id=str(info.get("creator_id") or ""),
        tags=tag_map(info.get("tags")),
        params=tag_map(data.get("params")),
    )


def parse_model_version(body: dict[str, Any]) -> SourceModelVersion:
    """A model version from MLflow's JSON."""
    return SourceModelVersion(
        name=str(body["name"]),
        version=int(body["version"]),
        source=str(body.get("source") or ""),
        run_id=body.get("run_id") or None,
        status=str(body.get("status") or "READY"),
        current_stage=str(body.get("current_stage") or "None"),
        description=body.get("description") or None,
        user_id=str(body.get("user_id") or ""),
        creation_time=_int(body.get("creation_timestamp")),
        last_updated_time=_int(body.get("last_updated_timestamp")),
        run_link=body.get("run_link") or None,
        tags=tag_map(body.get("tags")),
    )


def parse_registered_model(body: dict[str, Any]) -> SourceRegisteredModel:
    """A registered model from MLflow's JSON."""
    return SourceRegisteredModel(
        name=str(body["name"]),
        description=body.get("description") or None,
        creation_time=_int(body.get("creation_timestamp")),
        last_updated_time=_int(body.get("last_updated_timestamp")),
        tags=tag_map(body.get("tags")),
        aliases={str(a["alias"]): int(a["version"]) for a in body.get("aliases") or () if "alias" in a},
    )
