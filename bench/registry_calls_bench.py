"""w5's registry calls in process (``SqlRegistry``), with the statements and transactions
each one costs (run by hand, not a test)::

    python bench/registry_calls_bench.py postgres     # or: sqlite

Prints per call the median latency of 50 calls on one model, the statements per call
(SQLAlchemy's ``before_cursor_execute``; raw statements inside a psycopg pipeline are not
counted) and the transactions per call (``begin``). Makes (and drops) its own PostgreSQL
database on 127.0.0.1:5432. Run it with ``PYTHONPATH=<tree>/core`` to compare two trees.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, event, text

CALLS = 50


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "postgres"
    tmp = tempfile.mkdtemp()
    os.environ["LOCKGATE_HOME"] = tmp
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    db = f"registry_calls_{uuid.uuid4().hex[:8]}"
    if backend == "postgres":
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        uri = f"postgresql://postgres@127.0.0.1:5432/{db}"
    else:
        uri = f"sqlite:///{tmp}/registry.db"
    from lockgate import LockgateClient
    from lockgate.registry.sql import SqlRegistry
    from lockgate.store.sql.engine import dispose_engines

    try:
        client = LockgateClient(uri)
        registry = SqlRegistry(uri, client.store)
        counts = {"statements": 0, "transactions": 0}

        @event.listens_for(client.store.engine, "before_cursor_execute")
        def _statement(*_args: object) -> None:
            counts["statements"] += 1

        @event.listens_for(client.store.engine, "begin")
        def _begin(*_args: object) -> None:
            counts["transactions"] += 1

        exp = client.create_experiment("registry-calls")
        runs = [client.create_run(exp).info.run_id for _ in range(CALLS)]
        registry.create_registered_model("m")

        def measure(label: str, call: Callable[[int], object]) -> None:
            counts.update(statements=0, transactions=0)
            times = []
            for i in range(CALLS):
                began = time.perf_counter()
                call(i)
                times.append((time.perf_counter() - began) * 1000)
            print(f"{label:22s} p50 {statistics.median(times):6.2f} ms  statements {counts['statements'] / CALLS:4.1f}"
                  f"  transactions {counts['transactions'] / CALLS:3.1f}")

        print(f"{backend}, load {Path('/proc/loadavg').read_text().split()[:3]}")
        measure("create version", lambda i: registry.create_model_version(
            "m", source=f"runs:/{runs[i]}/model", run_id=runs[i]))
        measure("set alias", lambda i: registry.set_registered_model_alias("m", "champion", i + 1))
        measure("get by alias", lambda i: registry.get_model_version_by_alias("m", "champion"))
        measure("transition stage", lambda i: registry.transition_model_version_stage(
            "m", i + 1, "Staging" if i % 2 == 0 else "Production"))
        measure("get latest versions", lambda i: registry.get_latest_versions("m", stages=["Staging", "Production"]))
    finally:
        dispose_engines()
        if backend == "postgres":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
