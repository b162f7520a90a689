"""Searching runs named by id (the compare view's `attributes.run_id IN (...)`): the right runs,
combined with other clauses, and on SQLite a plan that seeks the ids instead of walking the
experiment's runs."""

from __future__ import annotations

import pytest
from lockgate import LockgateClient
from lockgate.entities import ViewType
from lockgate.search.runs import pins_run_ids
from lockgate.store.sql.store import SqlStore
from sqlalchemy import event


@pytest.mark.parametrize(("text", "pins"), [
    ("attributes.run_id IN ('a', 'b')", True),
    ("run_id = 'a'", True),
    ("attribute.run_id in ('a') and metrics.loss < 1", True),
    ("params.run_id = 'a'", False),  # a param that happens to be called run_id
    ("tags.my_run_id = 'a'", False),
    ("metrics.loss < 0.5", False),
    ("", False),
])
def test_pins_run_ids(text: str, pins: bool) -> None:
    assert pins_run_ids(text) is pins


def test_runs_named_by_id(store_uri: str) -> None:
    client = LockgateClient(store_uri)
    exp = client.create_experiment("by-id")
    other = client.create_experiment("other")
    ids = []
    for i in range(6):
        run = client.create_run(exp if i < 5 else other, run_name=f"r{i}")
        client.log_metric(run.info.run_id, "loss", i / 10)
        client.log_param(run.info.run_id, "run_id", "not-an-id")
        ids.append(run.info.run_id)
    client.delete_run(ids[3])
    wanted = [ids[0], ids[2], ids[3], ids[5]]
    flt = "attributes.run_id IN (" + ", ".join(f"'{i}'" for i in wanted) + ")"
    names = sorted(r.info.run_name for r in client.search_runs([exp], filter_string=flt))
    assert names == ["r0", "r2"]  # r3 is deleted, r5 is in another experiment
    names = sorted(r.info.run_name for r in client.search_runs([exp, other], filter_string=flt, view_type=ViewType.ALL))
    assert names == ["r0", "r2", "r3", "r5"]
    runs = client.search_runs([exp], filter_string=flt + " and metrics.loss > 0.1", order_by=["metrics.loss DESC"])
    assert [(r.info.run_name, r.data.metrics["loss"]) for r in runs] == [("r2", 0.2)]
    assert [r.info.run_name for r in client.search_runs([exp], filter_string="params.run_id = 'not-an-id'",
                                                        order_by=["attributes.run_name ASC"])] == ["r0", "r1", "r2", "r4"]


def test_sqlite_seeks_the_named_runs(sqlite_uri: str) -> None:
    store = SqlStore(sqlite_uri)
    exp = store.create_experiment("plan")
    ids = [store.create_run(experiment_id=exp, run_name=f"r{i}").info.run_id for i in range(3)]
    plans: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().startswith("SELECT runs.run_uuid"):
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append(" ".join(str(r[-1]) for r in rows))

    found = store.search_runs([exp], filter_string=f"attributes.run_id IN ('{ids[0]}', '{ids[2]}')")
    assert sorted(r.info.run_name for r in found) == ["r0", "r2"]
    assert plans and "(run_uuid=?)" in plans[0] and "ix_runs_experiment_start" not in plans[0], plans
