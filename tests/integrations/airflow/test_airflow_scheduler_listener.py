"""The DAG-run listener as the scheduler calls it: inside the scheduler's own database session.

The scheduler holds its ``DagRun`` in a thread-local session and calls the listener in the
middle of it; a listener that looks a connection up from that thread commits and closes
that session, the ``DagRun`` is detached and the scheduler dies. The real scheduler is
exercised in test_airflow_topology.py; this pins the mechanism in-process.
"""

from __future__ import annotations

import json

import pytest
from lockgate import LockgateClient
from lockgate.entities import RunStatus


def _parent(client: LockgateClient, run_id: str):  # type: ignore[no-untyped-def]
    runs = client.search_runs_by_tags(
        ["close-exp"], {"lockgate.airflow.kind": "dag_run", "lockgate.airflow.run_id": run_id}
    )
    (parent,) = list(runs)
    return parent


@pytest.mark.parametrize("with_connection", [False, True])
def test_dag_run_listener_leaves_the_schedulers_session_alone(
    with_connection: bool, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str, task_states  # type: ignore[no-untyped-def]
) -> None:
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from lg_close import dag_object
    from lockgate_airflow import handoff, listeners
    from lockgate_airflow.hooks.lockgate import LockgateHook
    from sqlalchemy import inspect, select

    if with_connection:
        monkeypatch.setenv(
            "AIRFLOW_CONN_LOCKGATE_DEFAULT",
            json.dumps({"conn_type": "lockgate", "extra": {"tracking_uri": sqlite_uri}}),
        )
    client = LockgateClient(sqlite_uri) if with_connection else LockgateClient()
    finished = dag_object.test()
    assert set(task_states(finished).values()) == {"success"}
    parent = _parent(client, finished.run_id)
    client.update_run(parent.info.run_id, status=RunStatus.RUNNING)  # as if the DAG run were still going

    # What the scheduler does: its session, its DagRun with the serialized DAG attached, and
    # Airflow's server marker, which puts the metadata database among the secrets backends.
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    LockgateHook.forget_connections()  # the scheduler has never looked the connection up
    session = settings.Session()
    try:
        dag_run = session.scalars(select(DagRun).where(DagRun.run_id == finished.run_id)).one()
        serialized = session.scalars(
            select(SerializedDagModel).where(SerializedDagModel.dag_id == "lg_close")
        ).first()
        assert serialized is not None
        dag_run.dag = serialized.dag

        listeners.on_dag_run_success(dag_run=dag_run, msg="success")

        assert inspect(dag_run).session is session  # still bound: the scheduler can go on
        assert session.is_active
        session.expire(dag_run)
        assert dag_run.run_id == finished.run_id  # reloads through the scheduler's session
    finally:
        session.rollback()
        settings.Session.remove()

    assert handoff.flush(timeout=60)
    closed = client.get_run(parent.info.run_id)
    assert closed.info.status == RunStatus.FINISHED
    assert closed.data.tags["lockgate.airflow.state"] == "success"


def test_dag_run_listener_logs_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing a listener meets (no ids loaded, a DAG without tasks) reaches the caller."""
    from lockgate_airflow import listeners

    class Unloaded:
        dag = None

    listeners.on_dag_run_failed(dag_run=Unloaded(), msg="failed")
    assert "its ids are not loaded" in caplog.text
