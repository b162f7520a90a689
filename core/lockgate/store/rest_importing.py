"""``RestImportRows``: the import path of a running ``lockgate server``, over its ``/api/v1/import``.

Every call is one request to a route that runs ``SqlImportRows`` on the server, so an
import by URL keeps the same ids, resumes and skips exactly as one on the database URL.
Errors come back as the ``LockgateError`` the server raised (``RestStore``'s mapping).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lockgate.registry.entities import ModelVersion
from lockgate.store.importing import (
    MAX_IMPORT_POINTS,
    ImportedRun,
    ImportedVersion,
    MetricPoint,
    RunState,
)
from lockgate.store.logged_models import LoggedModel
from lockgate.store.rest import RestStore, _segment, _wire_float

__all__ = ["RestImportRows"]


class RestImportRows:
    """Idempotent, id-preserving writes into a running Lockgate server (admin when auth is on)."""

    def __init__(self, store: RestStore) -> None:
        self.store = store

    def _call(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        return self.store._request(method, "/import" + path, json=json, params=params)

    def check(self) -> None:
        self._call("GET", "/check")

    # -------------------------------------------------------------- experiments
    def native_run_count(self, experiment_id: str) -> int:
        return int(self._call("GET", f"/experiments/{_segment(experiment_id, 'experiment id')}/native-run-count")["count"])

    def adopt_experiment(self, name: str, *, source_id: str | None, tags: Mapping[str, str],
                         existing_id: str | None) -> str:
        body = {"name": name, "source_id": source_id, "existing_id": existing_id, "tags": dict(tags)}
        return str(self._call("POST", "/experiments", json=body)["experiment_id"])

    def set_experiment_lifecycle(self, experiment_id: str, stage: str, *, creation_time: int | None) -> None:
        self._call("POST", f"/experiments/{_segment(experiment_id, 'experiment id')}/lifecycle",
                   json={"lifecycle_stage": stage, "creation_time": creation_time})

    # --------------------------------------------------------------------- runs
    def run_state(self, run_id: str) -> RunState:
        return RunState(self._call("GET", "/runs/state", params={"run_id": run_id})["state"])

    def begin_run(self, run: ImportedRun) -> str:
        body = {
            "run_id": run.run_id, "experiment_id": run.experiment_id, "name": run.name, "user_id": run.user_id,
            "status": run.status, "start_time": run.start_time, "end_time": run.end_time,
            "lifecycle_stage": run.lifecycle_stage, "parent_run_id": run.parent_run_id,
            "params": dict(run.params), "tags": dict(run.tags),
            "inputs": [i.model_dump(mode="json", by_alias=True) for i in run.inputs],
        }
        return str(self._call("POST", "/runs", json=body)["artifact_uri"])

    def add_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        for start in range(0, len(points), MAX_IMPORT_POINTS):
            chunk = points[start:start + MAX_IMPORT_POINTS]
            self._call("POST", f"/runs/{_segment(run_id, 'run id')}/metrics", json={"metrics": [
                {"key": p.key, "value": _wire_float(p.value), "timestamp": p.timestamp, "step": p.step}
                for p in chunk]})

    def finish_run(self, run_id: str, *, lifecycle_stage: str, source: str,
                   outputs: Sequence[tuple[str, int]] = ()) -> None:
        self._call("POST", f"/runs/{_segment(run_id, 'run id')}/finish", json={
            "lifecycle_stage": lifecycle_stage, "source": source,
            "outputs": [{"model_id": m, "step": s} for m, s in outputs]})

    # ----------------------------------------------------------- logged models
    def put_logged_model(self, model: LoggedModel) -> tuple[str, bool]:
        # Linked metrics are not part of the import (the SQL path does not copy them either).
        body = model.model_dump(mode="json", exclude={"artifact_location", "metrics"})
        answer = self._call("POST", "/logged-models", json=body)
        return str(answer["artifact_location"]), bool(answer["created"])

    # ---------------------------------------------------------------- registry
    def locate(self, source: str) -> tuple[str, str]:
        answer = self._call("GET", "/locate", params={"source": source})
        return str(answer["source"]), str(answer["storage_location"])

    def import_version(self, version: ImportedVersion, *, imported_from: str) -> tuple[ModelVersion, bool]:
        body = {**{k: getattr(version, k) for k in version.__dataclass_fields__}, "imported_from": imported_from}
        body["tags"] = dict(version.tags)
        answer = self._call("POST", "/model-versions", json=body)
        return ModelVersion.model_validate(answer["model_version"]), bool(answer["created"])
