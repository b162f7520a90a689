"""``SqlLoggedModels``: logged models and run outputs in the tracking database."""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from lockgate.entities import PagedList
from lockgate.errors import InvalidArgument, NotFound
from lockgate.store.logged_models import (
    LoggedModel,
    LoggedModelMetric,
    LoggedModelStatus,
    RunOutput,
)
from lockgate.store.sql.engine import get_engine, read_connection, write_connection
from lockgate.store.sql.server_tables import (
    LoggedModelMetricTable,
    LoggedModelParamTable,
    LoggedModelTable,
    LoggedModelTagTable,
    RunOutputTable,
)
from lockgate.store.sql.tables import ExperimentTable, MetricTable, RunTable
from lockgate.store.validation import validate_key

__all__ = ["SqlLoggedModels"]

LM_ = LoggedModelTable
LMT = LoggedModelTagTable
LMP = LoggedModelParamTable
RO = RunOutputTable
LMM = LoggedModelMetricTable
M = MetricTable
E = ExperimentTable
R = RunTable

_FILTER_TERM = re.compile(
    r"""^\s*(?P<field>[A-Za-z_][\w.]*|`[^`]+`)\s*(?P<op>=|!=)\s*(?P<q>['"])(?P<value>.*?)(?P=q)\s*$""", re.DOTALL
)
_ATTRIBUTES = {
    "name": LM_.c.name,
    "model_id": LM_.c.model_id,
    "source_run_id": LM_.c.source_run_id,
    "status": LM_.c.status,
    "model_type": LM_.c.model_type,
}


def _now_ms() -> int:
    return int(time.time() * 1000)


class SqlLoggedModels:
    """Create, finalize, tag, search and delete logged models; record run outputs."""

    def __init__(self, uri: str) -> None:
        self.engine = get_engine(uri)

    # ------------------------------------------------------------------ helpers
    def _row(self, conn: Connection, model_id: str) -> Any:
        row = conn.execute(select(LM_).where(LM_.c.model_id == str(model_id))).first()
        if row is None or row.lifecycle_stage != "active":
            raise NotFound(f"No logged model with id {model_id!r}.")
        return row

    def _load(self, conn: Connection, rows: Sequence[Any]) -> list[LoggedModel]:
        ids = [r.model_id for r in rows]
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, list[LoggedModelMetric]] = {i: [] for i in ids}
        if ids:
            for m in conn.execute(select(LMM).where(LMM.c.model_id.in_(ids)).order_by(LMM.c.id)):
                metrics[m.model_id].append(LoggedModelMetric(
                    key=m.key, value=math.nan if m.is_nan else m.value, timestamp=m.timestamp, step=m.step,
                    run_id=m.run_uuid, model_id=m.model_id, dataset_name=m.dataset_name,
                    dataset_digest=m.dataset_digest))
            for mid, key, value in conn.execute(select(LMT.c.model_id, LMT.c.key, LMT.c.value).where(LMT.c.model_id.in_(ids))):
                tags[mid][key] = value
            for mid, key, value in conn.execute(select(LMP.c.model_id, LMP.c.key, LMP.c.value).where(LMP.c.model_id.in_(ids))):
                params[mid][key] = value
        return [
            LoggedModel(
                model_id=r.model_id,
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                creation_timestamp=r.creation_time,
                last_updated_timestamp=r.last_updated_time,
                status=LoggedModelStatus(r.status),
                status_message=r.status_message,
                source_run_id=r.source_run_id,
                model_type=r.model_type,
                creator_id=r.user_id,
                tags=tags[r.model_id],
                params=params[r.model_id],
                metrics=metrics[r.model_id],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ writes
    def create(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        source_run_id: str | None = None,
        model_type: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        user_id: str = "",
    ) -> LoggedModel:
        """A new PENDING logged model under ``<experiment artifact root>/models/<id>/artifacts``."""
        from lockgate.store.names import generate_run_name

        try:
            exp_id = int(str(experiment_id))
        except ValueError:
            raise InvalidArgument(f"Invalid experiment id {experiment_id!r}: expected an integer id.") from None
        model_id = f"m-{uuid.uuid4().hex}"
        name = name or generate_run_name()
        for key in list(tags or {}) + list(params or {}):
            validate_key("logged model tag or param", key)
        now = _now_ms()
        with write_connection(self.engine) as conn:
            exp = conn.execute(select(E.c.artifact_location, E.c.lifecycle_stage).where(E.c.experiment_id == exp_id)).first()
            if exp is None:
                raise NotFound(f"No experiment with id {experiment_id!r}.")
            if exp.lifecycle_stage != "active":
                raise InvalidArgument(f"Experiment {experiment_id!r} is deleted; restore it before logging models.")
            if source_run_id and conn.execute(select(R.c.run_uuid).where(R.c.run_uuid == source_run_id)).first() is None:
                raise NotFound(f"No run with id {source_run_id!r}.")
            conn.execute(
                insert(LM_).values(
                    model_id=model_id,
                    experiment_id=exp_id,
                    name=name,
                    artifact_location=f"{exp.artifact_location.rstrip('/')}/models/{model_id}/artifacts",
                    creation_time=now,
                    last_updated_time=now,
                    status=LoggedModelStatus.PENDING.value,
                    source_run_id=source_run_id or None,
                    model_type=model_type or None,
                    user_id=user_id,
                    lifecycle_stage="active",
                )
            )
            if tags:
                conn.execute(insert(LMT), [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()])
            if params:
                conn.execute(insert(LMP), [{"model_id": model_id, "key": k, "value": v} for k, v in params.items()])
            return self._load(conn, [self._row(conn, model_id)])[0]

    def get(self, model_id: str) -> LoggedModel:
        with read_connection(self.engine) as conn:
            return self._load(conn, [self._row(conn, model_id)])[0]

    def finalize(self, model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
        try:
            status = LoggedModelStatus(status)
        except ValueError:
            raise InvalidArgument(
                f"Invalid logged model status {status!r}: expected one of {', '.join(s.value for s in LoggedModelStatus)}."
            ) from None
        with write_connection(self.engine) as conn:
            self._row(conn, model_id)
            conn.execute(
                update(LM_).where(LM_.c.model_id == model_id).values(status=status.value, last_updated_time=_now_ms())
            )
            return self._load(conn, [self._row(conn, model_id)])[0]

    def delete(self, model_id: str) -> None:
        with write_connection(self.engine) as conn:
            self._row(conn, model_id)
            conn.execute(update(LM_).where(LM_.c.model_id == model_id).values(lifecycle_stage="deleted"))

    def _upsert(self, conn: Connection, table: Any, model_id: str, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            validate_key("logged model tag or param", key)
            conn.execute(delete(table).where(table.c.model_id == model_id, table.c.key == key))
            conn.execute(insert(table).values(model_id=model_id, key=key, value=value))

    def set_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        with write_connection(self.engine) as conn:
            self._row(conn, model_id)
            self._upsert(conn, LMT, model_id, tags)

    def delete_tag(self, model_id: str, key: str) -> None:
        with write_connection(self.engine) as conn:
            self._row(conn, model_id)
            if conn.execute(delete(LMT).where(LMT.c.model_id == model_id, LMT.c.key == key)).rowcount == 0:
                raise NotFound(f"Logged model {model_id!r} has no tag {key!r}.")

    def log_params(self, model_id: str, params: Mapping[str, str]) -> None:
        with write_connection(self.engine) as conn:
            self._row(conn, model_id)
            self._upsert(conn, LMP, model_id, params)

    def log_outputs(self, run_id: str, outputs: Sequence[RunOutput]) -> None:
        with write_connection(self.engine) as conn:
            if conn.execute(select(R.c.run_uuid).where(R.c.run_uuid == run_id)).first() is None:
                raise NotFound(f"No run with id {run_id!r}.")
            for out in outputs:
                self._row(conn, out.model_id)
                conn.execute(delete(RO).where(RO.c.run_uuid == run_id, RO.c.model_id == out.model_id))
                conn.execute(insert(RO).values(run_uuid=run_id, model_id=out.model_id, step=out.step))

    def run_outputs(self, run_id: str) -> list[RunOutput]:
        return self.outputs_of_runs([run_id]).get(run_id, [])

    def outputs_of_runs(self, run_ids: Sequence[str]) -> dict[str, list[RunOutput]]:
        """The logged models each run produced (runs without any are left out), in one query."""
        found: dict[str, list[RunOutput]] = {}
        with read_connection(self.engine) as conn:
            for start in range(0, len(run_ids), 500):
                rows = conn.execute(select(RO.c.run_uuid, RO.c.model_id, RO.c.step)
                                    .where(RO.c.run_uuid.in_(list(run_ids[start:start + 500]))))
                for run_id, model_id, step in rows:
                    found.setdefault(run_id, []).append(RunOutput(model_id=model_id, step=step))
        return found

    def log_metrics(self, run_id: str, metrics: Sequence[LoggedModelMetric]) -> None:
        """Link metric values logged in ``run_id`` to their logged models (``metric.model_id``).

        A value already linked at the same key, timestamp and step is kept (MLflow's rule: one
        per model, key, timestamp, step and run). NotFound names a missing run or model.
        """
        if not metrics:
            return
        with write_connection(self.engine) as conn:
            if conn.execute(select(R.c.experiment_id).where(R.c.run_uuid == run_id)).first() is None:
                raise NotFound(f"No run with id {run_id!r}.")
            for model_id in dict.fromkeys(m.model_id for m in metrics):
                self._row(conn, model_id)
            rows: dict[tuple[str, str, int, int], dict[str, Any]] = {}
            for m in metrics:  # the first of a repeated point wins
                rows.setdefault((m.model_id, m.key, m.timestamp, m.step), {
                    "model_id": m.model_id, "run_uuid": run_id, "key": m.key,
                    "value": 0.0 if math.isnan(m.value) else m.value, "is_nan": math.isnan(m.value),
                    "timestamp": m.timestamp, "step": m.step, "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest})
            known = {tuple(point) for point in conn.execute(
                select(LMM.c.model_id, LMM.c.key, LMM.c.timestamp, LMM.c.step).where(
                    LMM.c.run_uuid == run_id, LMM.c.key.in_(list({k[1] for k in rows}))))}
            fresh = [row for point, row in rows.items() if point not in known]
            if fresh:
                conn.execute(insert(LMM), fresh)

    def points_already_logged(self, run_id: str, metrics: Sequence[LoggedModelMetric]) -> set[int]:
        """Positions in ``metrics`` of points the run's history already holds (same key, step,
        timestamp and value). MLflow's ``log_model`` re-logs the run's points with the new model's
        id to link them; MLflow stores each point once, so the run's history must not grow."""
        if not metrics:
            return set()
        with read_connection(self.engine) as conn:
            held = {(key, int(step), int(ts), bool(nan), 0.0 if nan else float(value)) for key, step, ts, value, nan in
                    conn.execute(select(M.c.key, M.c.step, M.c.timestamp, M.c.value, M.c.is_nan).where(
                        M.c.run_uuid == run_id, M.c.key.in_(list({m.key for m in metrics})),
                        M.c.step.in_(list({m.step for m in metrics}))))}
        return {i for i, m in enumerate(metrics)
                if (m.key, m.step, m.timestamp, math.isnan(m.value), 0.0 if math.isnan(m.value) else m.value) in held}

    # ------------------------------------------------------------------ search
    def search(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Models of the experiments matching ``a = 'x' AND tags.k != 'y' ...``, newest first."""
        from lockgate.store.paging import decode_page_token, encode_page_token

        if not 1 <= max_results <= 50000:
            raise InvalidArgument(f"Invalid max_results {max_results}: between 1 and 50000.")
        offset = decode_page_token(page_token)
        try:
            exp_ids = [int(str(e)) for e in experiment_ids]
        except ValueError:
            raise InvalidArgument(f"Invalid experiment ids {list(experiment_ids)!r}.") from None
        stmt = select(LM_).where(LM_.c.lifecycle_stage == "active")
        if exp_ids:
            stmt = stmt.where(LM_.c.experiment_id.in_(exp_ids))
        for clause in _parse_filter(filter_string or ""):
            stmt = stmt.where(clause)
        stmt = stmt.order_by(LM_.c.creation_time.desc(), LM_.c.model_id).offset(offset).limit(max_results + 1)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt).all()
            models = self._load(conn, rows[:max_results])
        token = encode_page_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(models, token)


def _parse_filter(text: str) -> list[Any]:
    if not text.strip():
        return []
    clauses = []
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _FILTER_TERM.match(term)
        if not match:
            raise InvalidArgument(
                f"Invalid logged model filter {term!r}: use <field> = '<value>' joined by AND "
                f"(fields: {', '.join(_ATTRIBUTES)}, tags.<key>, params.<key>)."
            )
        field, op, value = match["field"].strip("`"), match["op"], match["value"]
        field = field.removeprefix("attributes.").removeprefix("attribute.")
        if field in _ATTRIBUTES:
            column = _ATTRIBUTES[field]
            clauses.append(column == value if op == "=" else column != value)
            continue
        for prefix, table in (("tags.", LMT), ("params.", LMP)):
            if field.startswith(prefix):
                key = field[len(prefix):].strip("`")
                sub = select(table.c.model_id).where(table.c.key == key, table.c.value == value)
                clauses.append(LM_.c.model_id.in_(sub) if op == "=" else LM_.c.model_id.not_in(sub))
                break
        else:
            raise InvalidArgument(f"Unknown field {field!r} in logged model filter {text!r}.")
    return clauses
