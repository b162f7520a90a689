"""``LockgateResource``: track an asset's work as a Lockgate run tagged with its Dagster lineage.

```python
@dg.asset(io_manager_key="model_io")
def churn_model(context: dg.AssetExecutionContext, lockgate: LockgateResource):
    with lockgate.start_run(context):
        lockgate.log_metric("val_auc", auc)
        return model
```
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import dagster as dg
from lockgate.errors import InvalidArgument
from pydantic import Field

from lockgate_dagster import _handoff
from lockgate_dagster._compat import asset_keys_of, dagster_run_id, partition_key_of
from lockgate_dagster.connection import LockgateConnection, unreachable_as_error
from lockgate_dagster.tags import TAG_PREFIX, dagster_run_tags, sanitize_tag_value

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.entities import Run

__all__ = ["LockgateResource", "find_step_run"]

# (client, run_id) of the runs opened by start_run in this context, innermost last.
_active: ContextVar[tuple[tuple[LockgateClient, str], ...]] = ContextVar("lockgate_dagster_runs", default=())
_experiments: dict[tuple[str, str], str] = {}
_experiments_lock = threading.Lock()
_TOKEN_ENV = "LOCKGATE_TRACKING_TOKEN"  # what the fluent API's client sends to a server


class LockgateResource(dg.ConfigurableResource, LockgateConnection):
    """Lockgate tracking for Dagster assets: a client, and runs tagged with Dagster lineage."""

    experiment: str | None = Field(
        default=None,
        description=(
            "Experiment that runs are recorded in, created on first use. Unset: "
            "LOCKGATE_EXPERIMENT_NAME, else the Default experiment."
        ),
    )

    # ------------------------------------------------------------------ runs
    def experiment_id(self) -> str:
        """The id of the experiment runs go to (created by name if missing)."""
        uri = self.resolved_tracking_uri()
        name = self.experiment or os.environ.get("LOCKGATE_EXPERIMENT_NAME")
        if not name:
            return os.environ.get("LOCKGATE_EXPERIMENT_ID") or "0"
        with _experiments_lock:
            cached = _experiments.get((uri, name))
        if cached is not None:
            return cached
        with unreachable_as_error(uri):
            experiment_id = self.get_client().get_or_create_experiment(name).experiment_id
        with _experiments_lock:
            _experiments[(uri, name)] = experiment_id
        return experiment_id

    @contextlib.contextmanager
    def start_run(
        self,
        context: dg.AssetExecutionContext | dg.OpExecutionContext,
        *,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Iterator[Run]:
        """A Lockgate run for this step, tagged with the Dagster run, job, asset, partition and versions.

        Leaving the block normally marks the run FINISHED, by an exception FAILED. A retry of
        the same step (same Dagster run) resumes the run of the failed attempt instead of
        starting another. While the block is open, this resource's ``log_*`` methods, the
        fluent ``lockgate.log_metric`` and friends, and autologged training calls (as child
        runs) write to this run, on this resource's store.
        """
        uri = self.resolved_tracking_uri()
        client = self.get_client()
        system_tags = dagster_run_tags(context)
        all_tags = {**system_tags, **{k: str(v) for k, v in (tags or {}).items()}}
        keys = [k.to_user_string() for k in asset_keys_of(context)]
        partition = partition_key_of(context)
        name = run_name or _default_run_name(context, keys, partition)
        with unreachable_as_error(uri):
            experiment_id = self.experiment_id()
            run = None
            if (getattr(context, "retry_number", 0) or 0) > 0:
                run = _resume(client, experiment_id, system_tags)
            if run is None:
                run = client.create_run(experiment_id, run_name=name, tags=all_tags)
        run_id = run.info.run_id
        for key in keys:
            _handoff.remember(
                dagster_run_id(context), key, partition,
                _handoff.StepRun(tracking_uri=uri, run_id=run_id, experiment_id=run.info.experiment_id),
            )
        previous_fluent = _push_fluent(uri, run_id, token=self.token)
        token = _active.set(_active.get() + ((client, run_id),))
        status = "FINISHED"
        try:
            yield run
        except KeyboardInterrupt:
            status = "KILLED"
            raise
        except BaseException:
            status = "FAILED"
            raise
        finally:
            _active.reset(token)
            with unreachable_as_error(uri):
                from lockgate import fluent

                try:
                    fluent.end_run(status, _run_id=run_id)
                finally:
                    _restore_fluent(previous_fluent)

    @property
    def active_run_id(self) -> str | None:
        """The run opened by the innermost ``start_run`` block, or None."""
        stack = _active.get()
        return stack[-1][1] if stack else None

    def _current(self) -> tuple[LockgateClient, str]:
        stack = _active.get()
        if not stack:
            raise InvalidArgument(
                "No Lockgate run is active: log inside `with lockgate.start_run(context):`."
            )
        return stack[-1]

    # --------------------------------------------------------------- logging
    def log_metric(self, key: str, value: float, *, step: int | None = None) -> None:
        """Append a point to a metric of the active run."""
        client, run_id = self._current()
        client.log_metric(run_id, key, value, step=step)

    def log_metrics(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        client, run_id = self._current()
        client.log_metrics(run_id, dict(metrics), step=step)

    def log_param(self, key: str, value: Any) -> None:
        client, run_id = self._current()
        client.log_param(run_id, key, value)

    def log_params(self, params: Mapping[str, Any]) -> None:
        client, run_id = self._current()
        client.log_params(run_id, dict(params))

    def set_tag(self, key: str, value: Any) -> None:
        client, run_id = self._current()
        client.set_tag(run_id, key, value)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        client, run_id = self._current()
        client.set_tags(run_id, dict(tags))

    def log_input(self, *, name: str, digest: str, source: str = "", context: str | None = None) -> None:
        """Record a dataset the active run used (shown as the version's lineage)."""
        client, run_id = self._current()
        client.log_input(run_id, name=name, digest=digest, source=source, context=context)

    # ------------------------------------------------------------- scoring
    def batch_predict(self, model_uri: str, *, input_path: str, output_path: str, engine: str = "local",
                      output_column: str = "prediction", **options: Any) -> Any:
        """Score a .csv/.parquet file with ``model_uri`` and write rows plus predictions.

        ``engine`` is ``local``, ``spark`` (the active SparkSession, or a local one; needs
        ``lockgate[spark]``) or ``dask`` (the Dask scheduler in force; needs ``lockgate[dask]``).
        Returns the ``BatchResult`` (rows, output path, seconds); a ``models:/`` URI resolves
        through this resource's server when the step runs.
        """
        from lockgate.serving.engines import score_file

        uri = self.resolved_tracking_uri()
        with unreachable_as_error(uri):
            return score_file(model_uri, input_path, output_path, engine=engine, output_column=output_column,
                              client=self.get_client(), **options)


def _default_run_name(context: Any, keys: list[str], partition: str | None) -> str:
    op_def = getattr(context, "op_def", None)
    base = ",".join(keys) if keys else (op_def.name if op_def is not None else "dagster")
    if partition is not None:
        base = f"{base} [{partition}]"
    return sanitize_tag_value(base, max_length=250)


def _resume(client: LockgateClient, experiment_id: str, tags: Mapping[str, str]) -> Run | None:
    """The run an earlier attempt of this step started, set RUNNING again; None if there is none."""
    key = tags.get(TAG_PREFIX + "materialization_key")
    if not key:
        return None
    run = find_step_run(client, experiment_id, key)
    if run is None:
        return None
    if run.info.status.value != "RUNNING":
        client.update_run(run.info.run_id, status="RUNNING")
    client.set_tag(run.info.run_id, TAG_PREFIX + "retry_number", tags.get(TAG_PREFIX + "retry_number", "0"))
    return client.get_run(run.info.run_id)


def find_step_run(client: LockgateClient, experiment_id: str, materialization_key: str) -> Run | None:
    """The run tagged with ``materialization_key`` in the experiment, newest first; None if none."""
    found = client.search_runs_by_tags(
        [experiment_id],
        {TAG_PREFIX + "materialization_key": materialization_key},
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return found[0] if len(found) else None


def _push_fluent(uri: str, run_id: str, *, token: str | None) -> tuple[str | None, str | None] | None:
    """Make the run the fluent API's active run, on this resource's store, for the block.

    ``lockgate.log_metric`` and autologging (which logs through the fluent API) then write to
    the step's run even when the resource names another store than the process's tracking
    URI: for the block, that URI (and token) is the process's, as Airflow's task runs do.
    Returns what was replaced (None when nothing was).
    """
    from lockgate import fluent, settings

    previous: tuple[str | None, str | None] | None = None
    if uri != settings.tracking_uri():
        previous = (settings._tracking_uri_override, os.environ.get(_TOKEN_ENV))
        settings.set_tracking_uri(uri)
        if token:
            os.environ[_TOKEN_ENV] = token
    try:
        fluent.start_run(run_id, nested=fluent.active_run() is not None)
    except BaseException:
        _restore_fluent(previous)
        raise
    return previous


def _restore_fluent(previous: tuple[str | None, str | None] | None) -> None:
    """Undo ``_push_fluent``'s switch of the process's tracking URI and token."""
    from lockgate import settings

    if previous is None:
        return
    uri, token = previous
    settings.set_tracking_uri(uri)
    if token is None:
        os.environ.pop(_TOKEN_ENV, None)
    else:
        os.environ[_TOKEN_ENV] = token
