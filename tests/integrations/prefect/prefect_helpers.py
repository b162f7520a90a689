"""Reading back what the Prefect tests wrote."""

from __future__ import annotations

from sqlalchemy import text


def run_ids_of(experiment_id: str, *, uri: str) -> list[str]:
    """Ids of every run in an experiment, oldest first, read straight from the tables."""
    from lockgate.store.sql.engine import get_engine

    with get_engine(uri).connect() as conn:
        rows = conn.execute(
            text("SELECT run_uuid FROM runs WHERE experiment_id = :e ORDER BY start_time, run_uuid"),
            {"e": int(experiment_id) if experiment_id.isdigit() else experiment_id},
        )
        return [row[0] for row in rows]
