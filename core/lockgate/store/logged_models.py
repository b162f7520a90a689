"""MLflow 3 logged models: a model logged from (or outside) a run, with its own artifacts,
params and tags, and the run outputs that link runs to the models they produced."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LoggedModel", "LoggedModelStatus", "RunOutput"]


class LoggedModelStatus(str, Enum):
    """Upload state of a logged model's artifacts (MLflow's enum names)."""

    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"


class LoggedModel(BaseModel):
    """One logged model: identity, where its files are, its status, params and tags."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: LoggedModelStatus = LoggedModelStatus.PENDING
    status_message: str | None = None
    source_run_id: str | None = None
    model_type: str | None = None
    creator_id: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)


class RunOutput(BaseModel):
    """A model a run produced, at a step."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    step: int = 0
