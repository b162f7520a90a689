"""Request and response models of the read-only endpoints the web UI uses (any client may):
experiment stats, distinct run keys, sampled metric histories, permissions, artifact previews."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lockgate.registry.entities import RegistryEvent
from lockgate.server.native_schemas import Int64, WireFloat

__all__ = [
    "ArtifactFilePublic",
    "ArtifactListPublic",
    "ArtifactPreviewPublic",
    "ExperimentStatsPage",
    "ExperimentStatsPublic",
    "ExperimentStatsRequest",
    "GateOverviewPublic",
    "GatePolicyVersionPublic",
    "GateTargetPublic",
    "GuardedTargetPublic",
    "ModelSummariesPage",
    "ModelSummariesRequest",
    "ModelSummaryPublic",
    "PermissionPublic",
    "RunKeysPublic",
    "SampledHistoryPublic",
    "SampledHistoryRequest",
    "SampledPointPublic",
    "SampledSeriesPublic",
    "TimelinePublic",
    "VerdictPublic",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExperimentStatsRequest(_In):
    experiment_ids: list[Annotated[str, Field(max_length=32)]] = Field(max_length=1000)


class ExperimentStatsPublic(BaseModel):
    experiment_id: str
    runs: int
    last_activity: int | None = None


class ExperimentStatsPage(BaseModel):
    items: list[ExperimentStatsPublic]


class RunKeysPublic(BaseModel):
    params: list[str]
    metrics: list[str]
    tags: list[str]
    truncated: bool


class SampledHistoryRequest(_In):
    """Histories of ``keys`` for each of ``run_ids``; at most 20,000 (run, key) pairs."""

    run_ids: list[Annotated[str, Field(max_length=32)]] = Field(min_length=1, max_length=1000)
    keys: list[Annotated[str, Field(max_length=250)]] = Field(min_length=1, max_length=100)
    x: Literal["step", "timestamp"] = "step"
    start: Int64 | None = None
    end: Int64 | None = None
    max_points: int = Field(default=1000, ge=2, le=10_000)


class SampledPointPublic(BaseModel):
    step: int
    timestamp: int
    value: WireFloat


class SampledSeriesPublic(BaseModel):
    run_id: str
    key: str
    total: int
    sampled: bool
    points: list[SampledPointPublic]


class SampledHistoryPublic(BaseModel):
    series: list[SampledSeriesPublic]


class PermissionPublic(BaseModel):
    """What the caller may do: ``permission`` is READ, EDIT, MANAGE or null (none)."""

    auth: bool
    user: str | None = None
    admin: bool = False
    permission: Literal["READ", "EDIT", "MANAGE"] | None = None


class ArtifactFilePublic(BaseModel):
    path: str
    is_dir: bool
    file_size: int | None = None


class ArtifactListPublic(BaseModel):
    files: list[ArtifactFilePublic]


class ArtifactPreviewPublic(BaseModel):
    path: str
    kind: Literal["text", "json", "yaml", "table", "mlmodel", "image", "binary", "directory"]
    size: int | None = None
    truncated: bool = False
    text: str | None = None
    columns: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    summary: dict[str, str | list[str]] | None = None
    media_type: str | None = None
    message: str | None = None


class TimelinePublic(BaseModel):
    """One page of a model's events, newest first; pass ``next_before_id`` as ``before_id``."""

    events: list[RegistryEvent]
    next_before_id: int | None = None


class GatePolicyVersionPublic(BaseModel):
    """One version of a target's policy, its rules in words."""

    policy_version: int
    created_by: str
    created_at: int
    description: str | None = None
    rules: list[str]


class GateTargetPublic(BaseModel):
    """A guarded alias (``@champion``) or stage and its policy history, newest first."""

    kind: Literal["alias", "stage"]
    name: str
    history: list[GatePolicyVersionPublic]


class VerdictPublic(BaseModel):
    """The last gate verdict a version got for a target."""

    version: int
    target: str
    verdict: Literal["passed", "refused", "overridden"]
    event_id: int
    timestamp: int
    actor: str


class GateOverviewPublic(BaseModel):
    """A model's gates in words and each version's last verdict per guarded target."""

    gates: list[GateTargetPublic]
    verdicts: list[VerdictPublic]


class ModelSummariesRequest(_In):
    names: list[Annotated[str, Field(max_length=256)]] = Field(max_length=1000)


class GuardedTargetPublic(BaseModel):
    """A guarded alias (``@champion``) or stage: its rules in words, the latest move or refusal."""

    target: str
    rules: list[str]
    last: RegistryEvent | None = None


class ModelSummaryPublic(BaseModel):
    name: str
    last_promotion: RegistryEvent | None = None
    gates: list[GuardedTargetPublic]


class ModelSummariesPage(BaseModel):
    """One summary per named model that exists."""

    items: list[ModelSummaryPublic]
