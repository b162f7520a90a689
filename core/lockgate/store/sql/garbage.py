"""Permanent removal of deleted runs and experiments (``lockgate gc``, MLflow's ``mlflow gc``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, delete, func, or_, select, update

from lockgate.entities import Run
from lockgate.errors import InvalidArgument
from lockgate.store.sql.engine import write_connection
from lockgate.store.sql.metric_blocks import MB
from lockgate.store.sql.run_rows import (
    ET,
    LM,
    RI,
    D,
    E,
    M,
    P,
    R,
    T,
    experiment_id_int,
    experiment_row,
    now_ms,
    run_info,
    run_row,
)

__all__ = ["collect_garbage"]


def collect_garbage(
    engine: Engine,
    *,
    older_than_ms: int | None = None,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
) -> list[Run]:
    """Remove deleted runs and experiments for good (all of them, or those named, or those deleted
    longer ago than ``older_than_ms``); returns the runs removed."""
    cutoff = now_ms() - older_than_ms if older_than_ms is not None else None
    with write_connection(engine) as conn:
        exp_stmt = select(E.c.experiment_id).where(E.c.lifecycle_stage == "deleted")
        if experiment_ids is not None:
            ids = [experiment_id_int(e) for e in experiment_ids]
            for exp_id in ids:
                row = experiment_row(conn, exp_id)
                if row.lifecycle_stage != "deleted":
                    raise InvalidArgument(f"Experiment {row.name!r} is not deleted; delete it before gc.")
            exp_stmt = exp_stmt.where(E.c.experiment_id.in_(ids))
        if cutoff is not None:
            exp_stmt = exp_stmt.where(E.c.deleted_time <= cutoff)
        doomed_exps = [r.experiment_id for r in conn.execute(exp_stmt)] if run_ids is None else []

        run_stmt = select(R).where(R.c.lifecycle_stage == "deleted")
        if run_ids is not None:
            for run_id in run_ids:
                row = run_row(conn, run_id)
                if row.lifecycle_stage != "deleted":
                    raise InvalidArgument(f"Run {run_id!r} is not deleted; delete it before gc.")
            run_stmt = run_stmt.where(R.c.run_uuid.in_(list(run_ids)))
        elif experiment_ids is not None:
            run_stmt = run_stmt.where(R.c.experiment_id.in_(doomed_exps))
        if cutoff is not None and run_ids is None:
            run_stmt = run_stmt.where(or_(R.c.deleted_time <= cutoff, R.c.experiment_id.in_(doomed_exps)))
        doomed_rows = conn.execute(run_stmt).all()
        removed = [Run(info=run_info(r)) for r in doomed_rows]
        doomed_ids = [r.run_uuid for r in doomed_rows]
        for start in range(0, len(doomed_ids), 500):
            chunk = doomed_ids[start : start + 500]
            for table in (M, MB, LM, P, T, RI):
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
