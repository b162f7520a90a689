"""``/api/v1/import``: the id-preserving import path, for importers that reach Lockgate by URL.

Each route calls ``SqlImportRows`` (``lockgate.store.sql.importing``), the same code an
import on the database URL runs in-process, so resuming and skipping behave identically.
The routes write runs with given ids, times and statuses: admins only when auth is on
(``import_records``). Request bodies are bounded (points per batch, params and tags per
run) on top of the server's request-size limit.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from lockgate.entities import DatasetInput, LifecycleStage, RunStatus
from lockgate.errors import InvalidArgument
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, StoreDep
from lockgate.server.native_schemas import Empty, Int64, MetricIn
from lockgate.server.responses import EMPTY, json_response
from lockgate.store.importing import MAX_IMPORT_POINTS, ImportedRun, ImportedVersion
from lockgate.store.logged_models import LoggedModelStatus
from lockgate.store.validation import MAX_DATASETS_PER_REQUEST

__all__ = ["MAX_IMPORT_ITEMS", "build_router"]

#: Params or tags of one imported run (or logged model, or version) per request.
MAX_IMPORT_ITEMS = 100_000
_Label = Annotated[str, Field(min_length=1, max_length=1000)]
_Tags = Annotated[dict[str, str], Field(default_factory=dict, max_length=MAX_IMPORT_ITEMS)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportExperiment(_In):
    """Create (keeping ``source_id`` when it is free) or adopt an experiment, with its tags."""

    name: str
    source_id: str | None = None
    existing_id: str | None = None
    tags: _Tags


class ImportExperimentLifecycle(_In):
    lifecycle_stage: LifecycleStage
    creation_time: Int64 | None = None


class ImportRunBegin(_In):
    """A run as the source had it (``RunState``'s protocol: begin, metrics, finish)."""

    run_id: str
    experiment_id: str
    name: str
    user_id: str = ""
    status: RunStatus
    start_time: Int64
    end_time: Int64 | None = None
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    parent_run_id: str | None = None
    params: _Tags
    tags: _Tags
    inputs: list[DatasetInput] = Field(default_factory=list, max_length=MAX_DATASETS_PER_REQUEST)


class ImportMetrics(_In):
    metrics: list[MetricIn] = Field(max_length=MAX_IMPORT_POINTS)


class ImportOutput(_In):
    model_id: str
    step: Int64 = 0


class ImportRunFinish(_In):
    lifecycle_stage: LifecycleStage
    source: _Label
    outputs: list[ImportOutput] = Field(default_factory=list, max_length=MAX_IMPORT_ITEMS)


class ImportLoggedModel(_In):
    model_id: Annotated[str, Field(pattern=r"^m-[0-9a-f]+$", max_length=64)]
    experiment_id: str
    name: str
    creation_timestamp: Int64
    last_updated_timestamp: Int64
    status: LoggedModelStatus = LoggedModelStatus.READY
    status_message: str | None = None
    source_run_id: str | None = None
    model_type: str | None = None
    creator_id: str = ""
    tags: _Tags
    params: _Tags


class ImportModelVersion(_In):
    name: str
    version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]
    source: str
    run_id: str | None = None
    status: str = "READY"
    stage: str = "None"
    description: str | None = None
    user_id: str = ""
    run_link: str | None = None
    tags: _Tags
    creation_time: Int64 | None = None
    last_updated_time: Int64 | None = None
    imported_from: _Label


class ImportedExperimentPublic(BaseModel):
    experiment_id: str


class CountPublic(BaseModel):
    count: int


class RunStatePublic(BaseModel):
    state: str


class RunBegunPublic(BaseModel):
    artifact_uri: str


class LoggedModelPutPublic(BaseModel):
    artifact_location: str
    created: bool


class LocatedPublic(BaseModel):
    source: str
    storage_location: str


class VersionImportedPublic(BaseModel):
    model_version: dict[str, Any]
    created: bool


def _rows(store: Any) -> Any:
    from lockgate.store.sql.importing import SqlImportRows
    from lockgate.store.sql.store import SqlStore

    if not isinstance(store, SqlStore):  # pragma: no cover - a server always runs on SQL
        raise InvalidArgument("This server's store does not take imports.")
    return SqlImportRows(store)


def build_router(prefix: str = "") -> APIRouter:
    """The import endpoints under ``prefix``/import (the server uses /api/v1)."""
    router = APIRouter(prefix=prefix + "/import")
    tags: list[str | Enum] = ["import"]

    @router.get("/check", tags=tags, response_model=Empty,
                summary="Whether the caller may import here (an admin when auth is on)")
    def check(authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        return json_response(EMPTY)

    @router.post("/experiments", tags=tags, response_model=ImportedExperimentPublic,
                 summary="Create an experiment keeping its source id when free, or adopt one; set its tags")
    def adopt_experiment(body: ImportExperiment, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        if body.existing_id is not None:
            store.get_experiment(body.existing_id)
        exp_id = _rows(store).adopt_experiment(body.name, source_id=body.source_id, tags=body.tags,
                                               existing_id=body.existing_id)
        return json_response({"experiment_id": exp_id})

    @router.get("/experiments/{experiment_id}/native-run-count", tags=tags, response_model=CountPublic,
                summary="How many runs of the experiment were not imported")
    def native_run_count(experiment_id: str, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        store.get_experiment(experiment_id)  # NotFound (or a bad id) named before counting
        return json_response({"count": _rows(store).native_run_count(experiment_id)})

    @router.post("/experiments/{experiment_id}/lifecycle", tags=tags, response_model=Empty,
                 summary="Give an imported experiment the source's lifecycle and creation time")
    def set_lifecycle(experiment_id: str, body: ImportExperimentLifecycle, store: StoreDep,
                      authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        _rows(store).set_experiment_lifecycle(experiment_id, body.lifecycle_stage.value,
                                              creation_time=body.creation_time)
        return json_response(EMPTY)

    @router.get("/runs/state", tags=tags, response_model=RunStatePublic,
                summary="Whether a run is absent, partially imported or complete")
    def run_state(run_id: Annotated[str, Query(max_length=64)], store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        return json_response({"state": _rows(store).run_state(run_id).value})

    @router.post("/runs", tags=tags, response_model=RunBegunPublic,
                 summary="Write a run keeping its id, status and times (a partial one is reset)")
    def begin_run(body: ImportRunBegin, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        uri = _rows(store).begin_run(ImportedRun(
            run_id=body.run_id, experiment_id=body.experiment_id, name=body.name, user_id=body.user_id,
            status=body.status.value, start_time=body.start_time, end_time=body.end_time,
            lifecycle_stage=body.lifecycle_stage.value, parent_run_id=body.parent_run_id,
            params=body.params, tags=body.tags, inputs=body.inputs))
        return json_response({"artifact_uri": uri})

    @router.post("/runs/{run_id}/metrics", tags=tags, response_model=Empty,
                 summary=f"Append up to {MAX_IMPORT_POINTS:,} metric points to a run being imported")
    def add_metrics(run_id: str, body: ImportMetrics, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        rows = _rows(store)
        if rows.run_state(run_id).value != "partial":
            raise InvalidArgument(f"Run {run_id} is not being imported: begin it first (POST /import/runs).")
        rows.add_metrics(run_id, body.metrics)
        return json_response(EMPTY)

    @router.post("/runs/{run_id}/finish", tags=tags, response_model=Empty,
                 summary="Set the run's final lifecycle and outputs, and mark its import complete")
    def finish_run(run_id: str, body: ImportRunFinish, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        rows = _rows(store)
        if rows.run_state(run_id).value == "absent":
            raise InvalidArgument(f"Run {run_id} is not being imported: begin it first (POST /import/runs).")
        rows.finish_run(run_id, lifecycle_stage=body.lifecycle_stage.value, source=body.source,
                        outputs=[(o.model_id, o.step) for o in body.outputs])
        return json_response(EMPTY)

    @router.post("/logged-models", tags=tags, response_model=LoggedModelPutPublic,
                 summary="Insert a logged model under its own id, or keep the one here; set tags and params")
    def put_logged_model(body: ImportLoggedModel, store: StoreDep, authz: AuthzDep) -> Response:
        from lockgate.store.logged_models import LoggedModel

        authz.require(Op.IMPORT_RECORDS)
        store.get_experiment(body.experiment_id)
        location, created = _rows(store).put_logged_model(LoggedModel(artifact_location="", **body.model_dump()))
        return json_response({"artifact_location": location, "created": created})

    @router.get("/locate", tags=tags, response_model=LocatedPublic,
                summary="The source and storage location a model version with this source gets here")
    def locate(source: Annotated[str, Query(max_length=4096)], store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        kept, location = _rows(store).locate(source)
        return json_response({"source": kept, "storage_location": location})

    @router.post("/model-versions", tags=tags, response_model=VersionImportedPublic,
                 summary="A model version under its own number, or the one already holding it")
    def import_version(body: ImportModelVersion, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.IMPORT_RECORDS)
        fields = body.model_dump(exclude={"imported_from"})
        made, created = _rows(store).import_version(ImportedVersion(**fields), imported_from=body.imported_from)
        return json_response({"model_version": made.model_dump(mode="json"), "created": created})

    return router
