"""One try of a task as a Lockgate run: what ``@task.lockgate`` and ``RunProjectOperator`` share.

The run is nested under the DAG run's parent run, its id is pushed under the XCom key
``lockgate_run_id`` and linked from the task's page, the fluent API points at it for the body,
and it ends FINISHED, FAILED or KILLED (skipped) with the body.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lockgate_airflow.links import LockgateRunLink, record_link, run_url
from lockgate_airflow.version_compat import AirflowSkipException

if TYPE_CHECKING:
    from lockgate_airflow.tracking import TaskRun

__all__ = ["RUN_ID_XCOM_KEY", "task_run_scope"]

#: XCom key under which every tracked task publishes its Lockgate run id.
RUN_ID_XCOM_KEY = "lockgate_run_id"


@contextmanager
def task_run_scope(operator: Any, context: Any, *, experiment: str | None, run_name: str | None,
                   lockgate_conn_id: str, label: str) -> Iterator[TaskRun]:
    """Run the ``with`` body inside this task try's own Lockgate run (``label`` names the
    operator in errors, e.g. ``@task.lockgate``)."""
    from lockgate import fluent

    from lockgate_airflow.hooks.lockgate import LockgateHook
    from lockgate_airflow.tracking import TaskIdentity, finish_task_run, start_task_run

    hook = LockgateHook(lockgate_conn_id)
    client = hook.get_conn()
    identity = TaskIdentity.from_task_instance(context["ti"], context)
    experiment = experiment or identity.dag_id
    if not isinstance(experiment, str) or not experiment.strip() or experiment.strip() == "None":
        from lockgate.errors import InvalidArgument

        raise InvalidArgument(
            f"{label} experiment rendered to {experiment!r}; it must be a non-empty experiment name."
        )
    task_run = start_task_run(client, identity, experiment=experiment.strip(), run_name=run_name)
    operator.log.info(
        "Lockgate run %s (experiment %s, parent %s)", task_run.run_id, experiment, task_run.parent_run_id
    )
    context["ti"].xcom_push(key=RUN_ID_XCOM_KEY, value=task_run.run_id)
    record_link(operator, LockgateRunLink, run_url(client.tracking_uri, task_run.run_id))
    previous_uri = hook.configure_fluent()
    fluent.start_run(task_run.run_id, nested=fluent.active_run() is not None)
    try:
        yield task_run
    except AirflowSkipException as exc:
        finish_task_run(task_run, state="skipped", error=exc)
        raise
    except BaseException as exc:
        retries = int(getattr(operator, "retries", 0) or 0)
        finish_task_run(
            task_run, state="up_for_retry" if identity.try_number <= retries else "failed", error=exc
        )
        raise
    else:
        finish_task_run(task_run, state="success")
    finally:
        hook.restore_fluent(previous_uri)
