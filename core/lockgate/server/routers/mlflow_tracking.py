"""MLflow's tracking REST API (``/api/2.0/mlflow/...``) over Lockgate's tracking store.

The stock ``mlflow`` client talks to these endpoints unchanged: GET carries fields as query
strings, other methods as JSON bodies, answers follow MLflow's JSON shapes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from lockgate.entities import Dataset, DatasetInput, Metric, Param, RunTag
from lockgate.errors import NotFound
from lockgate.server import mlflow_schemas as s
from lockgate.server.auth.authorizer import Authorizer
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, StoreDep, UserDep
from lockgate.server.responses import EMPTY, json_response, wire_float
from lockgate.server.wire import experiment_json, metrics_json, points_json, run_info_json, run_json
from lockgate.store.base import TrackingStore
from lockgate.store.sql.store import SqlStore

__all__ = ["build_router"]

PARENT_RUN_TAG = "mlflow.parentRunId"


def _paged(key: str, items: list[Any], token: str | None) -> Response:
    body: dict[str, Any] = {key: items}
    if token:
        body["next_page_token"] = token
    return json_response(body)


def build_router() -> APIRouter:
    """The tracking endpoints, without prefix (mounted under /api/2.0/mlflow and /ajax-api/2.0/mlflow)."""
    router = APIRouter(tags=["mlflow tracking"])

    # ------------------------------------------------------------ experiments
    @router.post("/experiments/create")
    def create_experiment(body: s.CreateExperiment, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_EXPERIMENT)
        exp_id = store.create_experiment(
            body.name, artifact_location=body.artifact_location or None, tags={t.key: t.value for t in body.tags}
        )
        authz.created_experiment(exp_id)
        return json_response({"experiment_id": exp_id})

    @router.get("/experiments/get")
    def get_experiment(experiment_id: Annotated[str, Query()], store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_EXPERIMENT, experiment_id)
        return json_response({"experiment": experiment_json(store.get_experiment(experiment_id))})

    @router.get("/experiments/get-by-name")
    def get_experiment_by_name(experiment_name: Annotated[str, Query()], store: StoreDep, authz: AuthzDep) -> Response:
        exp = store.get_experiment_by_name(experiment_name)
        if exp is None:
            raise NotFound(f"Could not find experiment with name {experiment_name!r}.")
        authz.require(Op.GET_EXPERIMENT, exp.experiment_id)
        return json_response({"experiment": experiment_json(exp)})

    def _search_experiments(store: TrackingStore, body: s.SearchExperiments, authz: Authorizer) -> Response:
        authz.require(Op.SEARCH_EXPERIMENTS)
        page = store.search_experiments(
            view_type=body.view_type,
            max_results=body.max_results,
            filter_string=body.filter,
            order_by=body.order_by or None,
            page_token=body.page_token or None,
        )
        return _paged("experiments", [experiment_json(e) for e in authz.visible_experiments(page)], page.token)

    @router.post("/experiments/search")
    def search_experiments(body: s.SearchExperiments, store: StoreDep, authz: AuthzDep) -> Response:
        return _search_experiments(store, body, authz)

    @router.get("/experiments/search")
    def search_experiments_get(
        store: StoreDep,
        authz: AuthzDep,
        max_results: int = 1000,
        page_token: str | None = None,
        filter: str | None = None,
        order_by: Annotated[list[str] | None, Query()] = None,
        view_type: str = "ACTIVE_ONLY",
    ) -> Response:
        body = s.SearchExperiments.model_validate({
            "max_results": max_results, "page_token": page_token, "filter": filter,
            "order_by": order_by or [], "view_type": view_type,
        })
        return _search_experiments(store, body, authz)

    @router.post("/experiments/update")
    def update_experiment(body: s.UpdateExperiment, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.RENAME_EXPERIMENT, body.experiment_id)
        store.rename_experiment(body.experiment_id, body.new_name)
        return json_response(EMPTY)

    @router.post("/experiments/delete")
    def delete_experiment(body: s.ExperimentRef, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_EXPERIMENT, body.experiment_id)
        store.delete_experiment(body.experiment_id)
        return json_response(EMPTY)

    @router.post("/experiments/restore")
    def restore_experiment(body: s.ExperimentRef, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.RESTORE_EXPERIMENT, body.experiment_id)
        store.restore_experiment(body.experiment_id)
        return json_response(EMPTY)

    @router.post("/experiments/set-experiment-tag")
    def set_experiment_tag(body: s.SetExperimentTag, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.SET_EXPERIMENT_TAG, body.experiment_id)
        store.set_experiment_tag(body.experiment_id, body.key, body.value)
        return json_response(EMPTY)

    @router.post("/experiments/delete-experiment-tag")
    def delete_experiment_tag(body: s.DeleteExperimentTag, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_EXPERIMENT_TAG, body.experiment_id)
        store.delete_experiment_tag(body.experiment_id, body.key)
        return json_response(EMPTY)

    # ------------------------------------------------------------------- runs
    @router.post("/runs/create")
    def create_run(body: s.CreateRun, store: StoreDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_RUN, body.experiment_id)
        tags = [RunTag.model_construct(key=t.key, value=t.value) for t in body.tags]
        parent = next((t.value for t in body.tags if t.key == PARENT_RUN_TAG), None)
        run = store.create_run(
            experiment_id=body.experiment_id,
            user_id=user or body.user_id,
            start_time=body.start_time,
            run_name=body.run_name or None,
            tags=tags,
            parent_run_id=parent or None,
        )
        return json_response({"run": run_json(run)})

    @router.get("/runs/get")
    def get_run(
        store: StoreDep,
        authz: AuthzDep,
        run_id: Annotated[str | None, Query()] = None,
        run_uuid: Annotated[str | None, Query()] = None,
    ) -> Response:
        rid = _require_run_id(run_id, run_uuid)
        authz.require(Op.GET_RUN, rid)
        return json_response({"run": run_json(store.get_run(rid))})

    @router.post("/runs/update")
    def update_run(body: s.UpdateRun, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_RUN, body.rid)
        info = store.update_run_info(body.rid, status=body.status, end_time=body.end_time, run_name=body.run_name)
        return json_response({"run_info": run_info_json(info)})

    @router.post("/runs/delete")
    def delete_run(body: s.RunRef, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_RUN, body.rid)
        store.delete_run(body.rid)
        return json_response(EMPTY)

    @router.post("/runs/restore")
    def restore_run(body: s.RunRef, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.RESTORE_RUN, body.rid)
        store.restore_run(body.rid)
        return json_response(EMPTY)

    @router.post("/runs/log-metric")
    def log_metric(body: s.LogMetric, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_BATCH, body.rid)
        metric = Metric.model_construct(key=body.key, value=body.value, timestamp=body.timestamp, step=body.step)
        store.log_batch(body.rid, metrics=[metric])
        return json_response(EMPTY)

    @router.post("/runs/log-parameter")
    def log_param(body: s.LogParam, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_BATCH, body.rid)
        store.log_batch(body.rid, params=[Param.model_construct(key=body.key, value=body.value)])
        return json_response(EMPTY)

    @router.post("/runs/set-tag")
    def set_tag(body: s.SetTag, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_BATCH, body.rid)
        store.log_batch(body.rid, tags=[RunTag.model_construct(key=body.key, value=body.value)])
        return json_response(EMPTY)

    @router.post("/runs/delete-tag")
    def delete_tag(body: s.DeleteTag, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_RUN_TAG, body.rid)
        store.delete_tag(body.rid, body.key)
        return json_response(EMPTY)

    @router.post("/runs/log-batch")
    def log_batch(body: s.LogBatch, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_BATCH, body.rid)
        construct_metric, construct_param, construct_tag = (
            Metric.model_construct,
            Param.model_construct,
            RunTag.model_construct,
        )
        store.log_batch(
            body.rid,
            metrics=[construct_metric(key=m.key, value=m.value, timestamp=m.timestamp, step=m.step) for m in body.metrics],
            params=[construct_param(key=p.key, value=p.value) for p in body.params],
            tags=[construct_tag(key=t.key, value=t.value) for t in body.tags],
        )
        return json_response(EMPTY)

    @router.post("/runs/log-inputs")
    def log_inputs(body: s.LogInputs, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_INPUTS, body.rid)
        datasets = [
            DatasetInput(
                dataset=Dataset(
                    name=d.dataset.name,
                    digest=d.dataset.digest,
                    source_type=d.dataset.source_type,
                    source=d.dataset.source,
                    schema=d.dataset.schema_,
                    profile=d.dataset.profile,
                ),
                tags={t.key: t.value for t in d.tags},
            )
            for d in body.datasets
        ]
        if datasets:
            store.log_inputs(body.rid, datasets)
        else:
            store.get_run(body.rid)
        return json_response(EMPTY)

    @router.post("/runs/search")
    def search_runs(body: s.SearchRuns, store: StoreDep, authz: AuthzDep) -> Response:
        for experiment_id in body.experiment_ids:
            authz.require(Op.SEARCH_RUNS, experiment_id)
        page = store.search_runs(
            body.experiment_ids,
            filter_string=body.filter,
            view_type=body.run_view_type,
            max_results=body.max_results,
            order_by=body.order_by or None,
            page_token=body.page_token or None,
        )
        return _paged("runs", [run_json(r) for r in page], page.token)

    @router.get("/metrics/get-history")
    def get_metric_history(
        store: StoreDep,
        authz: AuthzDep,
        metric_key: Annotated[str, Query()],
        run_id: Annotated[str | None, Query()] = None,
        run_uuid: Annotated[str | None, Query()] = None,
        max_results: Annotated[int | None, Query()] = None,
        page_token: Annotated[str | None, Query()] = None,
    ) -> Response:
        rid = _require_run_id(run_id, run_uuid)
        authz.require(Op.GET_METRIC_HISTORY, rid)
        if isinstance(store, SqlStore):
            # Straight from rows to JSON: a Metric entity per point cost more than the query.
            points, token = store.metric_history_points(
                rid, metric_key, max_results=max_results, page_token=page_token or None
            )
            return _paged("metrics", points_json(metric_key, points), token)
        page = store.get_metric_history(
            rid, metric_key, max_results=max_results, page_token=page_token or None
        )
        return _paged("metrics", metrics_json(page), page.token)

    @router.get("/metrics/get-history-bulk-interval")
    def get_metric_history_bulk_interval(
        store: StoreDep,
        authz: AuthzDep,
        metric_key: Annotated[str, Query(max_length=250)],
        run_ids: Annotated[list[str], Query(max_length=100)],
        start_step: Annotated[int | None, Query(ge=-(2**63), le=2**63 - 1)] = None,
        end_step: Annotated[int | None, Query(ge=-(2**63), le=2**63 - 1)] = None,
        max_results: Annotated[int, Query(ge=1, le=2500)] = 2500,
    ) -> Response:
        """Up to ``max_results`` points per run (min/max per step bucket when there are more)."""
        from lockgate.errors import InvalidArgument
        from lockgate.store.sql.views import sample_metric_histories

        if (start_step is None) != (end_step is None):
            raise InvalidArgument("If either start step or end step are specified, both must be specified.")
        if not run_ids:
            raise InvalidArgument("Missing value for required parameter 'run_ids'.")
        for rid in run_ids:
            authz.require(Op.GET_METRIC_HISTORY, rid)
        series = sample_metric_histories(store, run_ids, [metric_key], x="step", start=start_step,
                                         end=end_step, max_points=max(2, max_results))
        metrics = [
            {"key": item.key, "value": wire_float(p.value), "timestamp": p.timestamp, "step": p.step,
             "run_id": item.run_id}
            for item in series for p in item.points[:max_results]
        ]
        return json_response({"metrics": metrics})

    return router


def _require_run_id(run_id: str | None, run_uuid: str | None) -> str:
    from lockgate.errors import InvalidArgument

    rid = run_id or run_uuid
    if not rid:
        raise InvalidArgument("Missing value for required parameter 'run_id'.")
    return rid

