"""Request and response models of the native ``/api/v1`` API (they make its OpenAPI document).

Families are named by role: ``RunCreate`` is what a client sends, ``RunPublic`` what it gets.
Floats travel as JSON numbers, except NaN and infinities which are the strings "NaN",
"Infinity" and "-Infinity".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lockgate.entities import DatasetInput, LifecycleStage, RunStatus, ViewType

__all__ = [
    "Int64",
    "WireFloat",
    "KeyValue",
    "ExperimentCreate",
    "ExperimentCreated",
    "ExperimentUpdate",
    "ExperimentSearch",
    "ExperimentPublic",
    "ExperimentsPage",
    "RunCreate",
    "RunUpdate",
    "RunInfoPublic",
    "RunDataPublic",
    "RunPublic",
    "RunsPage",
    "RunSearch",
    "RunColumnsIn",
    "MetricIn",
    "MetricPublic",
    "MetricsPage",
    "BatchLog",
    "InputsLog",
    "GcRequest",
    "GcResult",
    "Empty",
]

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
WireFloat = float | str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Empty(BaseModel):
    """An empty JSON object: the call succeeded and has nothing to say."""


class KeyValue(_In):
    key: str
    value: str


class ExperimentCreate(_In):
    name: str
    artifact_location: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class ExperimentCreated(BaseModel):
    experiment_id: str


class ExperimentUpdate(_In):
    name: str


class ExperimentSearch(_In):
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: Int64 = 1000
    filter_string: str | None = None
    order_by: list[str] | None = None
    page_token: str | None = None


class ExperimentPublic(BaseModel):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage
    tags: dict[str, str]
    creation_time: int | None = None
    last_update_time: int | None = None


class ExperimentsPage(BaseModel):
    items: list[ExperimentPublic]
    next_page_token: str | None = None


class RunCreate(_In):
    experiment_id: str
    user_id: str = ""
    start_time: Int64 | None = None
    run_name: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)
    parent_run_id: str | None = None


class RunUpdate(_In):
    status: RunStatus | None = None
    end_time: Int64 | None = None
    run_name: str | None = None


class RunInfoPublic(BaseModel):
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int | None = None
    end_time: int | None = None
    lifecycle_stage: LifecycleStage
    artifact_uri: str
    parent_run_id: str | None = None


class RunDataPublic(BaseModel):
    metrics: dict[str, WireFloat]
    params: dict[str, str]
    tags: dict[str, str]


class RunInputsPublic(BaseModel):
    dataset_inputs: list[DatasetInput]


class RunPublic(BaseModel):
    info: RunInfoPublic
    data: RunDataPublic
    inputs: RunInputsPublic


class RunsPage(BaseModel):
    items: list[RunPublic]
    next_page_token: str | None = None


class RunColumnsIn(_In):
    """Keys to return per kind (at most 500 each); a kind left out returns all its keys."""

    params: list[Annotated[str, Field(max_length=250)]] | None = Field(default=None, max_length=500)
    metrics: list[Annotated[str, Field(max_length=250)]] | None = Field(default=None, max_length=500)
    tags: list[Annotated[str, Field(max_length=250)]] | None = Field(default=None, max_length=500)


class RunSearch(_In):
    experiment_ids: list[str]
    filter_string: str = ""
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: Int64 = 1000
    order_by: list[str] | None = None
    page_token: str | None = None
    columns: RunColumnsIn | None = None


class MetricIn(_In):
    key: str
    value: float
    timestamp: Int64
    step: Int64 = 0


class MetricPublic(BaseModel):
    key: str
    value: WireFloat
    timestamp: int
    step: int


class MetricsPage(BaseModel):
    items: list[MetricPublic]
    next_page_token: str | None = None


class BatchLog(_In):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class InputsLog(_In):
    datasets: list[DatasetInput]


class GcRequest(_In):
    older_than_ms: Int64 | None = Field(default=None, ge=0)
    run_ids: list[str] | None = None
    experiment_ids: list[str] | None = None


class GcResult(BaseModel):
    runs: list[RunPublic]
