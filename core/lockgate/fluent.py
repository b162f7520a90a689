"""The fluent API: ``with lockgate.start_run(): lockgate.log_metric(...)``.

The active run is context-local (a ``ContextVar`` stack), so threads and asyncio tasks each
see their own, and nested runs stack naturally. ``LOCKGATE_RUN_ID`` makes the first
``start_run()`` resume a run created elsewhere (an orchestrator, ``lockgate run``), and
``LOCKGATE_EXPERIMENT_NAME``/``LOCKGATE_EXPERIMENT_ID`` choose the experiment.
"""

from __future__ import annotations

import os
import time
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from lockgate import settings
from lockgate.chosen_experiment import chosen_experiment_id, known_experiment_id
from lockgate.client import LockgateClient
from lockgate.entities import Experiment, Metric, PagedList, Run, RunStatus, ViewType
from lockgate.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from lockgate.artifacts.repository import FileInfo

__all__ = [
    "ActiveRun",
    "active_run",
    "delete_tag",
    "download_artifacts",
    "end_run",
    "get_artifact_uri",
    "get_client",
    "get_metric_history",
    "get_run",
    "last_active_run",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]

_run_stack: ContextVar[tuple[ActiveRun, ...]] = ContextVar("lockgate_run_stack", default=())
_last_run_id: str | None = None
PENDING_RUN_WAIT_S = 60.0  # how long a resumed run may still be being recorded by `lockgate run`
_clients: dict[str, LockgateClient] = {}


def get_client() -> LockgateClient:
    """The client for the tracking URI in force, shared by the fluent functions."""
    uri = settings.tracking_uri()
    client = _clients.get(uri)
    if client is None:
        client = _clients[uri] = LockgateClient(uri)
    return client


def _reset_for_tests() -> None:
    global _last_run_id
    _run_stack.set(())
    chosen_experiment_id.set(None)
    _last_run_id = None
    _clients.clear()
    from lockgate.store import clear_store_cache

    clear_store_cache()


class ActiveRun:
    """The run started by ``start_run``; a context manager that ends it.

    ``run.info`` and ``run.data`` are as when the run started; call ``lockgate.get_run(id)``
    for fresh values. Leaving the ``with`` block by an exception marks the run FAILED
    (KILLED for KeyboardInterrupt).
    """

    def __init__(self, run: Run, *, owned: bool = True) -> None:
        self._run = run
        self._owned = owned

    @property
    def info(self):  # type: ignore[no-untyped-def]
        return self._run.info

    @property
    def data(self):  # type: ignore[no-untyped-def]
        return self._run.data

    @property
    def inputs(self):  # type: ignore[no-untyped-def]
        return self._run.inputs

    def __repr__(self) -> str:
        return f"<ActiveRun run_id={self.info.run_id!r} name={self.info.run_name!r}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        end_run(status, _run_id=self.info.run_id)


def set_experiment(name: str | None = None, *, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the default for new runs, creating it by name if needed."""
    client = get_client()
    if (name is None) == (experiment_id is None):
        raise InvalidArgument("set_experiment needs exactly one of a name or experiment_id.")
    if name is not None:
        experiment = client.get_or_create_experiment(name)
    else:
        experiment = client.get_experiment(str(experiment_id))
        if experiment.lifecycle_stage.value != "active":
            raise InvalidArgument(f"Experiment {experiment.name!r} is deleted; restore it first.")
    chosen_experiment_id.set(experiment.experiment_id)
    return experiment


def _default_experiment_id(client: LockgateClient) -> str:
    known = known_experiment_id()
    if known is not None:
        return known
    return client.get_or_create_experiment(os.environ["LOCKGATE_EXPERIMENT_NAME"]).experiment_id


def _resumable_run(client: LockgateClient, run_id: str) -> Run:
    """The run to resume, waiting for one that ``lockgate run`` is still recording (LOCKGATE_RUN_PENDING)."""
    deadline = time.monotonic() + PENDING_RUN_WAIT_S
    while True:
        try:
            return client.get_run(run_id)
        except NotFound:
            if os.environ.get("LOCKGATE_RUN_PENDING") != run_id or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_run(
    run_id: str | None = None,
    *,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start (or resume, with ``run_id``) a run and make it the active one.

    With ``nested=True`` the new run is a child of the active run.
    """
    global _last_run_id
    client = get_client()
    stack = _run_stack.get()
    if stack and not nested and parent_run_id is None:
        raise InvalidArgument(
            f"Run {stack[-1].info.run_id!r} is already active. End it with lockgate.end_run(), or "
            "start a child run with start_run(nested=True)."
        )
    env_run_id = os.environ.get("LOCKGATE_RUN_ID") if not stack else None
    resume_id = run_id or env_run_id
    if resume_id:
        run = _resumable_run(client, resume_id)
        if run.info.lifecycle_stage.value != "active":
            raise InvalidArgument(f"Run {resume_id!r} is deleted and cannot be resumed.")
        if run.info.status != RunStatus.RUNNING:
            client.update_run(resume_id, status=RunStatus.RUNNING)
            run = client.get_run(resume_id)
        active = ActiveRun(run)
    else:
        parent = parent_run_id or (stack[-1].info.run_id if stack and nested else None)
        exp_id = str(experiment_id) if experiment_id is not None else (
            stack[-1].info.experiment_id if parent and stack else _default_experiment_id(client)
        )
        all_tags = dict(tags or {})
        if description is not None:
            all_tags["mlflow.note.content"] = description
        run = client.create_run(exp_id, run_name=run_name, tags=all_tags, parent_run_id=parent)
        active = ActiveRun(run)
    _run_stack.set(stack + (active,))
    _last_run_id = active.info.run_id
    return active


def end_run(status: RunStatus | str = RunStatus.FINISHED, *, _run_id: str | None = None) -> None:
    """End the active run (FINISHED by default) and make its parent active again."""
    stack = _run_stack.get()
    if not stack:
        return
    if _run_id is not None and stack[-1].info.run_id != _run_id:
        # A with-block ending out of order: end exactly that run and drop it from the stack.
        remaining = tuple(r for r in stack if r.info.run_id != _run_id)
        _run_stack.set(remaining)
        get_client().set_terminated(_run_id, status)
        return
    top = stack[-1]
    _run_stack.set(stack[:-1])
    get_client().set_terminated(top.info.run_id, status)


def active_run() -> ActiveRun | None:
    """The run that fluent calls log to, or None."""
    stack = _run_stack.get()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The most recent run started in this process, fetched fresh (also after it ended)."""
    run_id = _last_run_id
    return get_client().get_run(run_id) if run_id else None


def _run_id_or_start() -> str:
    current = active_run()
    if current is None:
        current = start_run()
    return current.info.run_id


def log_param(key: str, value: Any) -> Any:
    """Record a parameter of the active run (starting one if none is active)."""
    return get_client().log_param(_run_id_or_start(), key, value)


def log_params(params: dict[str, Any]) -> None:
    get_client().log_params(_run_id_or_start(), params)


def log_metric(key: str, value: float, step: int | None = None, *, timestamp: int | None = None) -> None:
    """Append a point to a metric of the active run."""
    get_client().log_metric(_run_id_or_start(), key, value, step=step, timestamp=timestamp)


def log_metrics(metrics: dict[str, float], step: int | None = None, *, timestamp: int | None = None) -> None:
    get_client().log_metrics(_run_id_or_start(), metrics, step=step, timestamp=timestamp)


def set_tag(key: str, value: Any) -> None:
    get_client().set_tag(_run_id_or_start(), key, value)


def set_tags(tags: dict[str, Any]) -> None:
    get_client().set_tags(_run_id_or_start(), tags)


def delete_tag(key: str) -> None:
    get_client().delete_tag(_run_id_or_start(), key)


def log_input(
    *, name: str, digest: str, source: str = "", source_type: str = "local", schema: str | None = None,
    context: str | None = None,
) -> None:
    """Record a dataset the active run used."""
    get_client().log_input(
        _run_id_or_start(), name=name, digest=digest, source=source, source_type=source_type, schema=schema,
        context=context,
    )


def get_run(run_id: str) -> Run:
    return get_client().get_run(run_id)


def search_runs(
    experiment_names: list[str] | None = None,
    filter_string: str = "",
    *,
    experiment_ids: list[str] | None = None,
    order_by: list[str] | None = None,
    max_results: int = 1000,
    view_type: ViewType = ViewType.ACTIVE_ONLY,
) -> PagedList[Run]:
    """Search runs of the named experiments (default: the current one)."""
    client = get_client()
    experiments = list(experiment_ids or []) + list(experiment_names or [])
    if not experiments:
        experiments = [_default_experiment_id(client)]
    return client.search_runs(
        experiments, filter_string, order_by=order_by, max_results=max_results, view_type=view_type
    )


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    return get_client().get_metric_history(run_id, key)


# ---------------------------------------------------------------- artifacts
def _active_run_id() -> str:
    run = active_run()
    if run is None:
        raise InvalidArgument("No active run: call lockgate.start_run() first.")
    return str(run.info.run_id)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Upload a local file into the active run's artifacts."""
    get_client().log_artifact(_active_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Upload a local directory tree into the active run's artifacts."""
    get_client().log_artifacts(_active_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    """Store a string as a text artifact of the active run."""
    get_client().log_text(_active_run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    """Store a dict as JSON or YAML in the active run's artifacts."""
    get_client().log_dict(_active_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None) -> None:
    """Store a matplotlib or plotly figure in the active run's artifacts."""
    get_client().log_figure(_active_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(image: Any, artifact_file: str) -> None:
    """Store a numpy array or PIL image in the active run's artifacts."""
    get_client().log_image(_active_run_id(), image, artifact_file)


def list_artifacts(path: str | None = None, *, run_id: str | None = None) -> list[FileInfo]:
    """The artifacts of the active run (or ``run_id``) under ``path``."""
    return get_client().list_artifacts(run_id or _active_run_id(), path)


def download_artifacts(path: str = "", *, run_id: str | None = None,
                       dst_path: str | os.PathLike[str] | None = None) -> str:
    """Copy an artifact of the active run (or ``run_id``) locally; returns the local path."""
    return get_client().download_artifacts(run_id or _active_run_id(), path, dst_path)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The full URI of the active run's artifact root, or of a path under it."""
    client = get_client()
    return client.artifact_resolver.run_repository(_active_run_id()).uri_for(artifact_path)
