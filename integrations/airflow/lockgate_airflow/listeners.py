"""The listener that makes every task instance a nested Lockgate run (opt-in).

Enable it with ``[lockgate] auto_track = True`` in airflow.cfg (or
``AIRFLOW__LOCKGATE__AUTO_TRACK=True``). Task hooks run in the worker next to the task,
so ``lockgate.log_metric`` inside any task lands in that task's run; the DAG-run hooks run
where the DAG run's state changes (scheduler, or the process calling ``dag.test()``) and
close the parent run. Listener failures are logged, never raised: tracking must not fail
a pipeline that would otherwise succeed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from lockgate_airflow.version_compat import conf_get, conf_getboolean, hookimpl

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
_DECORATED = "LockgateDecoratedOperator"
_active: dict[str, tuple[Any, Any, str | None]] = {}
_lock = threading.Lock()


def auto_track_enabled() -> bool:
    """Whether ``[lockgate] auto_track`` is on."""
    return conf_getboolean("lockgate", "auto_track", fallback=False)


def _conn_id() -> str:
    return conf_get("lockgate", "conn_id", fallback="lockgate_default") or "lockgate_default"


def _key(ti: Any) -> str:
    return f"{ti.dag_id}|{ti.run_id}|{ti.task_id}|{getattr(ti, 'map_index', -1)}|{getattr(ti, 'try_number', 0)}"


def _is_decorated(ti: Any) -> bool:
    task = getattr(ti, "task", None)
    return task is not None and type(task).__name__ == _DECORATED


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
    with _lock:
        entry = _active.pop(_key(task_instance), None)
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
    task = getattr(task_instance, "task", None)
    retries = int(getattr(task, "retries", 0) or 0)
    try_number = int(getattr(task_instance, "try_number", 1) or 1)
    _finish(task_instance, "up_for_retry" if try_number <= retries else "failed", error)


@hookimpl
def on_task_instance_skipped(previous_state: Any, task_instance: Any) -> None:
    """End the task's run as KILLED, tagged ``skipped``."""
    _finish(task_instance, "skipped")


def _tracking_connections(dag_run: Any) -> set[str]:
    """The connections a DAG run's parent runs may live on: auto-tracking's, and each @task.lockgate's."""
    conn_ids = {_conn_id()} if auto_track_enabled() else set()
    dag = getattr(dag_run, "dag", None)
    for task in getattr(dag, "tasks", None) or []:
        if getattr(task, "task_type", type(task).__name__) == _DECORATED:
            conn_id = getattr(task, "lockgate_conn_id", None) or "lockgate_default"
            if isinstance(conn_id, str) and "{{" not in conn_id:
                conn_ids.add(conn_id)
    return conn_ids


def _close_dag_run(dag_run: Any, state: str) -> None:
    from lockgate_airflow.hooks.lockgate import LockgateHook
    from lockgate_airflow.tracking import finish_dag_run

    for conn_id in sorted(_tracking_connections(dag_run)):
        try:
            finish_dag_run(LockgateHook(conn_id).get_conn(), dag_id=dag_run.dag_id, run_id=dag_run.run_id, state=state)
        except Exception:
            log.exception("Lockgate could not close the parent run of %s on connection %s", dag_run, conn_id)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """Mark the DAG run's parent runs FINISHED."""
    _close_dag_run(dag_run, "success")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """Mark the DAG run's parent runs FAILED."""
    _close_dag_run(dag_run, "failed")
