"""Dataset inputs of runs (MLflow's ``log-inputs``): the datasets of an experiment and the runs' links to them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from lockgate.entities import DatasetInput
from lockgate.store.sql.engine import write_connection
from lockgate.store.sql.run_rows import RI, D, active_run_row
from lockgate.store.validation import validate_dataset_inputs

if TYPE_CHECKING:
    from lockgate.store.sql.store import SqlStore

__all__ = ["log_dataset_inputs"]


def log_dataset_inputs(store: SqlStore, run_id: str, datasets: Sequence[DatasetInput]) -> None:
    """Record that the run used these datasets: each (name, digest) is stored once per experiment,
    and the run's link to it carries the input's tags (a repeated input updates them)."""
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
    with write_connection(store.engine) as conn:
        run = active_run_row(conn, run_id)
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
            stmt = store._insert(RI)
            conn.execute(
                store._upsert(stmt, ["run_uuid", "dataset_uuid"], {"tags_json": stmt.excluded.tags_json}),
                [{"run_uuid": run_id, "dataset_uuid": known[key], "tags_json": tags[key]} for key in wanted],
            )
