"""``SqlStore``: the tracking store on SQLite, PostgreSQL (and MySQL) through SQLAlchemy.

Hot paths (batch logging, history reads, search) use SQLAlchemy Core statements on the
SQLModel tables rather than ORM objects: it is what makes 300,000 metric points a second
possible on SQLite.
"""

from __future__ import annotations

import gc
import json
import math
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from lockgate import settings
from lockgate.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)
from lockgate.errors import AlreadyExists, InvalidArgument, NotFound
from lockgate.store.base import MAX_RESULTS_LIMIT
from lockgate.store.projection import RunColumns
from lockgate.store.sql.engine import get_engine, read_connection, write_connection
from lockgate.store.sql.tables import (
    DatasetTable,
    ExperimentTable,
    ExperimentTagTable,
    LatestMetricTable,
    MetricTable,
    ParamTable,
    RunInputTable,
    RunTable,
    RunTagTable,
    core_table,
)
from lockgate.store.validation import (
    validate_batch,
    validate_dataset_inputs,
    validate_experiment_name,
    validate_id_list,
    validate_key,
    validate_max_results,
    validate_run_id,
    validate_tag,
)

__all__ = ["DEFAULT_EXPERIMENT_ID", "DEFAULT_EXPERIMENT_NAME", "SqlStore"]

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_TAG = "mlflow.parentRunId"

E = core_table(ExperimentTable)
ET = core_table(ExperimentTagTable)
R = core_table(RunTable)
P = core_table(ParamTable)
M = core_table(MetricTable)
LM = core_table(LatestMetricTable)
T = core_table(RunTagTable)
D = core_table(DatasetTable)
RI = core_table(RunInputTable)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building thousands of short-lived objects.

    They hold no cycles, yet their sheer number triggers full collections that walk every
    object of the process; that tripled the time of a 20,000-point history read.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _experiment_id_int(experiment_id: object) -> int:
    try:
        value = int(str(experiment_id))
    except (TypeError, ValueError):
        raise InvalidArgument(f"Invalid experiment id {experiment_id!r}: expected an integer id.") from None
    if value < 0:
        raise InvalidArgument(f"Invalid experiment id {experiment_id!r}: expected a non-negative integer.")
    return value


def _metric_value(value: float, is_nan: bool) -> float:
    return math.nan if is_nan else value


class SqlStore:
    """Tracking data in one SQL database; the URL's scheme picks the backend.

    ``artifact_root`` is where new experiments put their artifacts (default: the settings').
    """

    def __init__(self, uri: str, *, artifact_root: str | None = None) -> None:
        self.uri = uri
        self.engine = get_engine(uri)
        self.artifact_root = (artifact_root or settings.default_artifact_root()).rstrip("/")
        self._dialect = self.engine.dialect.name
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        self._sql_insert_metrics = (
            "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) "
            f"VALUES ({', '.join([mark] * 6)})"
        )
        self._sql_metric_history = (
            "SELECT value, is_nan, timestamp, step FROM metrics "
            f"WHERE run_uuid = {mark} AND key = {mark} ORDER BY step, timestamp, id"
        )
        self._ensure_default_experiment()

    # ------------------------------------------------------------------ helpers
    def _insert(self, table: Any) -> Any:
        if self._dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        if self._dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        return insert(table)

    def _artifact_location(self, experiment_id: int) -> str:
        root = self.artifact_root
        # "mlflow-artifacts:/" is the server's artifact proxy, a URI without "//" (MLflow's spelling).
        if "://" not in root and not root.startswith("mlflow-artifacts:"):
            root = "file://" + (root if root.startswith("/") else "/" + root)
        return f"{root}/{experiment_id}"

    def _ensure_default_experiment(self) -> None:
        with read_connection(self.engine) as conn:
            exists = conn.execute(select(E.c.experiment_id).where(E.c.experiment_id == 0)).first()
        if exists:
            return
        now = _now_ms()
        try:
            with write_connection(self.engine) as conn:
                if conn.execute(select(E.c.experiment_id).where(E.c.experiment_id == 0)).first():
                    return
                conn.execute(
                    insert(E).values(
                        experiment_id=0,
                        name=DEFAULT_EXPERIMENT_NAME,
                        artifact_location=self._artifact_location(0),
                        lifecycle_stage="active",
                        creation_time=now,
                        last_update_time=now,
                    )
                )
        except IntegrityError:
            pass  # another process created it first

    def _experiment_row(self, conn: Connection, experiment_id: object) -> Any:
        exp_id = _experiment_id_int(experiment_id)
        row = conn.execute(select(E).where(E.c.experiment_id == exp_id)).first()
        if row is None:
            raise NotFound(f"No experiment with id {experiment_id!r}.")
        return row

    def _experiment_from_row(self, conn: Connection, row: Any) -> Experiment:
        tags: dict[str, str] = dict(conn.execute(select(ET.c.key, ET.c.value).where(ET.c.experiment_id == row.experiment_id)).all())
        return Experiment(
            experiment_id=str(row.experiment_id),
            name=row.name,
            artifact_location=row.artifact_location,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            tags=tags,
            creation_time=row.creation_time,
            last_update_time=row.last_update_time,
        )

    def _run_row(self, conn: Connection, run_id: str) -> Any:
        validate_run_id(run_id)
        row = conn.execute(select(R).where(R.c.run_uuid == run_id)).first()
        if row is None:
            raise NotFound(f"No run with id {run_id!r}.")
        return row

    def _active_run_row(self, conn: Connection, run_id: str) -> Any:
        row = self._run_row(conn, run_id)
        if row.lifecycle_stage != "active":
            raise InvalidArgument(
                f"Run {run_id!r} is deleted; restore it with `lockgate runs restore {run_id}` before writing to it."
            )
        return row

    @staticmethod
    def _run_info(row: Any) -> RunInfo:
        return RunInfo(
            run_id=row.run_uuid,
            experiment_id=str(row.experiment_id),
            run_name=row.name,
            user_id=row.user_id,
            status=RunStatus(row.status),
            start_time=row.start_time,
            end_time=row.end_time,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            artifact_uri=row.artifact_uri,
            parent_run_id=row.parent_run_id,
        )

    def _load_runs(self, conn: Connection, rows: Sequence[Any], columns: RunColumns | None = None) -> list[Run]:
        """Build full Run entities for ``rows`` with four queries, whatever their number;
        ``columns`` limits which params, metrics and tags are loaded."""
        if not rows:
            return []
        ids = [r.run_uuid for r in rows]
        cols = columns or RunColumns()
        metrics: dict[str, dict[str, float]] = defaultdict(dict)
        params: dict[str, dict[str, str]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        inputs: dict[str, list[DatasetInput]] = defaultdict(list)
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            if cols.metrics is None or cols.metrics:
                metric_rows = select(LM.c.run_uuid, LM.c.key, LM.c.value, LM.c.is_nan).where(
                    LM.c.run_uuid.in_(chunk))
                if cols.metrics is not None:
                    metric_rows = metric_rows.where(LM.c.key.in_(list(cols.metrics)))
                for run_uuid, key, value, nan in conn.execute(metric_rows):
                    metrics[run_uuid][key] = _metric_value(value, nan)
            if cols.params is None or cols.params:
                param_rows = select(P.c.run_uuid, P.c.key, P.c.value).where(P.c.run_uuid.in_(chunk))
                if cols.params is not None:
                    param_rows = param_rows.where(P.c.key.in_(list(cols.params)))
                for run_uuid, key, value in conn.execute(param_rows):
                    params[run_uuid][key] = value
            if cols.tags is None or cols.tags:
                tag_rows = select(T.c.run_uuid, T.c.key, T.c.value).where(T.c.run_uuid.in_(chunk))
                if cols.tags is not None:
                    tag_rows = tag_rows.where(T.c.key.in_(list(cols.tags)))
                for run_uuid, key, value in conn.execute(tag_rows):
                    tags[run_uuid][key] = value
            for row in conn.execute(
                select(RI.c.run_uuid, RI.c.tags_json, D).join(D, D.c.dataset_uuid == RI.c.dataset_uuid)
                .where(RI.c.run_uuid.in_(chunk))
            ):
                inputs[row.run_uuid].append(
                    DatasetInput(
                        dataset=Dataset(
                            name=row.name,
                            digest=row.digest,
                            source_type=row.source_type,
                            source=row.source,
                            schema=row.schema,
                            profile=row.profile,
                        ),
                        tags=json.loads(row.tags_json or "{}"),
                    )
                )
        return [
            Run(
                info=self._run_info(r),
                data=RunData(metrics=metrics[r.run_uuid], params=params[r.run_uuid], tags=tags[r.run_uuid]),
                inputs=RunInputs(dataset_inputs=inputs[r.run_uuid]),
            )
            for r in rows
        ]

    # -------------------------------------------------------------- experiments
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        validate_experiment_name(name)
        for key, value in (tags or {}).items():
            validate_tag(RunTag(key=key, value=str(value)))
        now = _now_ms()
        try:
            with write_connection(self.engine) as conn:
                existing = conn.execute(select(E.c.lifecycle_stage).where(E.c.name == name)).first()
                if existing is not None:
                    hint = (
                        " It is deleted: restore it with `lockgate experiments restore` or pick another name."
                        if existing.lifecycle_stage == "deleted"
                        else ""
                    )
                    raise AlreadyExists(f"Experiment {name!r} already exists.{hint}")
                inserted = conn.execute(
                    insert(E).values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage="active",
                        creation_time=now,
                        last_update_time=now,
                    )
                ).inserted_primary_key
                assert inserted is not None
                exp_id = inserted[0]
                if not artifact_location:
                    conn.execute(
                        update(E).where(E.c.experiment_id == exp_id).values(
                            artifact_location=self._artifact_location(exp_id)
                        )
                    )
                if tags:
                    conn.execute(
                        insert(ET), [{"experiment_id": exp_id, "key": k, "value": str(v)} for k, v in tags.items()]
                    )
        except IntegrityError:
            raise AlreadyExists(f"Experiment {name!r} already exists.") from None
        return str(exp_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        with read_connection(self.engine) as conn:
            return self._experiment_from_row(conn, self._experiment_row(conn, experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with read_connection(self.engine) as conn:
            row = conn.execute(select(E).where(E.c.name == name)).first()
            return self._experiment_from_row(conn, row) if row else None

    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        from lockgate.search.experiments import apply_experiment_search
        from lockgate.store.paging import decode_page_token, encode_page_token

        validate_max_results(max_results, limit=MAX_RESULTS_LIMIT)
        offset = decode_page_token(page_token)
        stmt = select(E).where(E.c.lifecycle_stage.in_(ViewType(view_type).stages()))
        stmt = apply_experiment_search(stmt, filter_string=filter_string or "", order_by=order_by or [])
        stmt = stmt.offset(offset).limit(max_results + 1)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt).all()
            page = [self._experiment_from_row(conn, r) for r in rows[:max_results]]
        token = encode_page_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(page, token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validate_experiment_name(new_name)
        try:
            with write_connection(self.engine) as conn:
                row = self._experiment_row(conn, experiment_id)
                if row.lifecycle_stage != "active":
                    raise InvalidArgument(f"Experiment {row.name!r} is deleted; restore it before renaming.")
                conn.execute(
                    update(E).where(E.c.experiment_id == row.experiment_id).values(
                        name=new_name, last_update_time=_now_ms()
                    )
                )
        except IntegrityError:
            raise AlreadyExists(f"Experiment {new_name!r} already exists.") from None

    def _set_experiment_lifecycle(self, experiment_id: str, stage: str) -> None:
        now = _now_ms()
        deleted_time = now if stage == "deleted" else None
        with write_connection(self.engine) as conn:
            row = self._experiment_row(conn, experiment_id)
            if row.experiment_id == 0 and stage == "deleted":
                raise InvalidArgument("The Default experiment (id 0) cannot be deleted.")
            conn.execute(
                update(E).where(E.c.experiment_id == row.experiment_id).values(
                    lifecycle_stage=stage, last_update_time=now, deleted_time=deleted_time
                )
            )
            # Runs follow their experiment, as in MLflow.
            source = "active" if stage == "deleted" else "deleted"
            conn.execute(
                update(R).where(R.c.experiment_id == row.experiment_id, R.c.lifecycle_stage == source).values(
                    lifecycle_stage=stage, deleted_time=deleted_time
                )
            )

    def delete_experiment(self, experiment_id: str) -> None:
        self._set_experiment_lifecycle(experiment_id, "deleted")

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_lifecycle(experiment_id, "active")

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        validate_tag(RunTag(key=key, value=value))
        with write_connection(self.engine) as conn:
            row = self._experiment_row(conn, experiment_id)
            stmt = self._insert(ET).values(experiment_id=row.experiment_id, key=key, value=value)
            conn.execute(self._upsert(stmt, ["experiment_id", "key"], {"value": stmt.excluded.value}))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with write_connection(self.engine) as conn:
            row = self._experiment_row(conn, experiment_id)
            result = conn.execute(delete(ET).where(ET.c.experiment_id == row.experiment_id, ET.c.key == key))
            if result.rowcount == 0:
                raise NotFound(f"Experiment {row.name!r} has no tag {key!r}.")

    def _upsert(self, stmt: Any, keys: list[str], values: dict[str, Any], where: Any = None) -> Any:
        if self._dialect in ("postgresql", "sqlite"):
            return stmt.on_conflict_do_update(index_elements=keys, set_=values, where=where)
        raise NotImplementedError(f"upserts are not implemented for {self._dialect}")

    # --------------------------------------------------------------------- runs
    def create_run(
        self,
        *,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        run_name: str | None = None,
        tags: Sequence[RunTag] = (),
        parent_run_id: str | None = None,
        run_id: str | None = None,
        allow_deleted_experiment: bool = False,
    ) -> Run:
        """A new RUNNING run; ``run_id`` keeps an id minted elsewhere (a project launch, an
        import), and ``allow_deleted_experiment`` lets an import restore a deleted experiment's runs."""
        from lockgate.store.names import generate_run_name

        if run_id is not None and not re.fullmatch(r"[0-9a-f]{32}", run_id):
            raise InvalidArgument(f"Run id {run_id!r} must be 32 lowercase hex digits.")

        tag_map = {t.key: t.value for t in tags}
        for t in tags:
            validate_tag(t)
        run_name = run_name or tag_map.get(RUN_NAME_TAG) or generate_run_name()
        if len(run_name) > 250:
            raise InvalidArgument(f"Run name {run_name[:40]!r}... is {len(run_name)} characters; the limit is 250.")
        tag_map[RUN_NAME_TAG] = run_name
        if parent_run_id:
            tag_map[PARENT_RUN_TAG] = parent_run_id
        run_id = run_id or uuid.uuid4().hex
        start = start_time if start_time is not None else _now_ms()
        with write_connection(self.engine) as conn:
            exp = self._experiment_row(conn, experiment_id)
            if exp.lifecycle_stage != "active" and not allow_deleted_experiment:
                raise InvalidArgument(f"Experiment {exp.name!r} is deleted; restore it before creating runs in it.")
            if parent_run_id:
                self._run_row(conn, parent_run_id)
            artifact_uri = f"{exp.artifact_location.rstrip('/')}/{run_id}/artifacts"
            conn.execute(
                insert(R).values(
                    run_uuid=run_id,
                    experiment_id=exp.experiment_id,
                    name=run_name,
                    user_id=user_id or "",
                    status=RunStatus.RUNNING.value,
                    start_time=start,
                    end_time=None,
                    lifecycle_stage="active",
                    artifact_uri=artifact_uri,
                    parent_run_id=parent_run_id,
                )
            )
            conn.execute(insert(T), [{"run_uuid": run_id, "key": k, "value": v} for k, v in tag_map.items()])
            row = conn.execute(select(R).where(R.c.run_uuid == run_id)).one()
            return Run(info=self._run_info(row), data=RunData(tags=tag_map))

    def get_run(self, run_id: str) -> Run:
        with read_connection(self.engine) as conn:
            return self._load_runs(conn, [self._run_row(conn, run_id)])[0]

    def update_run_info(
        self,
        run_id: str,
        *,
        status: RunStatus | str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        values: dict[str, Any] = {}
        if status is not None:
            try:
                values["status"] = RunStatus(status).value
            except ValueError:
                raise InvalidArgument(
                    f"Invalid run status {status!r}: expected one of {', '.join(s.value for s in RunStatus)}."
                ) from None
        if end_time is not None:
            values["end_time"] = end_time
        if run_name is not None:
            if not run_name or len(run_name) > 250:
                raise InvalidArgument(f"Invalid run name {run_name!r}: 1 to 250 characters.")
            values["name"] = run_name
        with write_connection(self.engine) as conn:
            self._active_run_row(conn, run_id)
            if values:
                conn.execute(update(R).where(R.c.run_uuid == run_id).values(**values))
            if run_name is not None:
                stmt = self._insert(T).values(run_uuid=run_id, key=RUN_NAME_TAG, value=run_name)
                conn.execute(self._upsert(stmt, ["run_uuid", "key"], {"value": stmt.excluded.value}))
            return self._run_info(conn.execute(select(R).where(R.c.run_uuid == run_id)).one())

    def _set_run_lifecycle(self, run_id: str, stage: str) -> None:
        with write_connection(self.engine) as conn:
            row = self._run_row(conn, run_id)
            if stage == "active":
                exp = self._experiment_row(conn, row.experiment_id)
                if exp.lifecycle_stage != "active":
                    raise InvalidArgument(
                        f"Run {run_id!r} belongs to deleted experiment {exp.name!r}; restore the experiment first."
                    )
            conn.execute(
                update(R).where(R.c.run_uuid == run_id).values(
                    lifecycle_stage=stage, deleted_time=_now_ms() if stage == "deleted" else None
                )
            )

    def delete_run(self, run_id: str) -> None:
        self._set_run_lifecycle(run_id, "deleted")

    def restore_run(self, run_id: str) -> None:
        self._set_run_lifecycle(run_id, "active")

    # ------------------------------------------------------------------ logging
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        validate_batch(metrics, params, tags)
        with write_connection(self.engine) as conn:
            self._active_run_row(conn, run_id)
            if params:
                self._log_params(conn, run_id, params)
            if metrics:
                self._log_metrics(conn, run_id, metrics)
            if tags:
                latest = {t.key: t.value for t in tags}
                stmt = self._insert(T)
                conn.execute(
                    self._upsert(stmt, ["run_uuid", "key"], {"value": stmt.excluded.value}),
                    [{"run_uuid": run_id, "key": k, "value": v} for k, v in latest.items()],
                )
                if RUN_NAME_TAG in latest:
                    conn.execute(update(R).where(R.c.run_uuid == run_id).values(name=latest[RUN_NAME_TAG][:250]))

    def _log_params(self, conn: Connection, run_id: str, params: Sequence[Param]) -> None:
        wanted: dict[str, str] = {}
        for p in params:
            if p.key in wanted and wanted[p.key] != p.value:
                raise InvalidArgument(
                    f"Param {p.key!r} appears twice in one batch with different values "
                    f"({wanted[p.key]!r} and {p.value!r})."
                )
            wanted[p.key] = p.value
        stmt = self._insert(P).on_conflict_do_nothing(index_elements=["run_uuid", "key"])
        conn.execute(stmt, [{"run_uuid": run_id, "key": k, "value": v} for k, v in wanted.items()])
        stored: dict[str, str] = dict(
            conn.execute(select(P.c.key, P.c.value).where(P.c.run_uuid == run_id, P.c.key.in_(list(wanted)))).all()
        )
        for key, value in wanted.items():
            if stored.get(key) != value:
                raise InvalidArgument(
                    f"Param {key!r} of run {run_id!r} is already {stored.get(key)!r}; params cannot be "
                    f"changed (tried {value!r}). Log a new param or start a new run."
                )

    def _log_metrics(self, conn: Connection, run_id: str, metrics: Sequence[Metric]) -> None:
        with _gc_paused():
            rows = [(run_id, m.key, m.value, False, m.timestamp, m.step) for m in metrics]
        if any(row[2] != row[2] for row in rows):  # NaN is the only value unequal to itself
            rows = [(r[0], r[1], 0.0, True, r[4], r[5]) if r[2] != r[2] else r for r in rows]
        latest: dict[str, tuple[Any, ...]] = {}
        for row in rows:
            current = latest.get(row[1])
            if current is None or row[5] > current[5] or (row[5] == current[5] and row[4] >= current[4]):
                latest[row[1]] = row
        # Raw DB-API executemany: SQLAlchemy's per-row parameter processing would cost more
        # than the insert itself at 1,000 points a batch.
        conn.exec_driver_sql(self._sql_insert_metrics, rows)
        stmt = self._insert(LM)
        excluded = stmt.excluded
        newer = or_(
            excluded.step > LM.c.step,
            and_(excluded.step == LM.c.step, excluded.timestamp >= LM.c.timestamp),
        )
        conn.execute(
            self._upsert(
                stmt,
                ["run_uuid", "key"],
                {"value": excluded.value, "is_nan": excluded.is_nan, "timestamp": excluded.timestamp,
                 "step": excluded.step},
                where=newer,
            ),
            [dict(zip(("run_uuid", "key", "value", "is_nan", "timestamp", "step"), r)) for r in latest.values()],
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        with write_connection(self.engine) as conn:
            self._active_run_row(conn, run_id)
            result = conn.execute(delete(T).where(T.c.run_uuid == run_id, T.c.key == key))
            if result.rowcount == 0:
                raise NotFound(f"Run {run_id!r} has no tag {key!r}.")

    def get_metric_history(
        self, run_id: str, key: str, *, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        from lockgate.store.paging import decode_page_token, encode_page_token

        validate_key("metric", key)
        offset = decode_page_token(page_token)
        with read_connection(self.engine) as conn:
            self._run_row(conn, run_id)
            if max_results is None:
                rows = conn.exec_driver_sql(self._sql_metric_history, (run_id, key)).fetchall()
            else:
                validate_max_results(max_results, limit=10**9)
                stmt = (
                    select(M.c.value, M.c.is_nan, M.c.timestamp, M.c.step)
                    .where(M.c.run_uuid == run_id, M.c.key == key)
                    .order_by(M.c.step, M.c.timestamp, M.c.id)
                    .offset(offset)
                    .limit(max_results + 1)
                )
                rows = conn.execute(stmt).all()
        nan = math.nan
        # Validating construction is faster than model_construct in pydantic 2.
        with _gc_paused():
            points = [
                Metric(key=key, value=nan if is_nan else value, timestamp=ts, step=step)
                for value, is_nan, ts, step in rows
            ]
        if max_results is not None and len(points) > max_results:
            return PagedList(points[:max_results], encode_page_token(offset + max_results))
        return PagedList(points, None)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        # Checked and prepared before the write lock is taken, and written with a few batched
        # statements, so even the largest allowed request holds the lock briefly.
        validate_dataset_inputs(datasets)
        wanted: dict[tuple[str, str], DatasetInput] = {}
        tags: dict[tuple[str, str], str] = {}
        for item in datasets:
            key = (item.dataset.name, item.dataset.digest)
            wanted.setdefault(key, item)
            tags[key] = json.dumps(item.tags, sort_keys=True)
        names = sorted({name for name, _ in wanted})
        with write_connection(self.engine) as conn:
            run = self._active_run_row(conn, run_id)
            known: dict[tuple[str, str], str] = {}
            for start in range(0, len(names), 500):
                rows = conn.execute(
                    select(D.c.dataset_uuid, D.c.name, D.c.digest).where(
                        D.c.experiment_id == run.experiment_id, D.c.name.in_(names[start:start + 500])
                    )
                )
                known.update({(r.name, r.digest): r.dataset_uuid for r in rows if (r.name, r.digest) in wanted})
            new_rows = []
            for key, item in wanted.items():
                if key in known:
                    continue
                ds = item.dataset
                known[key] = uuid.uuid4().hex
                new_rows.append({
                    "dataset_uuid": known[key], "experiment_id": run.experiment_id, "name": ds.name,
                    "digest": ds.digest, "source_type": ds.source_type, "source": ds.source,
                    "schema": ds.schema_, "profile": ds.profile,
                })
            if new_rows:
                conn.execute(insert(D), new_rows)
            if wanted:
                stmt = self._insert(RI)
                conn.execute(
                    self._upsert(stmt, ["run_uuid", "dataset_uuid"], {"tags_json": stmt.excluded.tags_json}),
                    [{"run_uuid": run_id, "dataset_uuid": known[key], "tags_json": tags[key]} for key in wanted],
                )

    # ------------------------------------------------------------------- search
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        columns: RunColumns | None = None,
    ) -> PagedList[Run]:
        """One page of runs; ``columns`` (SQL store only) limits the params/metrics/tags loaded."""
        from lockgate.search import apply_run_search
        from lockgate.store.paging import decode_page_token, encode_page_token

        validate_max_results(max_results, limit=MAX_RESULTS_LIMIT)
        validate_id_list("experiment_ids", experiment_ids)
        offset = decode_page_token(page_token)
        exp_ids = [_experiment_id_int(e) for e in experiment_ids]
        stmt = select(R).where(R.c.experiment_id.in_(exp_ids), R.c.lifecycle_stage.in_(ViewType(view_type).stages()))
        stmt = apply_run_search(
            stmt, filter_string=filter_string or "", order_by=list(order_by or []),
            page_end=offset + max_results + 1,
        )
        stmt = stmt.offset(offset).limit(max_results + 1)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt).all()
            runs = self._load_runs(conn, rows[:max_results], columns)
        token = encode_page_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(runs, token)

    # ---------------------------------------------------------------------- gc
    def gc(
        self,
        *,
        older_than_ms: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[Run]:
        cutoff = _now_ms() - older_than_ms if older_than_ms is not None else None
        with write_connection(self.engine) as conn:
            exp_stmt = select(E.c.experiment_id).where(E.c.lifecycle_stage == "deleted")
            if experiment_ids is not None:
                ids = [_experiment_id_int(e) for e in experiment_ids]
                for exp_id in ids:
                    row = self._experiment_row(conn, exp_id)
                    if row.lifecycle_stage != "deleted":
                        raise InvalidArgument(f"Experiment {row.name!r} is not deleted; delete it before gc.")
                exp_stmt = exp_stmt.where(E.c.experiment_id.in_(ids))
            if cutoff is not None:
                exp_stmt = exp_stmt.where(E.c.deleted_time <= cutoff)
            doomed_exps = [r.experiment_id for r in conn.execute(exp_stmt)] if run_ids is None else []

            run_stmt = select(R).where(R.c.lifecycle_stage == "deleted")
            if run_ids is not None:
                for run_id in run_ids:
                    row = self._run_row(conn, run_id)
                    if row.lifecycle_stage != "deleted":
                        raise InvalidArgument(f"Run {run_id!r} is not deleted; delete it before gc.")
                run_stmt = run_stmt.where(R.c.run_uuid.in_(list(run_ids)))
            elif experiment_ids is not None:
                run_stmt = run_stmt.where(R.c.experiment_id.in_(doomed_exps))
            if cutoff is not None and run_ids is None:
                run_stmt = run_stmt.where(or_(R.c.deleted_time <= cutoff, R.c.experiment_id.in_(doomed_exps)))
            doomed_rows = conn.execute(run_stmt).all()
            removed = [Run(info=self._run_info(r)) for r in doomed_rows]
            doomed_ids = [r.run_uuid for r in doomed_rows]
            for start in range(0, len(doomed_ids), 500):
                chunk = doomed_ids[start : start + 500]
                for table in (M, LM, P, T, RI):
                    conn.execute(delete(table).where(table.c.run_uuid.in_(chunk)))
                # Children of a removed parent keep living; they just lose the link.
                conn.execute(update(R).where(R.c.parent_run_id.in_(chunk)).values(parent_run_id=None))
                conn.execute(delete(R).where(R.c.run_uuid.in_(chunk)))
            for exp_id in doomed_exps:
                remaining = conn.execute(
                    select(func.count()).select_from(R).where(R.c.experiment_id == exp_id)
                ).scalar_one()
                if remaining == 0:
                    conn.execute(delete(ET).where(ET.c.experiment_id == exp_id))
                    conn.execute(delete(D).where(D.c.experiment_id == exp_id))
                    conn.execute(delete(E).where(E.c.experiment_id == exp_id))
        return removed

    # ------------------------------------------------------------- bulk helpers
    def iter_run_ids(self, experiment_ids: Iterable[str]) -> list[str]:
        """All run ids of the experiments (any lifecycle); used by exports and tests."""
        ids = [_experiment_id_int(e) for e in experiment_ids]
        with read_connection(self.engine) as conn:
            return [r[0] for r in conn.execute(select(R.c.run_uuid).where(R.c.experiment_id.in_(ids)))]
