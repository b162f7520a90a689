"""Value objects handed across layers: what the store returns and the client gives you.

They mirror MLflow's entities (``run.info.run_id``, ``run.data.metrics`` ...) so code written
for MLflow reads the same against Lockgate. Times are milliseconds since the epoch.
"""

from __future__ import annotations

import inspect
import math
from collections import deque
from collections.abc import Iterable
from enum import Enum
from itertools import repeat
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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
    "metrics_from_rows",
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


# Marks an argument not given to ``Metric(...)``, so pydantic still reports it missing.
_UNSET: Any = object()


class Metric(_Entity):
    """One point of a metric's history."""

    key: str
    value: float
    timestamp: int
    step: int = 0

    if not TYPE_CHECKING:  # type checkers keep pydantic's typed signature

        def __init__(self, /, *, key=_UNSET, value=_UNSET, timestamp=_UNSET, step=_UNSET, **extra):
            # A training loop builds one Metric per point; for the plain types a loop gives
            # (str, float, int, int) the instance is filled as pydantic would fill it, without
            # its validator (1,000 points: 0.79 -> 0.57 ms); anything else is validated by pydantic.
            if type(value) is float and type(key) is str and type(timestamp) is int and not extra:
                if type(step) is int:
                    _set_dict(self, {"key": key, "value": value, "timestamp": timestamp, "step": step})
                    _set_fields_set(self, _ALL_FIELDS)
                    _set_extra(self, None)
                    _set_private(self, None)
                    return
                if step is _UNSET:
                    _set_dict(self, {"key": key, "value": value, "timestamp": timestamp, "step": 0})
                    _set_fields_set(self, _FIELDS_BUT_STEP)
                    _set_extra(self, None)
                    _set_private(self, None)
                    return
            given = {name: v for name, v in (("key", key), ("value", value), ("timestamp", timestamp),
                                             ("step", step)) if v is not _UNSET}
            super().__init__(**given, **extra)


# What ``inspect.signature(Metric)`` showed before the constructor above (pydantic's, from the fields).
Metric.__signature__ = inspect.Signature(  # type: ignore[misc]
    [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=field.annotation,
                       default=inspect.Parameter.empty if field.is_required() else field.default)
     for name, field in Metric.model_fields.items()],
    return_annotation=None,
)


# The instance slots pydantic fills in its own constructor (BaseModel's __slots__), set
# through their descriptors.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
# The fields sets of those instances: one shared set each instead of a new set per point (half
# the objects a point allocates, and so half the garbage collector's passes over a batch).
# pydantic never changes a model's fields set in place (``model_copy`` copies it first) and
# Metric is frozen, so sharing is safe as long as nobody mutates ``model_fields_set`` by hand.
_ALL_FIELDS = {"key", "value", "timestamp", "step"}
_FIELDS_BUT_STEP = {"key", "value", "timestamp"}


def metrics_from_rows(key: str, rows: Iterable[tuple[float, Any, int, int]]) -> list[Metric]:
    """``Metric`` entities of one key from ``(value, is_nan, timestamp, step)`` rows as the
    store's metrics table holds them (a NaN is stored as 0 with ``is_nan`` set)."""
    nan = math.nan
    return _metrics([{"key": key, "value": nan if is_nan else value, "timestamp": timestamp, "step": step}
                     for value, is_nan, timestamp, step in rows])


def _metrics(values: list[dict[str, Any]]) -> list[Metric]:
    """Entities from field dicts whose types are already checked: filled the way pydantic's own
    constructor fills them, without validating again. They compare, hash, dump and print
    exactly like ``Metric(...)``."""
    # Slot by slot over the whole list: C-level loops (map) instead of four Python-level
    # calls per point.
    n = len(values)
    out = list(map(Metric.__new__, repeat(Metric, n)))
    deque(map(_set_dict, out, values), maxlen=0)
    deque(map(_set_fields_set, out, repeat(_ALL_FIELDS, n)), maxlen=0)
    deque(map(_set_extra, out, repeat(None, n)), maxlen=0)
    deque(map(_set_private, out, repeat(None, n)), maxlen=0)
    return out


def metrics_from_values(rows: Iterable[tuple[str, float, int, int]]) -> list[Metric]:
    """``Metric`` entities from ``(key, value, timestamp, step)`` values whose types a schema has
    already checked (the server's request bodies), without validating each again; the store
    checks every metric it writes in any case."""
    return _metrics([{"key": key, "value": value, "timestamp": timestamp, "step": step}
                     for key, value, timestamp, step in rows])


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
