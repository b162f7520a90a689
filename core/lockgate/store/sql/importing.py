"""The import path of the SQL tracking store: rows that keep the ids they had elsewhere.

Ordinary writes mint ids (``create_run``) and refuse deleted runs; an import must keep a
run's id (so ``runs:/<id>/...`` URIs keep working), its status, times and lifecycle, and
must be safely repeatable. This module is that path, once, for every importer. It is not
exposed by the REST API: only an in-process caller holding the database URL reaches it.

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
from typing import Protocol

from sqlalchemy import delete, func, insert, select, update

from lockgate.entities import DatasetInput, Param
from lockgate.errors import InvalidArgument
from lockgate.store.logged_models import LoggedModel, LoggedModelStatus
from lockgate.store.sql.engine import read_connection, write_connection
from lockgate.store.sql.server_tables import (
    LoggedModelParamTable,
    LoggedModelTable,
    LoggedModelTagTable,
    RunOutputTable,
)
from lockgate.store.sql.store import ET, LM, RUN_NAME_TAG, E, M, R, SqlStore, T
from lockgate.store.sql.tables import core_table

__all__ = ["IMPORT_SOURCE_TAG", "ImportedRun", "MetricPoint", "RunState", "SqlImportRows"]

#: Written last on every imported run (and on experiments and models the importer made):
#: where it came from, and the mark that its import completed.
IMPORT_SOURCE_TAG = "lockgate.import.source"

LMOD = core_table(LoggedModelTable)
LMOD_TAGS = core_table(LoggedModelTagTable)
LMOD_PARAMS = core_table(LoggedModelParamTable)
RO = core_table(RunOutputTable)
_RUN_STATUSES = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}


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


class SqlImportRows:
    """Idempotent, id-preserving writes into a ``SqlStore``'s database."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine

    # -------------------------------------------------------------- experiments
    def native_run_count(self, experiment_id: str) -> int:
        """How many runs (any lifecycle) of the experiment were not imported: its own content."""
        imported = select(T.c.run_uuid).where(T.c.run_uuid == R.c.run_uuid, T.c.key == IMPORT_SOURCE_TAG)
        with read_connection(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(R).where(
                R.c.experiment_id == int(experiment_id), ~imported.exists())).scalar_one())

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None:
        """Upsert experiment tags in one transaction."""
        if not tags:
            return
        stmt = self.store._insert(ET)
        with write_connection(self.engine) as conn:
            conn.execute(self.store._upsert(stmt, ["experiment_id", "key"], {"value": stmt.excluded.value}),
                         [{"experiment_id": int(experiment_id), "key": k, "value": v} for k, v in tags.items()])

    def set_experiment_lifecycle(self, experiment_id: str, stage: str, *, creation_time: int | None) -> None:
        """Give the experiment the source's lifecycle (its runs follow, as in MLflow) and creation time."""
        exp = self.store.get_experiment(experiment_id)
        if stage != exp.lifecycle_stage.value:
            if stage == "deleted":
                self.store.delete_experiment(experiment_id)
            else:
                self.store.restore_experiment(experiment_id)
        if creation_time:
            with write_connection(self.engine) as conn:
                conn.execute(update(E).where(E.c.experiment_id == int(experiment_id)).values(
                    creation_time=creation_time))

    # --------------------------------------------------------------------- runs
    def run_state(self, run_id: str) -> RunState:
        """Absent, partial (an interrupted import) or complete."""
        with read_connection(self.engine) as conn:
            row = conn.execute(select(R.c.run_uuid).where(R.c.run_uuid == run_id)).first()
            if row is None:
                return RunState.ABSENT
            marked = conn.execute(select(T.c.value).where(T.c.run_uuid == run_id, T.c.key == IMPORT_SOURCE_TAG)).first()
        return RunState.COMPLETE if marked is not None else RunState.PARTIAL

    def begin_run(self, run: ImportedRun) -> str:
        """Write the run's row (keeping its id), params, tags and inputs; returns its artifact URI.

        A partial run from an interrupted import is reset to this state first (its metric
        points are cleared), so finishing it writes every point exactly once.
        """
        if run.status not in _RUN_STATUSES:
            raise InvalidArgument(f"Run {run.run_id}: unknown status {run.status!r}.")
        tags = {k: v for k, v in run.tags.items() if k != IMPORT_SOURCE_TAG}
        tags.setdefault(RUN_NAME_TAG, run.name)
        with write_connection(self.engine) as conn:
            exp = self.store._experiment_row(conn, run.experiment_id)
            artifact_uri = f"{exp.artifact_location.rstrip('/')}/{run.run_id}/artifacts"
            values = {
                "experiment_id": exp.experiment_id, "name": run.name[:250], "user_id": run.user_id,
                "status": run.status, "start_time": run.start_time, "end_time": run.end_time,
                "lifecycle_stage": "active", "artifact_uri": artifact_uri, "parent_run_id": run.parent_run_id,
                "deleted_time": None,
            }
            existing = conn.execute(select(R.c.run_uuid).where(R.c.run_uuid == run.run_id)).first()
            if existing is None:
                conn.execute(insert(R).values(run_uuid=run.run_id, **values))
            else:
                conn.execute(update(R).where(R.c.run_uuid == run.run_id).values(**values))
                conn.execute(delete(M).where(M.c.run_uuid == run.run_id))
                conn.execute(delete(LM).where(LM.c.run_uuid == run.run_id))
            if run.params:
                self.store._log_params(conn, run.run_id, [Param(key=k, value=v) for k, v in run.params.items()])
            if tags:
                stmt = self.store._insert(T)
                conn.execute(self.store._upsert(stmt, ["run_uuid", "key"], {"value": stmt.excluded.value}),
                             [{"run_uuid": run.run_id, "key": k, "value": v} for k, v in tags.items()])
        if run.inputs:
            self.store.log_inputs(run.run_id, run.inputs)
        return artifact_uri

    def add_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Append one batch of metric points (NaN and infinities kept) to a run being imported."""
        if points:
            with write_connection(self.engine) as conn:
                # The store reads only these four attributes; building a pydantic Metric per
                # point would double the cost of a large history.
                self.store._log_metrics(conn, run_id, points)  # type: ignore[arg-type]

    def finish_run(self, run_id: str, *, lifecycle_stage: str, source: str,
                   outputs: Sequence[tuple[str, int]] = ()) -> None:
        """Set the final lifecycle, link the run's logged-model outputs and mark the import complete."""
        with write_connection(self.engine) as conn:
            deleted_time = None
            if lifecycle_stage == "deleted":
                deleted_time = conn.execute(select(R.c.end_time, R.c.start_time).where(R.c.run_uuid == run_id)).one()
                deleted_time = deleted_time.end_time or deleted_time.start_time
            conn.execute(update(R).where(R.c.run_uuid == run_id).values(
                lifecycle_stage=lifecycle_stage, deleted_time=deleted_time))
            known = {r[0] for r in conn.execute(select(LMOD.c.model_id).where(
                LMOD.c.model_id.in_([m for m, _ in outputs])))} if outputs else set()
            wanted = [{"run_uuid": run_id, "model_id": m, "step": s} for m, s in outputs if m in known]
            if wanted:
                conn.execute(self.store._insert(RO).on_conflict_do_nothing(index_elements=["run_uuid", "model_id"]),
                             wanted)
            stmt = self.store._insert(T).values(run_uuid=run_id, key=IMPORT_SOURCE_TAG, value=source)
            conn.execute(self.store._upsert(stmt, ["run_uuid", "key"], {"value": stmt.excluded.value}))

    # ----------------------------------------------------------- logged models
    def logged_model_location(self, model_id: str) -> str | None:
        """The artifact location of an imported logged model, or None if it is not here yet."""
        with read_connection(self.engine) as conn:
            row = conn.execute(select(LMOD.c.artifact_location).where(LMOD.c.model_id == model_id)).first()
        return None if row is None else str(row.artifact_location)

    def run_model_location(self, run_id: str, name: str) -> str | None:
        """Where the logged model ``name`` of run ``run_id`` keeps its files (MLflow 3 stores a
        model logged in a run there, not under the run's artifacts), or None."""
        with read_connection(self.engine) as conn:
            row = conn.execute(select(LMOD.c.artifact_location).where(
                LMOD.c.source_run_id == run_id, LMOD.c.name == name).order_by(LMOD.c.creation_time.desc())).first()
        return None if row is None else str(row.artifact_location)

    def put_logged_model(self, model: LoggedModel) -> tuple[str, bool]:
        """Insert the logged model under its own id into experiment ``model.experiment_id`` here
        (its files go under that experiment's root, ``model.artifact_location`` is not used),
        or keep the one already here; upsert its tags and params.
        Returns (artifact location here, whether it was created)."""
        status = LoggedModelStatus(model.status).value
        with write_connection(self.engine) as conn:
            existing = conn.execute(select(LMOD.c.artifact_location).where(LMOD.c.model_id == model.model_id)).first()
            if existing is None:
                exp = self.store._experiment_row(conn, model.experiment_id)
                location = f"{exp.artifact_location.rstrip('/')}/models/{model.model_id}/artifacts"
                conn.execute(insert(LMOD).values(
                    model_id=model.model_id, experiment_id=exp.experiment_id, name=model.name[:500],
                    artifact_location=location, creation_time=model.creation_timestamp,
                    last_updated_time=model.last_updated_timestamp, status=status,
                    status_message=model.status_message, source_run_id=model.source_run_id,
                    model_type=model.model_type, user_id=model.creator_id,
                    lifecycle_stage="active",
                ))
            else:
                location = str(existing.artifact_location)
            for table, items in ((LMOD_TAGS, model.tags), (LMOD_PARAMS, model.params)):
                if items:
                    stmt = self.store._insert(table)
                    conn.execute(self.store._upsert(stmt, ["model_id", "key"], {"value": stmt.excluded.value}),
                                 [{"model_id": model.model_id, "key": k, "value": v} for k, v in items.items()])
        return location, existing is None
