"""Every place Lockgate reads Prefect internals: run contexts, URLs, loggers, events, artifacts.

Prefect 3's context objects (``FlowRunContext``, ``TaskRunContext``) and helpers moved
between minor releases before; keeping the reads here means a Prefect upgrade touches one
module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "RunScope",
    "create_markdown_artifact",
    "current_flow_run_link",
    "current_scope",
    "current_task_run_id",
    "emit_event",
    "flow_run_url",
    "in_prefect_run",
    "run_logger",
]

_fallback_logger = logging.getLogger("lockgate_prefect")


@dataclass(frozen=True)
class RunScope:
    """What Prefect is running the tracked callable as, with the tags that describe it."""

    kind: Literal["flow", "task", "call"]
    name: str
    run_name: str | None = None
    prefect_run_id: str | None = None
    run_count: int = 1
    retries: int = 0
    flow_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def flow_run_url(flow_run_id: str) -> str | None:
    """The Prefect UI page of a flow run, when a UI URL is configured."""
    try:
        from prefect.utilities.urls import url_for

        return url_for("flow-run", obj_id=flow_run_id)
    except Exception:  # noqa: BLE001 - no UI configured, or a Prefect without url_for
        return None


def _deployment_name(deployment_id: Any) -> str | None:
    if deployment_id is None:
        return None
    try:
        from prefect.runtime import deployment

        name = deployment.name
        return str(name) if name else None
    except Exception:  # noqa: BLE001 - the API may be unreachable from a worker sandbox; the id is enough
        return None


def _put(tags: dict[str, str], key: str, value: Any) -> None:
    if value is not None and value != "":
        tags[key] = str(value)


def _flow_tags(flow_ctx: Any, *, full: bool = True) -> dict[str, str]:
    flow_run = flow_ctx.flow_run
    tags: dict[str, str] = {"lockgate.orchestrator": "prefect"}
    if flow_run is None:
        return tags
    _put(tags, "lockgate.prefect.flow_name", getattr(flow_ctx.flow, "name", None))
    _put(tags, "lockgate.prefect.flow_run_id", flow_run.id)
    _put(tags, "lockgate.prefect.flow_run_url", flow_run_url(str(flow_run.id)))
    if not full:  # a task's run links to its flow run; the flow's own run has the rest
        return tags
    _put(tags, "lockgate.prefect.flow_run_name", flow_run.name)
    _put(tags, "lockgate.prefect.deployment_id", flow_run.deployment_id)
    _put(tags, "lockgate.prefect.deployment", _deployment_name(flow_run.deployment_id))
    _put(tags, "lockgate.prefect.work_pool", getattr(flow_run, "work_pool_name", None))
    _put(tags, "lockgate.prefect.work_queue", getattr(flow_run, "work_queue_name", None))
    if flow_run.tags:
        tags["lockgate.prefect.tags"] = ",".join(sorted(flow_run.tags))
    return tags


def current_scope(target: Callable[..., Any]) -> RunScope:
    """Describe how ``target`` is being run right now: as a Prefect flow, task, or a plain call.

    ``target`` is the function Prefect was given; comparing identities tells a tracked task
    apart from the flow that calls it (both contexts are set inside a task).
    """
    from prefect.context import FlowRunContext, TaskRunContext

    task_ctx = TaskRunContext.get()
    flow_ctx = FlowRunContext.get()
    if task_ctx is not None and getattr(task_ctx.task, "fn", None) is target:
        task_run = task_ctx.task_run
        tags = _flow_tags(flow_ctx, full=False) if flow_ctx is not None else {"lockgate.orchestrator": "prefect"}
        _put(tags, "lockgate.prefect.task_name", task_ctx.task.name)
        _put(tags, "lockgate.prefect.task_run_id", task_run.id)
        _put(tags, "lockgate.prefect.task_run_name", task_run.name)
        _put(tags, "lockgate.prefect.attempt", task_run.run_count)
        return RunScope(
            kind="task",
            name=task_ctx.task.name,
            run_name=task_run.name,
            prefect_run_id=str(task_run.id),
            run_count=max(int(task_run.run_count or 1), 1),
            retries=int(task_ctx.task.retries or 0),
            flow_name=getattr(getattr(flow_ctx, "flow", None), "name", None),
            tags=tags,
        )
    flow = flow_ctx.flow if flow_ctx is not None else None
    if flow is not None and flow_ctx is not None and getattr(flow, "fn", None) is target and flow_ctx.flow_run:
        flow_run = flow_ctx.flow_run
        tags = _flow_tags(flow_ctx)
        _put(tags, "lockgate.prefect.attempt", flow_run.run_count)
        return RunScope(
            kind="flow",
            name=flow.name,
            run_name=flow_run.name,
            prefect_run_id=str(flow_run.id),
            run_count=max(int(flow_run.run_count or 1), 1),
            retries=int(flow.retries or 0),
            flow_name=flow.name,
            tags=tags,
        )
    name = getattr(target, "__name__", "call")
    outer = getattr(getattr(flow_ctx, "flow", None), "name", None)
    return RunScope(kind="call", name=name, run_name=name, flow_name=outer)


def current_flow_run_link() -> tuple[str | None, str | None]:
    """The id and UI URL of the flow run we are inside, or (None, None)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return None, None
    flow_run_id = str(ctx.flow_run.id)
    return flow_run_id, flow_run_url(flow_run_id)


def current_task_run_id() -> str | None:
    """The id of the Prefect task run we are inside, or None outside one."""
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    task_run = getattr(ctx, "task_run", None) if ctx is not None else None
    return str(task_run.id) if task_run is not None else None


def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run."""
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """Prefect's run logger (shown in the UI) inside a run, else the ``lockgate_prefect`` logger."""
    if not in_prefect_run():
        return _fallback_logger
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - any failure here has the same fallback
        return _fallback_logger


def emit_event(
    event: str,
    *,
    resource: Mapping[str, str],
    related: list[dict[str, str]] | None = None,
    payload: Mapping[str, Any] | None = None,
    id: Any = None,
) -> Any:
    """Send a Prefect event; returns the event, or None when events are turned off."""
    from prefect.events import emit_event as _emit

    extra: dict[str, Any] = {"id": id} if id is not None else {}
    return _emit(
        event=event, resource=dict(resource), related=related or [], payload=dict(payload or {}), **extra
    )


def create_markdown_artifact(markdown: str, *, key: str | None, description: str | None) -> Any:
    """Attach a markdown artifact to the current flow or task run."""
    from prefect.artifacts import create_markdown_artifact as _create

    return _create(markdown=markdown, key=key, description=description)
