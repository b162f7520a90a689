"""The one persistence seam: every backend (SQL, REST) implements ``TrackingStore``.

Callers (client, server, integrations) depend on this protocol only, never on SQL or HTTP.
The registry adds its own protocol next to this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from lockgate.entities import (
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

__all__ = [
    "MAX_ENTITIES_PER_BATCH",
    "MAX_KEY_LENGTH",
    "MAX_METRICS_PER_BATCH",
    "MAX_PARAMS_PER_BATCH",
    "MAX_PARAM_VALUE_LENGTH",
    "MAX_RESULTS_LIMIT",
    "MAX_TAGS_PER_BATCH",
    "MAX_TAG_VALUE_LENGTH",
    "TrackingStore",
]

# MLflow's per-request limits, enforced at the store boundary; the client splits larger batches.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_RESULTS_LIMIT = 50000


@runtime_checkable
class TrackingStore(Protocol):
    """Experiments, runs, params, metrics, tags and dataset inputs."""

    # experiments
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # runs
    def create_run(
        self,
        *,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        run_name: str | None = None,
        tags: Sequence[RunTag] = (),
        parent_run_id: str | None = None,
        run_id: str | None = None,
    ) -> Run:
        """A new RUNNING run. ``run_id`` (32 hex digits) is for a run whose process was started
        before its record (``lockgate run``); stores that assign ids themselves refuse it."""
        ...

    def get_run(self, run_id: str) -> Run: ...
    def update_run_info(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def get_metric_history(
        self, run_id: str, key: str, *, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]: ...
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None: ...
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]: ...

    # permanent deletion
    def gc(
        self,
        *,
        older_than_ms: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[Run]:
        """Permanently delete soft-deleted runs (and experiments); returns the runs removed
        so the caller can delete their artifacts."""
        ...
