"""``SqlExperimentStore``: the experiments half of the SQL tracking store (create, read, search,
rename, delete and restore, tags), and the engine and dialect helpers ``SqlStore`` builds on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from lockgate import settings
from lockgate.entities import Experiment, LifecycleStage, PagedList, ViewType
from lockgate.errors import AlreadyExists, InvalidArgument, NotFound
from lockgate.store.base import MAX_RESULTS_LIMIT
from lockgate.store.sql.engine import get_engine, read_connection, write_connection
from lockgate.store.sql.run_rows import ET, E, R, experiment_row, now_ms
from lockgate.store.validation import (
    validate_experiment_name,
    validate_experiment_tag,
    validate_max_results,
)

__all__ = ["DEFAULT_EXPERIMENT_ID", "DEFAULT_EXPERIMENT_NAME", "SqlExperimentStore"]

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


class SqlExperimentStore:
    """Experiments in one SQL database; the URL's scheme picks the backend. Opening one makes
    sure the Default experiment (id 0) exists.

    ``artifact_root`` is where new experiments put their artifacts (default: the settings').
    """

    def __init__(self, uri: str, *, artifact_root: str | None = None) -> None:
        self.uri = uri
        self.engine = get_engine(uri)
        self.artifact_root = (artifact_root or settings.default_artifact_root()).rstrip("/")
        self._dialect = self.engine.dialect.name
        self._ensure_default_experiment()

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
        now = now_ms()
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

    # -------------------------------------------------------------- experiments
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        validate_experiment_name(name)
        for key, value in (tags or {}).items():
            validate_experiment_tag(key, str(value))
        now = now_ms()
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
            return self._experiment_from_row(conn, experiment_row(conn, experiment_id))

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
                row = experiment_row(conn, experiment_id)
                if row.lifecycle_stage != "active":
                    raise InvalidArgument(f"Experiment {row.name!r} is deleted; restore it before renaming.")
                conn.execute(
                    update(E).where(E.c.experiment_id == row.experiment_id).values(
                        name=new_name, last_update_time=now_ms()
                    )
                )
        except IntegrityError:
            raise AlreadyExists(f"Experiment {new_name!r} already exists.") from None

    def _set_experiment_lifecycle(self, experiment_id: str, stage: str) -> None:
        now = now_ms()
        deleted_time = now if stage == "deleted" else None
        with write_connection(self.engine) as conn:
            row = experiment_row(conn, experiment_id)
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
        validate_experiment_tag(key, value)
        with write_connection(self.engine) as conn:
            row = experiment_row(conn, experiment_id)
            stmt = self._insert(ET).values(experiment_id=row.experiment_id, key=key, value=value)
            conn.execute(self._upsert(stmt, ["experiment_id", "key"], {"value": stmt.excluded.value}))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with write_connection(self.engine) as conn:
            row = experiment_row(conn, experiment_id)
            result = conn.execute(delete(ET).where(ET.c.experiment_id == row.experiment_id, ET.c.key == key))
            if result.rowcount == 0:
                raise NotFound(f"Experiment {row.name!r} has no tag {key!r}.")

    def _upsert(self, stmt: Any, keys: list[str], values: dict[str, Any], where: Any = None) -> Any:
        if self._dialect in ("postgresql", "sqlite"):
            return stmt.on_conflict_do_update(index_elements=keys, set_=values, where=where)
        raise NotImplementedError(f"upserts are not implemented for {self._dialect}")
