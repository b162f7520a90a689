"""``@task.lockgate``: a TaskFlow task whose body runs inside its own Lockgate run.

::

    @task.lockgate(experiment="churn")
    def train():
        lockgate.log_metric("val_auc", 0.91)

The run is nested under the DAG run's parent run, tagged with the task's identity, and ends
FINISHED, FAILED or KILLED (skipped) with the task. Each try gets a run of its own. The
task returns the run id as its XCom value when the function returns nothing; the run id is
also pushed under the XCom key ``lockgate_run_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from lockgate_airflow.links import LockgateRunLink, record_link, run_url
from lockgate_airflow.version_compat import (
    AirflowSkipException,
    DecoratedOperator,
    PythonOperator,
    task_decorator_factory,
)

if TYPE_CHECKING:
    from airflow.sdk.bases.decorator import TaskDecorator

__all__ = ["RUN_ID_XCOM_KEY", "LockgateDecoratedOperator", "lockgate_task"]

#: XCom key under which every tracked task publishes its Lockgate run id.
RUN_ID_XCOM_KEY = "lockgate_run_id"


class LockgateDecoratedOperator(DecoratedOperator, PythonOperator):
    """Runs the decorated function inside a nested Lockgate run (see ``@task.lockgate``)."""

    # lockgate_conn_id is a template field so that it survives DAG serialization: the scheduler
    # reads it to close the DAG run's parent run on the right store.
    template_fields: Sequence[str] = (
        "templates_dict", "op_args", "op_kwargs", "experiment", "run_name", "lockgate_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    custom_operator_name: str = "@task.lockgate"
    operator_extra_links = (LockgateRunLink(),)

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Sequence[Any] | None,
        op_kwargs: dict[str, Any] | None,
        experiment: str | None = None,
        run_name: str | None = None,
        lockgate_conn_id: str = "lockgate_default",
        **kwargs: Any,
    ) -> None:
        self.experiment = experiment
        self.run_name = run_name
        self.lockgate_conn_id = lockgate_conn_id
        super().__init__(
            kwargs_to_upstream={"python_callable": python_callable, "op_args": op_args, "op_kwargs": op_kwargs},
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )

    def execute(self, context: Any) -> Any:
        from lockgate import fluent

        from lockgate_airflow.hooks.lockgate import LockgateHook
        from lockgate_airflow.tracking import TaskIdentity, finish_task_run, start_task_run

        hook = LockgateHook(self.lockgate_conn_id)
        client = hook.get_conn()
        identity = TaskIdentity.from_task_instance(context["ti"], context)
        experiment = self.experiment or identity.dag_id
        if not isinstance(experiment, str) or not experiment.strip() or experiment.strip() == "None":
            from lockgate.errors import InvalidArgument

            raise InvalidArgument(
                f"@task.lockgate experiment rendered to {experiment!r}; it must be a non-empty experiment name."
            )
        task_run = start_task_run(client, identity, experiment=experiment.strip(), run_name=self.run_name)
        self.log.info(
            "Lockgate run %s (experiment %s, parent %s)", task_run.run_id, experiment, task_run.parent_run_id
        )
        context["ti"].xcom_push(key=RUN_ID_XCOM_KEY, value=task_run.run_id)
        record_link(self, LockgateRunLink, run_url(client.tracking_uri, task_run.run_id))
        previous_uri = hook.configure_fluent()
        fluent.start_run(task_run.run_id, nested=fluent.active_run() is not None)
        try:
            result = super().execute(context)
        except AirflowSkipException as exc:
            finish_task_run(task_run, state="skipped", error=exc)
            raise
        except BaseException as exc:
            retries = int(getattr(self, "retries", 0) or 0)
            finish_task_run(
                task_run, state="up_for_retry" if identity.try_number <= retries else "failed", error=exc
            )
            raise
        else:
            finish_task_run(task_run, state="success")
        finally:
            hook.restore_fluent(previous_uri)
        return task_run.run_id if result is None else result


def lockgate_task(
    python_callable: Callable[..., Any] | None = None,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> TaskDecorator:
    """Turn a function into a task tracked as a Lockgate run: ``@task.lockgate(experiment="churn")``.

    Keyword arguments besides ``experiment``, ``run_name`` and ``lockgate_conn_id`` are the
    usual operator arguments (``retries``, ``task_id`` ...).
    """
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=LockgateDecoratedOperator,
        **kwargs,
    )
