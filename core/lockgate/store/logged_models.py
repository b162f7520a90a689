"""MLflow 3 logged models: a model logged from (or outside) a run, with its own artifacts,
params and tags, and the run outputs that link runs to the models they produced."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LoggedModel", "LoggedModelMetric", "LoggedModelStatus", "RunOutput"]


class LoggedModelStatus(str, Enum):
    """Upload state of a logged model's artifacts (MLflow's enum names)."""

    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"


class LoggedModelMetric(BaseModel):
    """A metric value linked to a logged model: logged in run ``run_id`` with ``model_id`` set
    (MLflow 3's client sets it for metrics logged after ``log_model`` in the same run)."""

    model_config = ConfigDict(frozen=True)

    key: str
    value: float
    timestamp: int
    step: int = 0
    run_id: str
    model_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


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
    metrics: list[LoggedModelMetric] = Field(default_factory=list)


class RunOutput(BaseModel):
    """A model a run produced, at a step."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    step: int = 0
