"""MLflow's tracking REST API (``/api/2.0/mlflow/...``) over Lockgate's tracking store.

The stock ``mlflow`` client talks to these endpoints unchanged: GET carries fields as query
strings, other methods as JSON bodies, answers follow MLflow's JSON shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from lockgate.entities import Dataset, DatasetInput, Metric, Param, RunTag, metrics_from_values
from lockgate.errors import NotFound
from lockgate.server import mlflow_schemas as s
from lockgate.server.auth.authorizer import Authorizer
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, LoggedModelsDep, StoreDep, UserDep
from lockgate.server.responses import EMPTY, json_response, paged_response
from lockgate.server.wire import (
    experiment_json,
    mlflow_value,
    run_info_json,
    run_json,
)
from lockgate.store.base import TrackingStore

__all__ = ["build_router"]

PARENT_RUN_TAG = "mlflow.parentRunId"


def build_router(prefix: str = "", *, include_in_schema: bool = True) -> APIRouter:
    """The tracking endpoints under ``prefix`` (the server uses /api/2.0/mlflow and /ajax-api/2.0/mlflow)."""
    router = APIRouter(prefix=prefix, tags=["mlflow tracking"], include_in_schema=include_in_schema)

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
        return paged_response("experiments", [experiment_json(e) for e in authz.visible_experiments(page)], page.token)

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
        logged: LoggedModelsDep,
        authz: AuthzDep,
        run_id: Annotated[str | None, Query()] = None,
        run_uuid: Annotated[str | None, Query()] = None,
    ) -> Response:
        rid = _require_run_id(run_id, run_uuid)
        authz.require(Op.GET_RUN, rid)
        return json_response({"run": _with_outputs(logged, [run_json(store.get_run(rid))])[0]})

    @router.post("/runs/update")
    def update_run(body: s.UpdateRun, store: StoreDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_RUN, body.rid)
        # As MLflow: an empty run name leaves the name as it is.
        info = store.update_run_info(body.rid, status=body.status, end_time=body.end_time,
                                     run_name=body.run_name or None)
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
    def log_metric(body: s.LogMetric, store: StoreDep, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_BATCH, body.rid)
        metric = Metric.model_construct(key=body.key, value=body.value, timestamp=body.timestamp, step=body.step)
        linked = _model_links(body.rid, [body])
        if not (linked and logged.points_already_logged(body.rid, linked)):
            store.log_batch(body.rid, metrics=[metric])
        if linked:
            logged.log_metrics(body.rid, linked)
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
    def log_batch(body: s.LogBatch, store: StoreDep, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_BATCH, body.rid)
        construct_param, construct_tag = Param.model_construct, RunTag.model_construct
        metrics = body.metrics
        linked = _model_links(body.rid, metrics)
        if linked:  # points re-sent only to link them to a model are not logged to the run again
            with_model = [m for m in metrics if m.model_id]  # in the order of ``linked``
            held = {id(with_model[i]) for i in logged.points_already_logged(body.rid, linked)}
            metrics = [m for m in metrics if id(m) not in held]
        store.log_batch(
            body.rid,
            metrics=metrics_from_values([(m.key, m.value, m.timestamp, m.step) for m in metrics]),
            params=[construct_param(key=p.key, value=p.value) for p in body.params],
            tags=[construct_tag(key=t.key, value=t.value) for t in body.tags],
        )
        if linked:
            logged.log_metrics(body.rid, linked)
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
        from lockgate.store.sql.run_pages import mlflow_run_page

        # Straight from rows to JSON, as the history: an entity per run cost more than the
        # queries. The page carries its logged-model outputs (read on the same connection).
        runs, token = mlflow_run_page(
            store,
            body.experiment_ids,
            filter_string=body.filter,
            view_type=body.run_view_type,
            max_results=body.max_results,
            order_by=body.order_by or None,
            page_token=body.page_token or None,
        )
        return paged_response("runs", runs, token)

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
        from lockgate.store.sql.metric_history import mlflow_history_json

        rid = _require_run_id(run_id, run_uuid)
        authz.require(Op.GET_METRIC_HISTORY, rid)
        # Straight from rows to JSON: a Metric entity per point cost more than the query.
        points, token = mlflow_history_json(store, rid, metric_key, max_results=max_results,
                                            page_token=page_token or None)
        return paged_response("metrics", points, token)

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
        """Up to ``max_results`` evenly spaced points per run, first and last included (MLflow's sampling)."""
        from lockgate.errors import InvalidArgument
        from lockgate.store.sql.sampling import evenly_sampled_histories

        if not run_ids:
            raise InvalidArgument("Missing value for required parameter 'run_ids'.")
        for rid in run_ids:
            authz.require(Op.GET_METRIC_HISTORY, rid)
        sampled = evenly_sampled_histories(store, run_ids, metric_key, max_results=max_results,
                                           start_step=start_step, end_step=end_step)
        metrics = [
            {"key": metric_key, "value": mlflow_value(p.value), "timestamp": p.timestamp, "step": p.step,
             "run_id": run_id}
            for run_id, points in sampled for p in points
        ]
        return json_response({"metrics": metrics})

    return router


def _model_links(run_id: str, metrics: Sequence[s.LogMetric | s.MetricIn]) -> list[Any]:
    """The metrics that name a logged model, as links to it (MLflow 3's server stores them)."""
    from lockgate.store.logged_models import LoggedModelMetric

    return [
        LoggedModelMetric(key=m.key, value=m.value, timestamp=m.timestamp, step=m.step, run_id=run_id,
                          model_id=m.model_id, dataset_name=m.dataset_name or None,
                          dataset_digest=m.dataset_digest or None)
        for m in metrics if m.model_id
    ]


def _with_outputs(logged: Any, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs' MLflow JSON with the logged models they produced (``outputs.model_outputs``): the
    client reads them to link later metrics to those models."""
    outputs = logged.outputs_of_runs([r["info"]["run_id"] for r in runs]) if runs else {}
    for run in runs:
        produced = outputs.get(run["info"]["run_id"])
        if produced:
            run["outputs"] = {"model_outputs": [{"model_id": o.model_id, "step": o.step} for o in produced]}
    return runs


def _require_run_id(run_id: str | None, run_uuid: str | None) -> str:
    from lockgate.errors import InvalidArgument

    rid = run_id or run_uuid
    if not rid:
        raise InvalidArgument("Missing value for required parameter 'run_id'.")
    return rid

