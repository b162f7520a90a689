"""Request and response models of the native ``/api/v1`` API (they make its OpenAPI document).

Families are named by role: ``RunCreate`` is what a client sends, ``RunPublic`` what it gets.
Floats travel as JSON numbers, except NaN and infinities which are the strings "NaN",
"Infinity" and "-Infinity".
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from lockgate.entities import DatasetInput, LifecycleStage, RunStatus, ViewType
from lockgate.search.grammar import MAX_ORDER_BY
from lockgate.store.validation import MAX_DATASETS_PER_REQUEST, MAX_IDS_PER_REQUEST
from lockgate.store.validation import MAX_TAGS_PER_REQUEST as MAX_TAGS

__all__ = [
    "BatchLog",
    "Cursor",
    "Empty",
    "ExperimentCreate",
    "ExperimentCreated",
    "ExperimentPublic",
    "ExperimentSearch",
    "ExperimentUpdate",
    "ExperimentsPage",
    "GcRequest",
    "GcResult",
    "InputsLog",
    "Int64",
    "JsonObject",
    "KeyValue",
    "MetricIn",
    "MetricPublic",
    "MetricsPage",
    "RunColumnsIn",
    "RunCreate",
    "RunDataPublic",
    "RunInfoPublic",
    "RunPublic",
    "RunSearch",
    "RunUpdate",
    "RunsPage",
    "WireFloat",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _not_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; a version or a count is never a boolean.
    if isinstance(value, bool):
        raise ValueError("expected an integer, not a boolean")  # noqa: TRY004 (pydantic wants ValueError)
    return value


def _plain_digits(value: Any) -> Any:
    # Query strings: "-0", " 1 " and "+1" are typos, not cursors.
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("expected a non-negative integer written with digits only")
    return value


def _int64_everywhere(value: Any, path: str = "") -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"{path or 'value'}: {value} is outside the 64-bit integer range")
    if isinstance(value, dict):
        for key, item in value.items():
            _int64_everywhere(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _int64_everywhere(item, f"{path}[{index}]")


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    _int64_everywhere(value)
    return value


Int64 = Annotated[int, BeforeValidator(_not_bool), Field(ge=_INT64_MIN, le=_INT64_MAX)]
Cursor = Annotated[int, BeforeValidator(_plain_digits), Field(ge=0, le=2**62)]
"""An event id in a query string: plain digits, nothing else."""
JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
"""A free-form JSON object whose integers all fit 64 bits (what every store and encoder keeps)."""
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
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_TAGS)


class ExperimentCreated(BaseModel):
    experiment_id: str


class ExperimentUpdate(_In):
    name: str


class ExperimentSearch(_In):
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: Int64 = 1000
    filter_string: str | None = None
    order_by: list[str] | None = Field(default=None, max_length=MAX_ORDER_BY)
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
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_TAGS)
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
    metric_points: dict[str, tuple[int, int]] = Field(
        default_factory=dict, description="Step and timestamp of each latest metric value")
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
    experiment_ids: list[str] = Field(max_length=MAX_IDS_PER_REQUEST)
    filter_string: str = ""
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: Int64 = 1000
    order_by: list[str] | None = Field(default=None, max_length=MAX_ORDER_BY)
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
    datasets: list[DatasetInput] = Field(max_length=MAX_DATASETS_PER_REQUEST)


class GcRequest(_In):
    older_than_ms: Int64 | None = Field(default=None, ge=0)
    run_ids: list[str] | None = Field(default=None, max_length=MAX_IDS_PER_REQUEST)
    experiment_ids: list[str] | None = Field(default=None, max_length=MAX_IDS_PER_REQUEST)


class GcResult(BaseModel):
    runs: list[RunPublic]
