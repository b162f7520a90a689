"""``LockgateClient``: the one facade every caller uses (fluent API, CLI, server, integrations).

It talks to whichever store the tracking URI names (SQLite by default, PostgreSQL, or a
Lockgate server over HTTP) and adds what callers should not repeat: argument checks,
automatic splitting of large batches, context tags, and name lookups.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lockgate import settings
from lockgate.artifacts.client_mixin import ArtifactsClientMixin
from lockgate.context import current_user
from lockgate.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from lockgate.errors import InvalidArgument, NotFound
from lockgate.registry.client_mixin import RegistryClientMixin
from lockgate.store import get_model_registry, get_tracking_store
from lockgate.store.base import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_PER_BATCH,
    MAX_TAGS_PER_BATCH,
    TrackingStore,
)
from lockgate.webhooks.client_mixin import WebhooksClientMixin

if TYPE_CHECKING:
    from lockgate.artifacts.base import Repository
    from lockgate.artifacts.resolver import ArtifactResolver
    from lockgate.registry.base import ModelRegistry

__all__ = ["LockgateClient"]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _as_metric_value(key: str, value: object) -> float:
    """Accept ints, floats (NaN and ±inf included) and numpy scalars; refuse the rest."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        raise InvalidArgument(
            f"Invalid value {value!r} for metric {key!r}: a metric value must be a number "
            "(NaN and infinity are accepted)."
        )
    if isinstance(value, numbers.Real):
        return float(value)
    try:  # numpy 0-d arrays, torch scalars
        item = value.item()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any failure here has the same fallback
        item = None
    if isinstance(item, numbers.Real) and not isinstance(item, bool):
        return float(item)
    raise InvalidArgument(
        f"Invalid value {value!r} (a {type(value).__name__}) for metric {key!r}: a metric value must be a number."
    )


def _run_status(status: RunStatus | str) -> RunStatus:
    try:
        return RunStatus(status)
    except ValueError:
        raise InvalidArgument(
            f"Invalid run status {status!r}: expected one of {', '.join(s.value for s in RunStatus)}."
        ) from None


def _stringify(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LockgateClient(RegistryClientMixin, ArtifactsClientMixin, WebhooksClientMixin):
    """Experiments, runs, metrics, params, tags, datasets, artifacts, and the registry with gates.

    ``LockgateClient()`` uses the tracking URI in force (``LOCKGATE_TRACKING_URI`` or the
    embedded SQLite file under ``LOCKGATE_HOME``); pass ``tracking_uri`` to pick another.
    ``user`` is recorded in the audit trail (default: ``LOCKGATE_USER`` or the login name);
    ``privileged=True`` allows forcing a promotion past a failing gate (with a reason).
    ``token`` authenticates to a Lockgate server (default: ``LOCKGATE_TRACKING_TOKEN``).
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        user: str | None = None,
        privileged: bool = False,
        token: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri or settings.tracking_uri()
        self.user = user or current_user()
        self.privileged = privileged
        self._token = token
        self._store: TrackingStore | None = None
        self._registry_service: ModelRegistry | None = None
        self._artifact_resolver: ArtifactResolver | None = None

    @property
    def store(self) -> TrackingStore:
        """The backend store (created on first use, so building a client is free)."""
        if self._store is None:
            if self._token and settings.is_http_uri(self.tracking_uri):
                from lockgate.store.rest import RestStore

                self._store = RestStore(self.tracking_uri, token=self._token)
            else:
                self._store = get_tracking_store(self.tracking_uri)
        return self._store

    @property
    def _registry(self) -> ModelRegistry:
        """The registry service behind the registry methods (created on first use)."""
        if self._registry_service is None:
            self._registry_service = get_model_registry(self.tracking_uri, self.store, token=self._token)
        return self._registry_service

    @property
    def artifact_resolver(self) -> ArtifactResolver:
        """This client's artifact routing: ``runs:/`` through its store, ``models:/`` through its
        registry, ``mlflow-artifacts:`` through its server's proxy with its credentials."""
        if self._artifact_resolver is None:
            from lockgate.artifacts.resolver import ArtifactResolver, RepositoryFactory

            schemes: dict[str, RepositoryFactory] = {}
            if settings.is_http_uri(self.tracking_uri):
                schemes["mlflow-artifacts"] = self._proxy_repository
            self._artifact_resolver = ArtifactResolver(
                self, resolve_model=self._model_location, schemes=schemes
            )
        return self._artifact_resolver

    def _model_location(self, uri: str) -> str:
        version = self.resolve_model_uri(uri)
        return version.storage_location or version.source

    def _proxy_repository(self, root_uri: str) -> Repository:
        from lockgate.store.rest import RestStore

        store = self.store
        if not isinstance(store, RestStore):  # pragma: no cover - http URIs always get one
            raise InvalidArgument(f"{root_uri!r} needs a Lockgate server; {self.tracking_uri!r} is not one.")
        return store.artifact_repository(root_uri)

    def __repr__(self) -> str:
        return f"LockgateClient(tracking_uri={self.tracking_uri!r})"

    # -------------------------------------------------------------- experiments
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> str:
        """Create an experiment and return its id; the name must be new."""
        return self.store.create_experiment(
            name,
            artifact_location=artifact_location,
            tags={k: _stringify(v) for k, v in (tags or {}).items()},
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment called ``name``, created if missing; a deleted one is an error."""
        from lockgate.errors import AlreadyExists

        experiment = self.store.get_experiment_by_name(name)
        if experiment is None:
            try:
                return self.store.get_experiment(self.create_experiment(name))
            except AlreadyExists:  # created concurrently
                experiment = self.store.get_experiment_by_name(name)
                assert experiment is not None
        if experiment.lifecycle_stage.value != "active":
            raise InvalidArgument(
                f"Experiment {name!r} is deleted; restore it with "
                f"`lockgate experiments restore {experiment.experiment_id}` or use another name."
            )
        return experiment

    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self.store.search_experiments(
            view_type=ViewType(view_type),
            max_results=max_results,
            filter_string=filter_string,
            order_by=order_by,
            page_token=page_token,
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(str(experiment_id), new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs; ``restore_experiment`` undoes it, ``gc`` makes it final."""
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(str(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.store.set_experiment_tag(str(experiment_id), key, _stringify(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(str(experiment_id), key)

    def _experiment_ids(self, experiments: Sequence[str] | str) -> list[str]:
        """Accept experiment ids or names (``["churn"]``) and return ids."""
        if isinstance(experiments, str):
            experiments = [experiments]
        ids = []
        for ref in experiments:
            ref = str(ref)
            if ref.isdigit():
                try:
                    ids.append(self.store.get_experiment(ref).experiment_id)
                    continue
                except NotFound:
                    pass
            experiment = self.store.get_experiment_by_name(ref)
            if experiment is None:
                raise NotFound(f"No experiment with id or name {ref!r}.")
            ids.append(experiment.experiment_id)
        return ids

    # --------------------------------------------------------------------- runs
    def create_run(
        self,
        experiment_id: str,
        *,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
        context_tags: bool = True,
        run_id: str | None = None,
    ) -> Run:
        """Start a run in an experiment (id or name); system tags describe where it ran.

        ``run_id`` names a run whose process was started before its record (SQL stores only).
        """
        from lockgate.context import run_context_tags

        all_tags: dict[str, str] = run_context_tags() if context_tags else {}
        all_tags.update({k: _stringify(v) for k, v in (tags or {}).items()})
        experiment_id = self._experiment_ids([str(experiment_id)])[0]
        return self.store.create_run(
            experiment_id=experiment_id,
            user_id=self.user,
            start_time=start_time,
            run_name=run_name,
            tags=[RunTag(key=k, value=v) for k, v in all_tags.items()],
            parent_run_id=parent_run_id,
            run_id=run_id,
        )

    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params, tags and dataset inputs."""
        return self.store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).info.parent_run_id
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, *, status: RunStatus | str | None = None, name: str | None = None) -> RunInfo:
        return self.store.update_run_info(run_id, status=_run_status(status) if status is not None else None,
                                          run_name=name)

    def set_terminated(
        self, run_id: str, status: RunStatus | str = RunStatus.FINISHED, *, end_time: int | None = None
    ) -> RunInfo:
        """Mark a run FINISHED (or FAILED/KILLED) and stamp its end time."""
        status = _run_status(status)
        if not status.is_terminal:
            raise InvalidArgument(f"set_terminated needs a terminal status (FINISHED, FAILED, KILLED), not {status.value}.")
        return self.store.update_run_info(run_id, status=status, end_time=end_time or _now_ms())

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run; ``restore_run`` undoes it and ``gc`` removes it for good."""
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    # ------------------------------------------------------------------ logging
    def log_metric(
        self, run_id: str, key: str, value: float, *, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Append one point to a metric's history (NaN and ±inf are kept as such)."""
        self.log_batch(run_id, metrics=[self._metric(key, value, step, timestamp)])

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, float], *, step: int | None = None, timestamp: int | None = None
    ) -> None:
        ts = timestamp or _now_ms()
        self.log_batch(run_id, metrics=[self._metric(k, v, step, ts) for k, v in metrics.items()])

    @staticmethod
    def _metric(key: str, value: object, step: int | None, timestamp: int | None) -> Metric:
        if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
            raise InvalidArgument(f"Invalid step {step!r} for metric {key!r}: it must be an integer.")
        return Metric(
            key=key, value=_as_metric_value(key, value), timestamp=timestamp or _now_ms(), step=step or 0
        )

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Record a parameter; the same value again is fine, a different one is an error."""
        self.log_batch(run_id, params=[Param(key=key, value=_stringify(value))])
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.log_batch(run_id, params=[Param(key=k, value=_stringify(v)) for k, v in params.items()])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags=[RunTag(key=key, value=_stringify(value))])

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.log_batch(run_id, tags=[RunTag(key=k, value=_stringify(v)) for k, v in tags.items()])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log many values at once; batches above MLflow's per-request limits are split here.

        Params go first so that a conflicting param fails before any metric is written.
        """
        metrics, params, tags = list(metrics), list(params), list(tags)
        for m in metrics:
            if not isinstance(m, Metric):
                raise InvalidArgument(f"log_batch expects Metric objects, got {type(m).__name__}.")
        for chunk in _chunks(params, MAX_PARAMS_PER_BATCH):
            self.store.log_batch(run_id, params=chunk)
        for chunk in _chunks(tags, MAX_TAGS_PER_BATCH):
            self.store.log_batch(run_id, tags=chunk)
        for chunk in _chunks(metrics, MAX_METRICS_PER_BATCH):
            self.store.log_batch(run_id, metrics=chunk)
        if not (metrics or params or tags):
            self.store.get_run(run_id)  # still report an unknown run

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point logged for ``key``, ordered by step then timestamp."""
        return list(self.store.get_metric_history(run_id, key))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self.store.log_inputs(run_id, list(datasets))

    def log_input(
        self,
        run_id: str,
        *,
        name: str,
        digest: str,
        source: str = "",
        source_type: str = "local",
        schema: str | None = None,
        profile: str | None = None,
        context: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Record that the run used a dataset (``context`` is e.g. "training" or "eval")."""
        input_tags = dict(tags or {})
        if context:
            input_tags["mlflow.data.context"] = context
        dataset = Dataset(
            name=name, digest=digest, source=source, source_type=source_type, schema=schema, profile=profile
        )
        self.log_inputs(run_id, [DatasetInput(dataset=dataset, tags=input_tags)])

    # ------------------------------------------------------------------- search
    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        *,
        view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs of the experiments (ids or names) matching an MLflow-style filter, one page."""
        return self.store.search_runs(
            self._experiment_ids(experiment_ids),
            filter_string=filter_string,
            view_type=ViewType(view_type),
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def search_runs_by_tags(
        self,
        experiment_ids: Sequence[str] | str,
        tags: Mapping[str, Any],
        *,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
    ) -> PagedList[Run]:
        """Runs whose tags equal every entry of ``tags`` (keys and values quoted safely)."""
        from lockgate.search import tags_filter

        return self.search_runs(
            experiment_ids,
            tags_filter({k: _stringify(v) for k, v in tags.items()}),
            order_by=order_by,
            max_results=max_results,
        )

    # ---------------------------------------------------------------------- gc
    def gc(
        self,
        *,
        older_than_ms: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[Run]:
        """Permanently remove soft-deleted runs and experiments, and their artifacts."""
        removed = self.store.gc(older_than_ms=older_than_ms, run_ids=run_ids, experiment_ids=experiment_ids)
        for run in removed:
            self._delete_run_artifacts(run)
        return removed

    def _delete_run_artifacts(self, run: Run) -> None:
        from lockgate.artifacts.run_artifacts import delete_run_artifacts

        delete_run_artifacts(self, run.info.artifact_uri)
