"""Value objects handed across layers: what the store returns and the client gives you.

They mirror MLflow's entities (``run.info.run_id``, ``run.data.metrics`` ...) so code written
for MLflow reads the same against Lockgate. Times are milliseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "LifecycleStage",
    "Metric",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "RunTag",
    "ViewType",
    "metrics_from_points",
    "metrics_from_values",
]

T = TypeVar("T")


class RunStatus(str, Enum):
    """Where a run is in its life; FINISHED, FAILED and KILLED are terminal."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(str, Enum):
    """Soft-delete state of runs and experiments."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(str, Enum):
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    def stages(self) -> tuple[str, ...]:
        if self is ViewType.ACTIVE_ONLY:
            return (LifecycleStage.ACTIVE.value,)
        if self is ViewType.DELETED_ONLY:
            return (LifecycleStage.DELETED.value,)
        return (LifecycleStage.ACTIVE.value, LifecycleStage.DELETED.value)


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True, use_enum_values=False)


class Experiment(_Entity):
    """A named group of runs with its own artifact root."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    tags: dict[str, str] = Field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


class Metric(_Entity):
    """One point of a metric's history."""

    key: str
    value: float
    timestamp: int
    step: int = 0


_METRIC_FIELDS = frozenset(("key", "value", "timestamp", "step"))


def metrics_from_points(key: str, points: Iterable[tuple[float, int, int]]) -> list[Metric]:
    """``Metric`` entities of one key from ``(value, timestamp, step)`` points the store read back.

    The store's columns already hold checked types, so this skips validation: it fills the
    instance the way pydantic's own constructor does, in a third of the time (20,000 points).
    The entities compare, hash, dump and print exactly like ``Metric(...)``.
    """
    new, set_attr, fields = Metric.__new__, object.__setattr__, _METRIC_FIELDS
    out = []
    for value, timestamp, step in points:
        metric = new(Metric)
        set_attr(metric, "__dict__", {"key": key, "value": value, "timestamp": timestamp, "step": step})
        set_attr(metric, "__pydantic_fields_set__", fields)
        set_attr(metric, "__pydantic_extra__", None)
        set_attr(metric, "__pydantic_private__", None)
        out.append(metric)
    return out


def metrics_from_values(rows: Iterable[tuple[str, float, int, int]]) -> list[Metric]:
    """``Metric`` entities from ``(key, value, timestamp, step)`` values whose types a schema has
    already checked (the server's request bodies), without validating each again; the store
    checks every metric it writes in any case. Same entities as ``metrics_from_points``."""
    new, set_attr, fields = Metric.__new__, object.__setattr__, _METRIC_FIELDS
    out = []
    for key, value, timestamp, step in rows:
        metric = new(Metric)
        set_attr(metric, "__dict__", {"key": key, "value": value, "timestamp": timestamp, "step": step})
        set_attr(metric, "__pydantic_fields_set__", fields)
        set_attr(metric, "__pydantic_extra__", None)
        set_attr(metric, "__pydantic_private__", None)
        out.append(metric)
    return out


class Param(_Entity):
    """A run parameter; set once, never changed."""

    key: str
    value: str


class RunTag(_Entity):
    """A mutable key/value label on a run (or experiment)."""

    key: str
    value: str


class Dataset(_Entity):
    """A dataset a run used, identified by name and content digest."""

    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class DatasetInput(_Entity):
    """A dataset used by a run, with tags such as ``mlflow.data.context`` (train/eval)."""

    dataset: Dataset
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def context(self) -> str | None:
        return self.tags.get("mlflow.data.context")


class RunInfo(_Entity):
    """Identity, status and times of a run."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str = ""
    status: RunStatus = RunStatus.RUNNING
    start_time: int | None = None
    end_time: int | None = None
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    artifact_uri: str = ""
    parent_run_id: str | None = None

    @property
    def run_uuid(self) -> str:
        return self.run_id


class RunData(_Entity):
    """Latest metric values, params and tags of a run, as plain dicts.

    ``metric_points`` holds the step and timestamp of each latest value in ``metrics``
    (``{"loss": (step, timestamp)}``); the latest value is the one at the highest step, then
    the latest timestamp, then the highest value (MLflow's rule; NaN counts as 0).
    """

    metrics: dict[str, float] = Field(default_factory=dict)
    # Not validated: the store builds it for every run of a search, and checking each pair
    # would double the cost of building a RunData.
    metric_points: SkipValidation[dict[str, tuple[int, int]]] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class RunInputs(_Entity):
    """Datasets the run consumed."""

    dataset_inputs: list[DatasetInput] = Field(default_factory=list)


class Run(_Entity):
    """A run: ``run.info``, ``run.data`` and ``run.inputs``."""

    info: RunInfo
    data: RunData = Field(default_factory=RunData)
    inputs: RunInputs = Field(default_factory=RunInputs)


class PagedList(list[T], Generic[T]):
    """A page of results; ``token`` fetches the next page and is None on the last one."""

    def __init__(self, items: list[T] | tuple[T, ...] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token
