"""MLflow's JSON shapes for registry entities and MLflow 3 logged models."""

from __future__ import annotations

from typing import Any

from lockgate.server.responses import wire_float
from lockgate.server.wire import key_values

__all__ = ["logged_model_json", "model_version_json", "registered_model_json"]


def model_version_json(mv: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": mv.name,
        "version": str(mv.version),
        "creation_timestamp": mv.creation_timestamp,
        "last_updated_timestamp": mv.last_updated_timestamp,
        "user_id": mv.user_id,
        "current_stage": str(getattr(mv.current_stage, "value", mv.current_stage)),
        "source": mv.source,
        "status": str(getattr(mv.status, "value", mv.status)),
        "tags": key_values(mv.tags),
        "aliases": list(mv.aliases),
        "description": mv.description or "",  # MLflow always sends it, "" when unset
    }
    for field in ("run_id", "run_link", "status_message"):
        value = getattr(mv, field, None)
        if value is not None:
            body[field] = value
    return body


def registered_model_json(rm: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": rm.name,
        "creation_timestamp": rm.creation_timestamp,
        "last_updated_timestamp": rm.last_updated_timestamp,
        "latest_versions": [model_version_json(v) for v in rm.latest_versions],
        "tags": key_values(rm.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in rm.aliases.items()],
    }
    if rm.description is not None:
        body["description"] = rm.description
    return body


def logged_model_json(model: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_timestamp,
        "last_updated_timestamp_ms": model.last_updated_timestamp,
        "artifact_uri": model.artifact_location,
        "status": model.status.value,
        "tags": key_values(model.tags),
    }
    for field in ("model_type", "source_run_id", "status_message"):
        value = getattr(model, field)
        if value is not None:
            info[field] = value
    return {"info": info, "data": {"params": key_values(model.params),
                                   "metrics": [_model_metric_json(m) for m in model.metrics]}}


def _model_metric_json(m: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"key": m.key, "value": wire_float(m.value), "timestamp": m.timestamp, "step": m.step,
                            "model_id": m.model_id, "run_id": m.run_id}
    if m.dataset_name:
        body["dataset_name"] = m.dataset_name
    if m.dataset_digest:
        body["dataset_digest"] = m.dataset_digest
    return body
