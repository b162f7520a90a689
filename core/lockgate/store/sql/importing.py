"""The import path of the SQL tracking store: rows that keep the ids they had elsewhere.

Ordinary writes mint ids and refuse deleted runs; an import must keep a run's id (so
``runs:/<id>/...`` URIs keep working), its experiment's id where it is free, its status,
times and lifecycle, and must be safely repeatable. ``SqlImportRows`` implements
``lockgate.store.importing.ImportRows`` (its docstring has the resume protocol) once, for
every importer: in-process on the database URL, and behind a running server's
``/api/v1/import`` routes. Runs are created by ``SqlStore.create_run`` (the one way to make
a run with a given id); this module only adds what an import keeps beyond that.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from lockgate.entities import Param, RunTag
from lockgate.errors import AlreadyExists, InvalidArgument, NotFound
from lockgate.registry.entities import ModelVersion, ModelVersionStatus
from lockgate.registry.validation import MAX_SOURCE_LENGTH
from lockgate.store.importing import (
    IMPORT_SOURCE_TAG,
    ImportedRun,
    ImportedVersion,
    MetricPoint,
    RunState,
)
from lockgate.store.logged_models import LoggedModel, LoggedModelStatus
from lockgate.store.sql.engine import read_connection, write_connection
from lockgate.store.sql.metric_blocks import MB
from lockgate.store.sql.run_rows import ET, LM, E, M, R, T, experiment_row
from lockgate.store.sql.server_tables import (
    LoggedModelParamTable,
    LoggedModelTable,
    LoggedModelTagTable,
    RunOutputTable,
)
from lockgate.store.sql.store import RUN_NAME_TAG, SqlStore
from lockgate.store.validation import (
    validate_experiment_name,
    validate_key,
    validate_param,
    validate_run_id,
    validate_tag,
)

__all__ = ["IMPORT_SOURCE_TAG", "ImportedRun", "MetricPoint", "RunState", "SqlImportRows"]

LMOD = LoggedModelTable
LMOD_TAGS = LoggedModelTagTable
LMOD_PARAMS = LoggedModelParamTable
RO = RunOutputTable
_RUN_STATUSES = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}
#: Experiment ids are 32-bit integers here; a source id beyond that gets a new id.
MAX_EXPERIMENT_ID = 2**31 - 1
_RUN_ARTIFACTS = re.compile(r"/([0-9a-f]{32})/artifacts(/.*)?$")
_MODEL_ARTIFACTS = re.compile(r"/models/(m-[0-9a-f]+)/artifacts(/.*)?$")
_RUNS_URI = re.compile(r"^runs:/([^/]+)(?:/(.*))?$")
_LOGGED_URI = re.compile(r"^models:/(m-[0-9a-f]+)(/.*)?$")


def _check_length(what: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidArgument(f"{what} is {len(value)} characters; the limit is {limit}.")


def kept_experiment_id(source_id: str | None) -> int | None:
    """The source's experiment id as this store can keep it, or None (not a small integer)."""
    if not source_id or not (source_id.isascii() and source_id.isdigit()):
        return None
    number = int(source_id)
    return number if number <= MAX_EXPERIMENT_ID else None


class SqlImportRows:
    """Idempotent, id-preserving writes into a ``SqlStore``'s database."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine

    def check(self) -> None:
        """Nothing to check in-process: whoever holds the database URL may import."""

    # -------------------------------------------------------------- experiments
    def native_run_count(self, experiment_id: str) -> int:
        """How many runs (any lifecycle) of the experiment were not imported: its own content."""
        imported = select(T.c.run_uuid).where(T.c.run_uuid == R.c.run_uuid, T.c.key == IMPORT_SOURCE_TAG)
        with read_connection(self.engine) as conn:
            return int(conn.execute(select(func.count()).select_from(R).where(
                R.c.experiment_id == int(experiment_id), ~imported.exists())).scalar_one())

    def adopt_experiment(self, name: str, *, source_id: str | None, tags: Mapping[str, str],
                         existing_id: str | None) -> str:
        """Create the experiment, under ``source_id`` when that id is free here (else a new one),
        or take ``existing_id``; upsert ``tags``. Returns the experiment's id here."""
        for key, value in tags.items():
            validate_tag(RunTag(key=key, value=value))
        exp_id = existing_id if existing_id is not None else self._create_experiment(name, source_id)
        if tags:
            stmt = self.store._insert(ET)
            with write_connection(self.engine) as conn:
                conn.execute(self.store._upsert(stmt, ["experiment_id", "key"], {"value": stmt.excluded.value}),
                             [{"experiment_id": int(exp_id), "key": k, "value": v} for k, v in tags.items()])
        return exp_id

    def _create_experiment(self, name: str, source_id: str | None) -> str:
        wanted = kept_experiment_id(source_id)
        if wanted is None:
            return self.store.create_experiment(name)
        validate_experiment_name(name)
        try:
            with write_connection(self.engine) as conn:
                if conn.execute(select(E.c.experiment_id).where(E.c.experiment_id == wanted)).first() is not None:
                    wanted = None
                else:
                    now = int(time.time() * 1000)
                    conn.execute(insert(E).values(
                        experiment_id=wanted, name=name, artifact_location=self.store._artifact_location(wanted),
                        lifecycle_stage="active", creation_time=now, last_update_time=now))
                    if self.store._dialect == "postgresql":
                        # An explicit id does not advance the sequence: move it past every id
                        # (never back), so Lockgate's next experiment does not collide.
                        conn.execute(text(
                            "SELECT setval(s::regclass, GREATEST(COALESCE(pg_sequence_last_value(s::regclass), 0), "
                            "(SELECT max(experiment_id) FROM experiments), 1)) "
                            "FROM (SELECT pg_get_serial_sequence('experiments', 'experiment_id') AS s) AS q"))
        except IntegrityError:
            raise AlreadyExists(f"Experiment {name!r} already exists.") from None
        return str(wanted) if wanted is not None else self.store.create_experiment(name)

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

        The row is made by ``SqlStore.create_run``; the status, times and parent the source had
        are then set. A partial run from an interrupted import is reset to this state instead
        (its metric points are cleared), so finishing it writes every point exactly once.
        """
        if run.status not in _RUN_STATUSES:
            raise InvalidArgument(f"Run {run.run_id}: unknown status {run.status!r}.")
        _check_length(f"Run {run.run_id}: user id", run.user_id, 256)
        if run.parent_run_id:
            validate_run_id(run.parent_run_id)
        params = [Param(key=k, value=v) for k, v in run.params.items()]
        for param in params:
            validate_param(param)
        name = run.name[:250]
        tags = {k: v for k, v in run.tags.items() if k != IMPORT_SOURCE_TAG}
        tags.setdefault(RUN_NAME_TAG, name)
        for key, value in tags.items():
            validate_tag(RunTag(key=key, value=value))
        with read_connection(self.engine) as conn:
            partial = conn.execute(select(R.c.artifact_uri).where(R.c.run_uuid == run.run_id)).first()
        if partial is None:
            # The parent may come later in the source's order: it is linked below, unchecked.
            artifact_uri = self.store.create_run(
                experiment_id=run.experiment_id, user_id=run.user_id, start_time=run.start_time, run_name=name,
                tags=[RunTag(key=k, value=v) for k, v in tags.items()], run_id=run.run_id,
                allow_deleted_experiment=True,
            ).info.artifact_uri
        else:
            artifact_uri = str(partial.artifact_uri)
        with write_connection(self.engine) as conn:
            conn.execute(update(R).where(R.c.run_uuid == run.run_id).values(
                name=name, user_id=run.user_id, status=run.status, start_time=run.start_time,
                end_time=run.end_time, lifecycle_stage="active", deleted_time=None,
                parent_run_id=run.parent_run_id))
            if partial is not None:
                conn.execute(delete(M).where(M.c.run_uuid == run.run_id))
                conn.execute(delete(MB).where(MB.c.run_uuid == run.run_id))
                conn.execute(delete(LM).where(LM.c.run_uuid == run.run_id))
                stmt = self.store._insert(T)
                conn.execute(self.store._upsert(stmt, ["run_uuid", "key"], {"value": stmt.excluded.value}),
                             [{"run_uuid": run.run_id, "key": k, "value": v} for k, v in tags.items()])
            if params:
                self.store._log_params(conn, run.run_id, params)
        if run.inputs:
            self.store.log_inputs(run.run_id, run.inputs)
        return artifact_uri

    def add_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Append one batch of metric points (NaN and infinities kept) to a run being imported."""
        for key in {p.key for p in points}:
            validate_key("metric", key)
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
        if not re.fullmatch(r"m-[0-9a-f]{1,38}", model.model_id):
            raise InvalidArgument(f"Invalid logged model id {model.model_id!r}: 'm-' and up to 38 hex digits.")
        if model.source_run_id:
            validate_run_id(model.source_run_id)
        _check_length(f"Logged model {model.model_id}: model type", model.model_type, 500)
        _check_length(f"Logged model {model.model_id}: creator id", model.creator_id, 256)
        for kind, items in (("logged model tag", model.tags), ("logged model param", model.params)):
            for key in items:
                validate_key(kind, key)
        with write_connection(self.engine) as conn:
            existing = conn.execute(select(LMOD.c.artifact_location).where(LMOD.c.model_id == model.model_id)).first()
            if existing is None:
                exp = experiment_row(conn, model.experiment_id)
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

    # ---------------------------------------------------------------- registry
    def locate(self, source: str) -> tuple[str, str]:
        """(source, storage location) of a version here: ``runs:/`` and ``models:/m-...`` URIs
        stay as they are (the ids are kept); absolute URIs into a run's or logged model's
        artifacts are moved to where those artifacts now live."""
        match = _RUNS_URI.match(source)
        if match:
            path = (match.group(2) or "").strip("/")
            model_root = self.run_model_location(match.group(1), path) if path else None
            if model_root:
                return source, model_root
            root = self._run_root(match.group(1))
            return source, (f"{root}/{path}" if root and path else root or source)
        match = _LOGGED_URI.match(source)
        if match:
            root = self.logged_model_location(match.group(1))
            return source, (root + (match.group(2) or "").rstrip("/") if root else source)
        for pattern, lookup in ((_RUN_ARTIFACTS, self._run_root), (_MODEL_ARTIFACTS, self.logged_model_location)):
            match = pattern.search(source)
            if match:
                root = lookup(match.group(1))
                if root:
                    moved = root + (match.group(2) or "").rstrip("/")
                    return moved, moved
        return source, source

    def _run_root(self, run_id: str) -> str | None:
        try:
            return self.store.get_run(run_id).info.artifact_uri.rstrip("/")
        except (NotFound, InvalidArgument):
            return None

    def import_version(self, version: ImportedVersion, *, imported_from: str) -> tuple[ModelVersion, bool]:
        """The version under its own number, its source moved by ``locate``, or the one already
        holding that number; (the version, whether it was made now)."""
        from lockgate.store.sql.registry_importing import import_version
        from lockgate.store.sql.registry_store import SqlRegistryStore

        _check_length(f"Version {version.version} of {version.name!r}: source", version.source, MAX_SOURCE_LENGTH)
        _check_length(f"Version {version.version} of {version.name!r}: user id", version.user_id, 256)
        if version.run_id:
            validate_run_id(version.run_id)
        if version.status not in {s.value for s in ModelVersionStatus}:
            raise InvalidArgument(f"Version {version.version} of {version.name!r}: unknown status {version.status!r}.")
        source, location = self.locate(version.source)
        moved = dataclasses.replace(version, source=source)
        return import_version(SqlRegistryStore(self.engine), moved, storage_location=location,
                              imported_from=imported_from)
