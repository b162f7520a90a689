"""The import path's contract: id-preserving, repeatable writes, whatever the destination.

An import keeps what another server had: run ids, experiment ids where free, logged-model
ids, version numbers, statuses and times. ``ImportRows`` is that path; it is implemented
once in SQL (``lockgate.store.sql.importing.SqlImportRows``, in-process) and spoken over HTTP
to a running ``lockgate server`` (``lockgate.store.rest_importing.RestImportRows``), whose
``/api/v1/import`` routes call the SQL implementation. Both resume and skip exactly alike.

Resume protocol: a run is written in three steps, ``begin_run`` (row, params, tags, inputs),
``add_metrics`` (any number of batches) and ``finish_run`` (final lifecycle and the
``lockgate.import.source`` completion tag, in one transaction). ``run_state`` tells an
importer whether a run is absent, complete (skip it) or partial (an interrupted import:
``begin_run`` then clears its metric points so the history is written once, not twice).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from lockgate.entities import DatasetInput

if TYPE_CHECKING:
    from lockgate.registry.entities import ModelVersion
    from lockgate.store.logged_models import LoggedModel

__all__ = [
    "IMPORT_SOURCE_TAG",
    "MAX_IMPORT_POINTS",
    "ImportRows",
    "ImportedRun",
    "ImportedVersion",
    "MetricPoint",
    "RunState",
]

#: Written last on every imported run (and on experiments and models the importer made):
#: where it came from, and the mark that its import completed.
IMPORT_SOURCE_TAG = "lockgate.import.source"
#: The most metric points one ``add_metrics`` call takes over HTTP (about 1 MB of JSON).
MAX_IMPORT_POINTS = 10_000


class MetricPoint(Protocol):
    """One metric point to import (``lockgate.entities.Metric`` or any record alike)."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def step(self) -> int: ...


class RunState(str, enum.Enum):
    """Where an imported run stands in the destination."""

    ABSENT = "absent"
    PARTIAL = "partial"
    COMPLETE = "complete"


@dataclass(frozen=True)
class ImportedRun:
    """A run as another server had it, ids and times included."""

    run_id: str
    experiment_id: str
    name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str = "active"
    parent_run_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    inputs: Sequence[DatasetInput] = ()


@dataclass(frozen=True)
class ImportedVersion:
    """A registered model version as another registry had it, its number included."""

    name: str
    version: int
    source: str
    run_id: str | None = None
    status: str = "READY"
    stage: str = "None"
    description: str | None = None
    user_id: str = ""
    run_link: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_updated_time: int | None = None


class ImportRows(Protocol):
    """Idempotent, id-preserving writes into one Lockgate (its database, or a running server)."""

    def check(self) -> None:
        """Raise (PermissionDenied, ServiceUnavailable ...) if this caller cannot import here."""
        ...

    def native_run_count(self, experiment_id: str) -> int:
        """How many runs (any lifecycle) of the experiment were not imported: its own content."""
        ...

    def adopt_experiment(self, name: str, *, source_id: str | None, tags: Mapping[str, str],
                         existing_id: str | None) -> str:
        """Create the experiment, under ``source_id`` when that id is free here (else a new
        one), or take ``existing_id``; upsert ``tags`` (the caller includes the source tag)."""
        ...

    def set_experiment_lifecycle(self, experiment_id: str, stage: str, *, creation_time: int | None) -> None:
        """Give the experiment the source's lifecycle (its runs follow, as in MLflow) and creation time."""
        ...

    def run_state(self, run_id: str) -> RunState:
        """Absent, partial (an interrupted import) or complete."""
        ...

    def begin_run(self, run: ImportedRun) -> str:
        """Write the run's row (keeping its id), params, tags and inputs; returns its artifact URI."""
        ...

    def add_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Append one batch of metric points (NaN and infinities kept) to a run being imported."""
        ...

    def finish_run(self, run_id: str, *, lifecycle_stage: str, source: str,
                   outputs: Sequence[tuple[str, int]] = ()) -> None:
        """Set the final lifecycle, link the run's logged-model outputs and mark the import complete."""
        ...

    def put_logged_model(self, model: LoggedModel) -> tuple[str, bool]:
        """Insert the logged model under its own id into experiment ``model.experiment_id``, or keep
        the one already here; (artifact location here, whether it was created)."""
        ...

    def locate(self, source: str) -> tuple[str, str]:
        """(source, storage location) a version with this source gets here."""
        ...

    def import_version(self, version: ImportedVersion, *, imported_from: str) -> tuple[ModelVersion, bool]:
        """The version under its own number (source moved by ``locate``), or the one already
        holding that number; (the version, whether it was made now)."""
        ...
