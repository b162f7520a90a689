"""Request bodies of MLflow's REST API, as pydantic models.

Fields the mlflow client may omit (proto JSON drops empty values) have defaults; fields it
always sends are required, so a hand-written request missing one gets a 400 naming it.
Ids are accepted as strings or integers; int64 fields as numbers or numeric strings.
The run-logging bodies are first read as MLflow's server reads them (``mlflow_proto``), and
long param and tag values are cut to MLflow's limits, as ``mlflow server`` stores them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from lockgate.entities import RunStatus, ViewType
from lockgate.search.grammar import MAX_ORDER_BY
from lockgate.server import mlflow_proto as proto
from lockgate.store.validation import (
    MAX_DATASETS_PER_REQUEST,
    MAX_IDS_PER_REQUEST,
    MAX_LIST_PER_REQUEST,
    mlflow_truncated_param_value,
    mlflow_truncated_tag_value,
)
from lockgate.store.validation import MAX_TAGS_PER_REQUEST as MAX_TAGS

__all__ = [
    "CreateExperiment",
    "CreateRun",
    "DatasetIn",
    "DatasetInputIn",
    "DeleteExperimentTag",
    "DeleteTag",
    "ExperimentRef",
    "Id",
    "KeyValue",
    "LogBatch",
    "LogInputs",
    "LogMetric",
    "LogOutputs",
    "LogParam",
    "MetricIn",
    "RunRef",
    "SearchExperiments",
    "SearchRuns",
    "SetExperimentTag",
    "SetTag",
    "UpdateExperiment",
    "UpdateRun",
    "parse_view_type",
]


def _id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


_VIEW_BY_NUMBER = {1: ViewType.ACTIVE_ONLY, 2: ViewType.DELETED_ONLY, 3: ViewType.ALL}


def parse_view_type(value: Any) -> Any:
    """MLflow sends the enum's name; older clients and curl users send its number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _VIEW_BY_NUMBER.get(value, value)
    if isinstance(value, str) and value.isdigit():
        return _VIEW_BY_NUMBER.get(int(value), value)
    return value


Id = Annotated[str, BeforeValidator(_id)]
View = Annotated[ViewType, BeforeValidator(parse_view_type)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class KeyValue(_Body):
    key: str
    value: str = ""


class CreateExperiment(_Body):
    name: str
    artifact_location: str | None = None
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_TAGS)


class ExperimentRef(_Body):
    experiment_id: Id


class UpdateExperiment(_Body):
    experiment_id: Id
    new_name: str


class SetExperimentTag(_Body):
    experiment_id: Id
    key: str
    value: str = ""


class DeleteExperimentTag(_Body):
    experiment_id: Id
    key: str


class SearchExperiments(_Body):
    max_results: int = 1000
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] = Field(default_factory=list, max_length=MAX_ORDER_BY)
    view_type: View = ViewType.ACTIVE_ONLY


class CreateRun(_Body):
    experiment_id: Id
    user_id: str = ""
    start_time: int | None = None
    run_name: str | None = None
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_TAGS)


class _RunBody(_Body):
    """MLflow sends the run id as ``run_id`` and, for old servers, ``run_uuid`` too."""

    run_id: str | None = None
    run_uuid: str | None = None

    @model_validator(mode="after")
    def _need_run_id(self) -> _RunBody:
        if not self.run_id:
            if not self.run_uuid:
                raise ValueError("run_id is required")
            self.run_id = self.run_uuid
        return self

    @property
    def rid(self) -> str:
        assert self.run_id is not None
        return self.run_id


class RunRef(_RunBody):
    pass


class UpdateRun(_RunBody):
    status: RunStatus | None = None
    end_time: int | None = None
    run_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _as_mlflow_reads_it(cls, data: Any) -> Any:
        return proto.read_like_mlflow(data, proto.UPDATE_RUN)


class _ModelLink(_Body):
    """MLflow 3's client sets ``model_id`` on a metric logged after ``log_model`` in the run."""

    model_id: str | None = Field(default=None, max_length=40)
    dataset_name: str | None = Field(default=None, max_length=500)
    dataset_digest: str | None = Field(default=None, max_length=36)


class LogMetric(_RunBody, _ModelLink):
    key: str = ""
    value: float = 0.0
    timestamp: int = 0
    step: int = 0

    @model_validator(mode="before")
    @classmethod
    def _as_mlflow_reads_it(cls, data: Any) -> Any:
        return proto.read_like_mlflow(data, proto.LOG_METRIC)


class LogParam(_RunBody):
    key: str = ""
    value: str = ""

    @model_validator(mode="before")
    @classmethod
    def _as_mlflow_reads_it(cls, data: Any) -> Any:
        return proto.read_like_mlflow(data, proto.LOG_PARAM)

    @model_validator(mode="after")
    def _truncate(self) -> LogParam:
        self.value = mlflow_truncated_param_value(self.value)
        return self


class SetTag(_RunBody):
    key: str = ""
    value: str = ""

    @model_validator(mode="before")
    @classmethod
    def _as_mlflow_reads_it(cls, data: Any) -> Any:
        return proto.read_like_mlflow(data, proto.SET_TAG)

    @model_validator(mode="after")
    def _truncate(self) -> SetTag:
        self.value = mlflow_truncated_tag_value(self.value)
        return self


class DeleteTag(_RunBody):
    key: str


class MetricIn(_ModelLink):
    key: str = ""
    value: float = 0.0
    timestamp: int = 0
    step: int = 0


class LogBatch(_RunBody):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _as_mlflow_reads_it(cls, data: Any) -> Any:
        return proto.read_like_mlflow(data, proto.LOG_BATCH)

    @model_validator(mode="after")
    def _truncate(self) -> LogBatch:
        for param in self.params:
            param.value = mlflow_truncated_param_value(param.value)
        for tag in self.tags:
            tag.value = mlflow_truncated_tag_value(tag.value)
        return self


class DatasetIn(_Body):
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class DatasetInputIn(_Body):
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_TAGS)
    dataset: DatasetIn


class ModelIO(_Body):
    model_id: str
    step: int = 0


class LogInputs(_RunBody):
    datasets: list[DatasetInputIn] = Field(default_factory=list, max_length=MAX_DATASETS_PER_REQUEST)
    models: list[ModelIO] = Field(default_factory=list, max_length=MAX_LIST_PER_REQUEST)


class LogOutputs(_RunBody):
    models: list[ModelIO] = Field(default_factory=list, max_length=MAX_LIST_PER_REQUEST)


class SearchRuns(_Body):
    experiment_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS_PER_REQUEST)
    filter: str = ""
    run_view_type: View = ViewType.ACTIVE_ONLY
    max_results: int = 1000
    order_by: list[str] = Field(default_factory=list, max_length=MAX_ORDER_BY)
    page_token: str | None = None
