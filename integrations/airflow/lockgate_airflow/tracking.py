"""DAG runs as parent Lockgate runs and task instances as nested runs: the shared machinery.

Both the ``@task.lockgate`` decorator and the listener plugin go through here. A DAG run
maps to one parent run per experiment, found again by a tag holding a digest of
(dag_id, run_id); every try of a task instance gets a nested run of its own, so a retry
appears as a new attempt next to the failed one instead of overwriting it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.entities import Run, RunStatus

__all__ = [
    "TAG_PREFIX",
    "TaskIdentity",
    "TaskRun",
    "dag_run_key",
    "find_dag_run",
    "finish_dag_run",
    "finish_task_run",
    "run_status_for",
    "start_task_run",
]

TAG_PREFIX = "lockgate.airflow."
_KIND = TAG_PREFIX + "kind"
_KEY = TAG_PREFIX + "dag_run_key"
_parent_lock = threading.Lock()
# In-process memo of ids that never change once made: (tracking URI, experiment name) ->
# experiment id, and (tracking URI, experiment id, DAG-run key) -> parent run id. Saves two
# queries per task when tasks share a process (dag.test(), the triggerer, LocalExecutor forks).
_experiment_ids: dict[tuple[str, str], str] = {}
_parent_ids: dict[tuple[str, str, str], str] = {}


def dag_run_key(dag_id: str, run_id: str) -> str:
    """A tag-safe digest naming one DAG run (run ids hold characters filters would need to escape)."""
    return hashlib.sha256(f"{dag_id}\x00{run_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class TaskIdentity:
    """What identifies one try of one task instance."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int
    map_index: int = -1
    logical_date: datetime | None = None

    @classmethod
    def from_task_instance(cls, ti: Any, context: Any | None = None) -> TaskIdentity:
        """Read the identity off a running task instance (RuntimeTaskInstance or ORM one)."""
        from lockgate_airflow.version_compat import task_logical_date

        map_index = getattr(ti, "map_index", -1)
        return cls(
            dag_id=str(ti.dag_id),
            task_id=str(ti.task_id),
            run_id=str(ti.run_id),
            try_number=int(getattr(ti, "try_number", 1) or 1),
            map_index=-1 if map_index is None else int(map_index),
            logical_date=task_logical_date(ti, context),
        )

    def dag_run_tags(self) -> dict[str, str]:
        tags = {
            "lockgate.orchestrator": "airflow",
            _KIND: "dag_run",
            _KEY: dag_run_key(self.dag_id, self.run_id),
            TAG_PREFIX + "dag_id": self.dag_id,
            TAG_PREFIX + "run_id": self.run_id,
        }
        if self.logical_date is not None:
            tags[TAG_PREFIX + "logical_date"] = self.logical_date.isoformat()
        return tags

    def task_tags(self) -> dict[str, str]:
        tags = self.dag_run_tags()
        tags.update({
            _KIND: "task_instance",
            TAG_PREFIX + "task_id": self.task_id,
            TAG_PREFIX + "try_number": str(self.try_number),
            TAG_PREFIX + "map_index": str(self.map_index),
        })
        return tags

    @property
    def run_name(self) -> str:
        index = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.task_id}{index} try {self.try_number}"


@dataclass
class TaskRun:
    """A started task run: the client that wrote it, its id, and its DAG-run parent."""

    client: LockgateClient
    run_id: str
    parent_run_id: str
    experiment_id: str
    identity: TaskIdentity
    extra: dict[str, Any] = field(default_factory=dict)


def _dag_run_tags(dag_id: str, run_id: str) -> dict[str, str]:
    return {_KEY: dag_run_key(dag_id, run_id), _KIND: "dag_run"}


def find_dag_run(client: LockgateClient, experiment_id: str, dag_id: str, run_id: str) -> Run | None:
    """The parent run of a DAG run in an experiment, or None."""
    page = client.search_runs_by_tags(
        [experiment_id],
        _dag_run_tags(dag_id, run_id),
        order_by=["attributes.start_time ASC", "attributes.run_id ASC"],
        max_results=10,
    )
    runs = list(page)
    return runs[0] if runs else None


def _get_or_create_dag_run(client: LockgateClient, experiment_id: str, identity: TaskIdentity) -> str:
    memo_key = (client.tracking_uri, experiment_id, dag_run_key(identity.dag_id, identity.run_id))
    with _parent_lock:
        if memo_key in _parent_ids:
            return _parent_ids[memo_key]
        parent_id = _find_or_create_dag_run(client, experiment_id, identity)
        _parent_ids[memo_key] = parent_id
        return parent_id


def _find_or_create_dag_run(client: LockgateClient, experiment_id: str, identity: TaskIdentity) -> str:
        found = find_dag_run(client, experiment_id, identity.dag_id, identity.run_id)
        if found is not None:
            return found.info.run_id
        created = client.create_run(
            experiment_id,
            run_name=f"{identity.dag_id} {identity.run_id}",
            tags=identity.dag_run_tags(),
        )
        # Two workers may create a parent at once: both settle on the oldest and the loser
        # removes its own, so a DAG run keeps a single parent.
        winner = find_dag_run(client, experiment_id, identity.dag_id, identity.run_id)
        if winner is not None and winner.info.run_id != created.info.run_id:
            client.delete_run(created.info.run_id)
            return winner.info.run_id
        return created.info.run_id


def start_task_run(
    client: LockgateClient,
    identity: TaskIdentity,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    tags: dict[str, Any] | None = None,
) -> TaskRun:
    """Create the nested run for one try of a task (and its DAG-run parent on first use)."""
    name = experiment or identity.dag_id
    experiment_id = _experiment_ids.get((client.tracking_uri, name))
    if experiment_id is None:
        experiment_id = client.get_or_create_experiment(name).experiment_id
        _experiment_ids[(client.tracking_uri, name)] = experiment_id
    parent_id = _get_or_create_dag_run(client, experiment_id, identity)
    all_tags: dict[str, Any] = identity.task_tags()
    all_tags.update(tags or {})
    run = client.create_run(
        experiment_id, run_name=run_name or identity.run_name, tags=all_tags, parent_run_id=parent_id
    )
    return TaskRun(
        client=client, run_id=run.info.run_id, parent_run_id=parent_id, experiment_id=experiment_id,
        identity=identity,
    )


def run_status_for(state: str) -> RunStatus:
    """The run status for the Airflow state a try ended in (skipped counts as KILLED)."""
    from lockgate.entities import RunStatus

    if state == "success":
        return RunStatus.FINISHED
    if state in ("failed", "up_for_retry"):
        return RunStatus.FAILED
    return RunStatus.KILLED


def finish_task_run(task_run: TaskRun, *, state: str, error: BaseException | str | None = None) -> None:
    """Tag a task run with the Airflow state it ended in (and the error), then end it.

    When the run is the active fluent run it is popped from the fluent stack too, so the
    process is left as it was before the task.
    """
    from lockgate import fluent

    tags = {TAG_PREFIX + "state": state}
    if error is not None:
        tags[TAG_PREFIX + "error"] = str(error)[:4000]
    task_run.client.set_tags(task_run.run_id, tags)
    status = run_status_for(state)
    active = fluent.active_run()
    if active is not None and active.info.run_id == task_run.run_id:
        fluent.end_run(status, _run_id=task_run.run_id)
    else:
        task_run.client.set_terminated(task_run.run_id, status)


def finish_dag_run(client: LockgateClient, *, dag_id: str, run_id: str, state: str) -> list[str]:
    """Close every parent run of a DAG run (one per experiment it wrote to); returns their ids."""
    from lockgate.entities import RunStatus

    status = RunStatus.FINISHED if state == "success" else RunStatus.FAILED
    experiment_ids = [e.experiment_id for e in client.search_experiments(max_results=1000)]
    if not experiment_ids:
        return []
    closed = []
    for run in client.search_runs_by_tags(experiment_ids, _dag_run_tags(dag_id, run_id), max_results=100):
        client.set_tag(run.info.run_id, TAG_PREFIX + "state", state)
        if not RunStatus(run.info.status).is_terminal:
            client.set_terminated(run.info.run_id, status)
        closed.append(run.info.run_id)
    return closed
