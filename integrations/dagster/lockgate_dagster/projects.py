"""``build_project_asset``: an asset whose materialization runs a project entry point."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from lockgate_dagster.resource import LockgateResource
from lockgate_dagster.tags import dagster_run_tags

__all__ = ["build_project_asset"]


def build_project_asset(
    name: str,
    *,
    uri: str,
    entry_point: str = "main",
    parameters: Mapping[str, Any] | None = None,
    version: str | None = None,
    env_manager: str | None = None,
    resource_key: str = "lockgate",
    deps: Sequence[Any] | None = None,
    group_name: str | None = None,
    description: str | None = None,
) -> dg.AssetsDefinition:
    """An asset ``name`` that runs ``entry_point`` of the project at ``uri`` (``lockgate.projects.run``).

    Each materialization gets its step run from the ``LockgateResource`` under
    ``resource_key`` (tagged with the Dagster run, job, asset and partition) and runs the
    project as a run nested under it, with the same Dagster tags. The asset's value is
    ``{"run_id", "status", "metrics", "params"}`` of the project run; its metadata holds the
    run id and the metrics. An entry point that exits non-zero fails the step with
    ``ProjectRunFailed`` (exit code and the end of its stderr).
    """
    fixed = dict(parameters or {})

    @dg.asset(name=name, required_resource_keys={resource_key}, deps=deps, group_name=group_name,
              description=description or f"Entry point {entry_point!r} of project {uri}.")
    def _project_asset(context: dg.AssetExecutionContext) -> dg.Output[dict[str, Any]]:
        import lockgate.projects

        resource: LockgateResource = getattr(context.resources, resource_key)
        with resource.start_run(context) as step:
            run = lockgate.projects.run(
                uri, entry_point=entry_point, parameters=fixed, version=version, env_manager=env_manager,
                experiment_id=step.info.experiment_id, tracking_uri=resource.resolved_tracking_uri(),
                parent_run_id=step.info.run_id, tags=dagster_run_tags(context), check=True,
            )
        result = lockgate.projects.summary(run)
        metadata: dict[str, Any] = {"lockgate_run_id": result["run_id"], "lockgate_step_run_id": step.info.run_id}
        metadata.update({f"metric/{k}": float(v) for k, v in result["metrics"].items()})
        return dg.Output(result, metadata=metadata)

    return _project_asset
