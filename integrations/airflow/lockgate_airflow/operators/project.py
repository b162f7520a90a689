"""``RunProjectOperator``: run a project entry point as a Lockgate run nested under the task's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from lockgate_airflow.links import LockgateRunLink
from lockgate_airflow.operators.base import rendered_name
from lockgate_airflow.task_scope import task_run_scope
from lockgate_airflow.version_compat import BaseOperator

__all__ = ["RunProjectOperator"]


class RunProjectOperator(BaseOperator):
    """Run ``entry_point`` of the project at ``uri`` (``lockgate.projects.run``); XCom: the project run.

    The task try gets its own Lockgate run (nested under the DAG run's, as with
    ``@task.lockgate``) and the project runs as a run nested under that one, tagged with the
    task's identity (``lockgate.airflow.dag_id``, ``task_id``, ``run_id``, ``try_number`` ...).
    The XCom value is ``{"run_id", "status", "metrics", "params"}`` of the project run. An entry
    point that exits non-zero fails the task with its exit code and the end of its stderr.

    :param uri: a project folder (``path#subdir``) or git URI (templated).
    :param entry_point: the entry point, or a ``.py``/``.sh`` file (templated).
    :param parameters: entry point parameters (templated).
    :param version: a git commit or branch (templated).
    :param env_manager: ``uv``, ``local`` or ``conda`` (default: uv when the project declares an environment).
    :param experiment: experiment of the task's run (templated; default: the dag_id).
    :param lockgate_conn_id: the ``lockgate`` Airflow connection.
    """

    template_fields: Sequence[str] = ("uri", "entry_point", "parameters", "version", "experiment")
    template_fields_renderers: ClassVar[dict[str, str]] = {"parameters": "json"}
    ui_color = "#e8f5e9"
    operator_extra_links = (LockgateRunLink(),)

    def __init__(
        self,
        *,
        uri: str,
        entry_point: str = "main",
        parameters: Mapping[str, Any] | None = None,
        version: str | None = None,
        env_manager: str | None = None,
        experiment: str | None = None,
        lockgate_conn_id: str = "lockgate_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.uri = uri
        self.entry_point = entry_point
        self.parameters = dict(parameters or {})
        self.version = version
        self.env_manager = env_manager
        self.experiment = experiment
        self.lockgate_conn_id = lockgate_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        import lockgate.projects

        from lockgate_airflow.tracking import TAG_PREFIX, TaskIdentity

        uri = rendered_name("uri", self.uri)
        entry_point = rendered_name("entry_point", self.entry_point)
        identity = TaskIdentity.from_task_instance(context["ti"], context)
        tags = {**identity.task_tags(), TAG_PREFIX + "kind": "project"}
        with task_run_scope(self, context, experiment=self.experiment, run_name=None,
                            lockgate_conn_id=self.lockgate_conn_id, label="RunProjectOperator") as task_run:
            run = lockgate.projects.run(
                uri, entry_point=entry_point, parameters=self.parameters, version=self.version or None,
                env_manager=self.env_manager, experiment_id=task_run.experiment_id,
                tracking_uri=task_run.client.tracking_uri, parent_run_id=task_run.run_id, tags=tags,
                check=True,
            )
        result = lockgate.projects.summary(run)
        self.log.info("Project run %s %s, metrics %s", result["run_id"], result["status"], result["metrics"])
        return result
