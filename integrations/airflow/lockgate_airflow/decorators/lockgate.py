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

from lockgate_airflow.links import LockgateRunLink
from lockgate_airflow.task_scope import RUN_ID_XCOM_KEY, task_run_scope
from lockgate_airflow.version_compat import (
    DecoratedOperator,
    PythonOperator,
    task_decorator_factory,
)

if TYPE_CHECKING:
    from airflow.sdk.bases.decorator import TaskDecorator

__all__ = ["RUN_ID_XCOM_KEY", "LockgateDecoratedOperator", "lockgate_task"]


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
        with task_run_scope(self, context, experiment=self.experiment, run_name=self.run_name,
                            lockgate_conn_id=self.lockgate_conn_id, label="@task.lockgate") as task_run:
            result = super().execute(context)
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
