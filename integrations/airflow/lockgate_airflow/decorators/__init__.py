"""TaskFlow decorators: ``@task.lockgate`` (registered through the provider info)."""

from lockgate_airflow.decorators.lockgate import lockgate_task

__all__ = ["lockgate_task"]
