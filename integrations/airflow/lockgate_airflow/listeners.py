"""The listener that makes every task instance a nested Lockgate run (opt-in).

Enable it with ``[lockgate] auto_track = True`` in airflow.cfg (or
``AIRFLOW__LOCKGATE__AUTO_TRACK=True``). Task hooks run in the worker next to the task,
so ``lockgate.log_metric`` inside any task lands in that task's run; the DAG-run hooks run
where the DAG run's state changes (scheduler, or the process calling ``dag.test()``) and
hand the close of the parent run to a background thread (``handoff``), never touching the
scheduler's database session. Listener failures are logged, never raised: tracking must not fail
a pipeline that would otherwise succeed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from lockgate_airflow.version_compat import (
    conf_get,
    conf_getboolean,
    hookimpl,
    in_server_process,
    plain_attribute,
)

__all__ = [
    "auto_track_enabled",
    "on_dag_run_failed",
    "on_dag_run_success",
    "on_task_instance_failed",
    "on_task_instance_running",
    "on_task_instance_skipped",
    "on_task_instance_success",
]

log = logging.getLogger(__name__)
# Operators that make their own task run; the listener leaves them alone.
_SELF_TRACKED = frozenset({"LockgateDecoratedOperator", "RunProjectOperator"})
_active: dict[str, tuple[Any, Any, Any]] = {}
_lock = threading.Lock()


def auto_track_enabled() -> bool:
    """Whether ``[lockgate] auto_track`` is on."""
    return conf_getboolean("lockgate", "auto_track", fallback=False)


def _conn_id() -> str:
    return conf_get("lockgate", "conn_id", fallback="lockgate_default") or "lockgate_default"


def _key(ti: Any) -> str:
    # plain_attribute: these hooks also fire in the scheduler and API server (a task marked
    # failed there) on ORM task instances, whose sessions a listener must not use.
    fields = ("dag_id", "run_id", "task_id", "map_index", "try_number")
    return "|".join(str(plain_attribute(ti, name)) for name in fields)


def _is_decorated(ti: Any) -> bool:
    task = getattr(ti, "task", None)
    return task is not None and type(task).__name__ in _SELF_TRACKED


@hookimpl
def on_task_instance_running(previous_state: Any, task_instance: Any) -> None:
    """Start the task's nested run and make it the active run for fluent calls in the task."""
    if not auto_track_enabled() or _is_decorated(task_instance):
        return
    try:
        from lockgate import fluent

        from lockgate_airflow.hooks.lockgate import LockgateHook
        from lockgate_airflow.tracking import TaskIdentity, start_task_run

        hook = LockgateHook(_conn_id())
        identity = TaskIdentity.from_task_instance(task_instance)
        experiment = conf_get("lockgate", "experiment", fallback="") or identity.dag_id
        task_run = start_task_run(hook.get_conn(), identity, experiment=experiment)
        previous_uri = hook.configure_fluent()
        fluent.start_run(task_run.run_id, nested=fluent.active_run() is not None)
        with _lock:
            _active[_key(task_instance)] = (task_run, hook, previous_uri)
    except Exception:
        log.exception("Lockgate could not start tracking %s; the task runs untracked", task_instance)


def _finish(task_instance: Any, state: str, error: Any = None) -> None:
    try:
        with _lock:
            entry = _active.pop(_key(task_instance), None)
    except Exception:
        log.exception("Lockgate could not look up the run of %s", type(task_instance))
        return
    if entry is None:
        return
    task_run, hook, previous_uri = entry
    try:
        from lockgate_airflow.tracking import finish_task_run

        finish_task_run(task_run, state=state, error=error)
    except Exception:
        log.exception("Lockgate could not close the run of %s", task_instance)
    finally:
        hook.restore_fluent(previous_uri)


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    """End the task's run as FINISHED."""
    _finish(task_instance, "success")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: Any) -> None:
    """End the task's run as FAILED (state ``up_for_retry`` when Airflow will try again)."""
    try:
        task = plain_attribute(task_instance, "task")
        retries = int(getattr(task, "retries", 0) or 0)
        try_number = int(plain_attribute(task_instance, "try_number") or 1)
    except Exception:
        log.exception("Lockgate could not read the retries of %s; the run is marked failed", type(task_instance))
        retries, try_number = 0, 1
    _finish(task_instance, "up_for_retry" if try_number <= retries else "failed", error)


@hookimpl
def on_task_instance_skipped(previous_state: Any, task_instance: Any) -> None:
    """End the task's run as KILLED, tagged ``skipped``."""
    _finish(task_instance, "skipped")


def _tracking_connections(dag: Any) -> tuple[str, ...]:
    """The connections a DAG run's parent runs may live on: auto-tracking's, and each self-tracked task's."""
    conn_ids = {_conn_id()} if auto_track_enabled() else set()
    for task in getattr(dag, "tasks", None) or []:
        if getattr(task, "task_type", type(task).__name__) in _SELF_TRACKED:
            conn_id = getattr(task, "lockgate_conn_id", None) or "lockgate_default"
            if isinstance(conn_id, str) and "{{" not in conn_id:
                conn_ids.add(conn_id)
    return tuple(sorted(conn_ids))


def _close_dag_run(dag_run: Any, state: str) -> None:
    """Queue the close of the DAG run's parent runs; wait for it only outside Airflow's servers.

    Only values already loaded on ``dag_run`` are read, and the Lockgate work (connection
    lookup included) runs on another thread: in the scheduler this runs inside its own
    database session, which must stay untouched (see ``handoff``).
    """
    try:
        from lockgate_airflow.handoff import CloseDagRun, flush, submit

        dag_id = plain_attribute(dag_run, "dag_id")
        run_id = plain_attribute(dag_run, "run_id")
        if not dag_id or not run_id:
            log.warning("Lockgate cannot close the parent run of %r: its ids are not loaded", type(dag_run))
            return
        conn_ids = _tracking_connections(plain_attribute(dag_run, "dag"))
        if not conn_ids:
            return
        submit(CloseDagRun(dag_id=str(dag_id), run_id=str(run_id), state=state, conn_ids=conn_ids))
        if not in_server_process():  # dag.test(): the parent is closed when it returns
            flush()
    except Exception:
        log.exception("Lockgate could not queue closing the parent run of a DAG run")


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """Mark the DAG run's parent runs FINISHED."""
    _close_dag_run(dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """Mark the DAG run's parent runs FAILED."""
    _close_dag_run(dag_run, "failed")
