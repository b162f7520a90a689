"""Lockgate's native API under ``/api/v1``: the tracking store's protocol, one endpoint per call.

``RestStore`` speaks exactly this API, so every ``LockgateClient`` call works the same over
HTTP as in-process. Response models document the shapes in the OpenAPI document; handlers
return pre-serialized JSON so those models cost nothing at run time.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from lockgate.entities import DatasetInput, Experiment, Metric, Param, Run, RunInfo, RunTag
from lockgate.errors import NotFound
from lockgate.server import native_schemas as s
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, StoreDep, UserDep
from lockgate.server.responses import EMPTY, json_response, wire_float

__all__ = ["build_router", "experiment_public", "run_info_public", "run_public"]


def experiment_public(exp: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "artifact_location": exp.artifact_location,
        "lifecycle_stage": exp.lifecycle_stage.value,
        "tags": exp.tags,
        "creation_time": exp.creation_time,
        "last_update_time": exp.last_update_time,
    }


def run_info_public(info: RunInfo) -> dict[str, Any]:
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "user_id": info.user_id,
        "status": info.status.value,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "lifecycle_stage": info.lifecycle_stage.value,
        "artifact_uri": info.artifact_uri,
        "parent_run_id": info.parent_run_id,
    }


def _dataset_input_public(item: DatasetInput) -> dict[str, Any]:
    return item.model_dump(mode="json", by_alias=True)


def run_public(run: Run) -> dict[str, Any]:
    data = run.data
    return {
        "info": run_info_public(run.info),
        "data": {
            "metrics": {k: wire_float(v) for k, v in data.metrics.items()},
            "metric_points": data.metric_points,
            "params": data.params,
            "tags": data.tags,
        },
        "inputs": {"dataset_inputs": [_dataset_input_public(d) for d in run.inputs.dataset_inputs]},
    }


def _page(items: list[Any], token: str | None) -> Response:
    return json_response({"items": items, "next_page_token": token})


def build_router(prefix: str = "") -> APIRouter:
    """The native tracking endpoints under ``prefix`` (the server uses /api/v1)."""
    router = APIRouter(prefix=prefix)
    exp_tag: list[str | Enum] = ["experiments"]
    run_tag: list[str | Enum] = ["runs"]

    # ------------------------------------------------------------ experiments
    @router.post("/experiments", tags=exp_tag, response_model=s.ExperimentCreated,
                 summary="Create an experiment; the name must be new")
    def create_experiment(body: s.ExperimentCreate, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_EXPERIMENT)
        exp_id = store.create_experiment(body.name, artifact_location=body.artifact_location, tags=body.tags)
        authz.created_experiment(exp_id)
        return json_response({"experiment_id": exp_id})

    @router.get("/experiments/by-name", tags=exp_tag, response_model=s.ExperimentPublic,
                summary="The experiment with this name (404 if none)")
    def get_experiment_by_name(name: Annotated[str, Query()], store: StoreDep, authz: AuthzDep) -> Response:
        exp = store.get_experiment_by_name(name)
        if exp is None:
            raise NotFound(f"No experiment named {name!r}.")
        authz.require(Op.GET_EXPERIMENT, exp.experiment_id)
        return json_response(experiment_public(exp))

    @router.post("/experiments/search", tags=exp_tag, response_model=s.ExperimentsPage,
                 summary="One page of experiments matching a filter")
    def search_experiments(body: s.ExperimentSearch, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.SEARCH_EXPERIMENTS)
        page = store.search_experiments(
            view_type=body.view_type,
            max_results=body.max_results,
            filter_string=body.filter_string,
            order_by=body.order_by,
            page_token=body.page_token,
        )
        return _page([experiment_public(e) for e in authz.visible_experiments(page)], page.token)

    @router.get("/experiments/{experiment_id}", tags=exp_tag, response_model=s.ExperimentPublic,
                summary="An experiment by id")
    def get_experiment(experiment_id: str, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_EXPERIMENT, experiment_id)
        return json_response(experiment_public(store.get_experiment(experiment_id)))

    @router.patch("/experiments/{experiment_id}", tags=exp_tag, response_model=s.Empty,
                  summary="Rename an experiment")
    def rename_experiment(experiment_id: str, body: s.ExperimentUpdate, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.RENAME_EXPERIMENT, experiment_id)
        store.rename_experiment(experiment_id, body.name)
        return json_response(EMPTY)

    @router.delete("/experiments/{experiment_id}", tags=exp_tag, response_model=s.Empty,
                   summary="Soft-delete an experiment and its runs")
    def delete_experiment(experiment_id: str, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_EXPERIMENT, experiment_id)
        store.delete_experiment(experiment_id)
        return json_response(EMPTY)

    @router.post("/experiments/{experiment_id}/restore", tags=exp_tag, response_model=s.Empty,
                 summary="Restore a soft-deleted experiment and its runs")
    def restore_experiment(experiment_id: str, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.RESTORE_EXPERIMENT, experiment_id)
        store.restore_experiment(experiment_id)
        return json_response(EMPTY)

    @router.post("/experiments/{experiment_id}/tags", tags=exp_tag, response_model=s.Empty,
                 summary="Set (or overwrite) an experiment tag")
    def set_experiment_tag(experiment_id: str, body: s.KeyValue, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.SET_EXPERIMENT_TAG, experiment_id)
        store.set_experiment_tag(experiment_id, body.key, body.value)
        return json_response(EMPTY)

    @router.delete("/experiments/{experiment_id}/tags", tags=exp_tag, response_model=s.Empty,
                   summary="Delete an experiment tag")
    def delete_experiment_tag(
        experiment_id: str, key: Annotated[str, Query()], store: StoreDep, authz: AuthzDep
    ) -> Response:
        authz.require(Op.DELETE_EXPERIMENT_TAG, experiment_id)
        store.delete_experiment_tag(experiment_id, key)
        return json_response(EMPTY)

    # ------------------------------------------------------------------- runs
    @router.post("/runs", tags=run_tag, response_model=s.RunPublic, summary="Start a run in an experiment")
    def create_run(body: s.RunCreate, store: StoreDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_RUN, body.experiment_id)
        run = store.create_run(
            experiment_id=body.experiment_id,
            user_id=user or body.user_id,
            start_time=body.start_time,
            run_name=body.run_name,
            tags=[RunTag.model_construct(key=t.key, value=t.value) for t in body.tags],
            parent_run_id=body.parent_run_id,
        )
        return json_response(run_public(run))

    @router.post("/runs/search", tags=run_tag, response_model=s.RunsPage,
                 summary="One page of runs matching an MLflow-style filter")
    def search_runs(body: s.RunSearch, store: StoreDep, authz: AuthzDep) -> Response:
        for experiment_id in body.experiment_ids:
            authz.require(Op.SEARCH_RUNS, experiment_id)
        projection: dict[str, Any] = {}
        if body.columns is not None:
            from lockgate.store.projection import RunColumns

            projection["columns"] = RunColumns(params=body.columns.params, metrics=body.columns.metrics,
                                               tags=body.columns.tags)
        page = store.search_runs(
            body.experiment_ids,
            filter_string=body.filter_string,
            view_type=body.view_type,
            max_results=body.max_results,
            order_by=body.order_by,
            page_token=body.page_token,
            **projection,
        )
        return _page([run_public(r) for r in page], page.token)

    @router.get("/runs/{run_id}", tags=run_tag, response_model=s.RunPublic,
                summary="A run with its latest metrics, params, tags and inputs")
    def get_run(run_id: str, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_RUN, run_id)
        return json_response(run_public(store.get_run(run_id)))

    @router.patch("/runs/{run_id}", tags=run_tag, response_model=s.RunInfoPublic,
                  summary="Change a run's status, end time or name")
    def update_run(run_id: str, body: s.RunUpdate, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_RUN, run_id)
        info = store.update_run_info(run_id, status=body.status, end_time=body.end_time, run_name=body.run_name)
        return json_response(run_info_public(info))

    @router.delete("/runs/{run_id}", tags=run_tag, response_model=s.Empty, summary="Soft-delete a run")
    def delete_run(run_id: str, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_RUN, run_id)
        store.delete_run(run_id)
        return json_response(EMPTY)

    @router.post("/runs/{run_id}/restore", tags=run_tag, response_model=s.Empty,
                 summary="Restore a soft-deleted run")
    def restore_run(run_id: str, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.RESTORE_RUN, run_id)
        store.restore_run(run_id)
        return json_response(EMPTY)

    @router.post("/runs/{run_id}/batch", tags=run_tag, response_model=s.Empty,
                 summary="Log metrics, params and tags at once (at most 1000 / 100 / 100)")
    def log_batch(run_id: str, body: s.BatchLog, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_BATCH, run_id)
        store.log_batch(
            run_id,
            metrics=[
                Metric.model_construct(key=m.key, value=m.value, timestamp=m.timestamp, step=m.step)
                for m in body.metrics
            ],
            params=[Param.model_construct(key=p.key, value=p.value) for p in body.params],
            tags=[RunTag.model_construct(key=t.key, value=t.value) for t in body.tags],
        )
        return json_response(EMPTY)

    @router.delete("/runs/{run_id}/tags", tags=run_tag, response_model=s.Empty, summary="Delete a run tag")
    def delete_tag(run_id: str, key: Annotated[str, Query()], store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_RUN_TAG, run_id)
        store.delete_tag(run_id, key)
        return json_response(EMPTY)

    @router.get("/runs/{run_id}/metric-history", tags=run_tag, response_model=s.MetricsPage,
                summary="Every point of a metric, by step then timestamp (paged if max_results is set)")
    def get_metric_history(
        run_id: str,
        key: Annotated[str, Query()],
        store: StoreDep,
        authz: AuthzDep,
        max_results: Annotated[int | None, Query(ge=1, le=2**31)] = None,
        page_token: Annotated[str | None, Query()] = None,
    ) -> Response:
        authz.require(Op.GET_METRIC_HISTORY, run_id)
        page = store.get_metric_history(run_id, key, max_results=max_results, page_token=page_token)
        items = [{"key": m.key, "value": wire_float(m.value), "timestamp": m.timestamp, "step": m.step} for m in page]
        return _page(items, page.token)

    @router.post("/runs/{run_id}/inputs", tags=run_tag, response_model=s.Empty,
                 summary="Record datasets the run used")
    def log_inputs(run_id: str, body: s.InputsLog, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_INPUTS, run_id)
        store.log_inputs(run_id, body.datasets)
        return json_response(EMPTY)

    # --------------------------------------------------------------------- gc
    @router.post("/gc", tags=["maintenance"], response_model=s.GcResult,
                 summary="Permanently delete soft-deleted runs and experiments (admin)")
    def gc(body: s.GcRequest, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.GARBAGE_COLLECT)
        removed = store.gc(older_than_ms=body.older_than_ms, run_ids=body.run_ids, experiment_ids=body.experiment_ids)
        return json_response({"runs": [run_public(r) for r in removed]})

    return router
