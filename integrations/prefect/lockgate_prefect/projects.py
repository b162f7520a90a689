"""``run_project``: a Prefect task that runs a project entry point as a nested Lockgate run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prefect import task

from lockgate_prefect.tasks import TASK_OPTIONS
from lockgate_prefect.tracking import tracked

__all__ = ["run_project"]


def _host_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith("lockgate.prefect.") or k == "lockgate.orchestrator"}


def _run_project(
    uri: str,
    *,
    entry_point: str = "main",
    parameters: Mapping[str, Any] | None = None,
    version: str | None = None,
    env_manager: str | None = None,
) -> dict[str, Any]:
    import lockgate
    import lockgate.projects
    from lockgate.fluent import get_client

    step = lockgate.active_run()  # this task run's own run, made by tracked()
    assert step is not None
    run = lockgate.projects.run(
        uri, entry_point=entry_point, parameters=parameters, version=version, env_manager=env_manager,
        experiment_id=step.info.experiment_id, tracking_uri=get_client().tracking_uri,
        parent_run_id=step.info.run_id, tags=_host_tags(step.data.tags), check=True,
    )
    return lockgate.projects.summary(run)


run_project = task(name="run_project", **TASK_OPTIONS)(tracked(_run_project, log_params=True))
run_project.__doc__ = """Run ``entry_point`` of the project at ``uri`` (``lockgate.projects.run``); returns the project run.

The task run is a Lockgate run of its own (nested under the tracked flow's run, if any) and
the project runs as a run nested under it, tagged with the flow and task run identifiers
(``lockgate.prefect.flow_run_id``, ``task_run_id`` ...). Returns ``{"run_id", "status",
"metrics", "params"}`` of the project run. An entry point that exits non-zero fails the task
with ``ProjectRunFailed`` (its exit code and the end of its stderr). The store is the tracked
flow's (``tracked(credentials=...)``) or the environment's.
"""
