"""MLflow 3's logged-model endpoints (``/api/2.0/mlflow/logged-models``) and run outputs:
what ``mlflow.<flavor>.log_model`` calls before it uploads a model's files."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, LoggedModelsDep, UserDep
from lockgate.server.mlflow_schemas import Id, KeyValue, LogOutputs
from lockgate.server.responses import EMPTY, json_response, paged_response
from lockgate.server.wire_registry import logged_model_json

__all__ = ["build_router"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateLoggedModel(_Body):
    experiment_id: Id
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class FinalizeLoggedModel(_Body):
    status: str | int


class SetLoggedModelTags(_Body):
    tags: list[KeyValue] = Field(default_factory=list)


class LogLoggedModelParams(_Body):
    params: list[KeyValue] = Field(default_factory=list)


class SearchLoggedModels(_Body):
    experiment_ids: list[Id] = Field(default_factory=list)
    filter: str | None = None
    max_results: int = 100
    page_token: str | None = None


_STATUS_BY_NUMBER = {1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY", 3: "LOGGED_MODEL_UPLOAD_FAILED"}


def build_router(prefix: str = "", *, include_in_schema: bool = True) -> APIRouter:
    """The logged-model endpoints under ``prefix`` (the server uses /api/2.0/mlflow and /ajax-api/2.0/mlflow)."""
    router = APIRouter(prefix=prefix, tags=["mlflow logged models"], include_in_schema=include_in_schema)

    @router.post("/logged-models")
    def create_logged_model(body: CreateLoggedModel, logged: LoggedModelsDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_LOGGED_MODEL, body.experiment_id)
        model = logged.create(
            body.experiment_id,
            name=body.name,
            source_run_id=body.source_run_id,
            model_type=body.model_type,
            tags={t.key: t.value for t in body.tags},
            params={p.key: p.value for p in body.params},
            user_id=user,
        )
        return json_response({"model": logged_model_json(model)})

    @router.post("/logged-models/search")
    def search_logged_models(body: SearchLoggedModels, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        for experiment_id in body.experiment_ids:
            authz.require(Op.SEARCH_LOGGED_MODELS, experiment_id)
        page = logged.search(
            body.experiment_ids, filter_string=body.filter, max_results=body.max_results, page_token=body.page_token
        )
        return paged_response("models", [logged_model_json(m) for m in page], page.token)

    @router.get("/logged-models/{model_id}")
    def get_logged_model(model_id: str, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_LOGGED_MODEL, model_id)
        return json_response({"model": logged_model_json(logged.get(model_id))})

    @router.patch("/logged-models/{model_id}")
    def finalize_logged_model(model_id: str, body: FinalizeLoggedModel, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_LOGGED_MODEL, model_id)
        status = _STATUS_BY_NUMBER.get(body.status, body.status) if isinstance(body.status, int) else body.status
        return json_response({"model": logged_model_json(logged.finalize(model_id, str(status)))})

    @router.delete("/logged-models/{model_id}")
    def delete_logged_model(model_id: str, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_LOGGED_MODEL, model_id)
        logged.delete(model_id)
        return json_response(EMPTY)

    @router.patch("/logged-models/{model_id}/tags")
    def set_logged_model_tags(model_id: str, body: SetLoggedModelTags, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_LOGGED_MODEL, model_id)
        logged.set_tags(model_id, {t.key: t.value for t in body.tags})
        return json_response(EMPTY)

    @router.delete("/logged-models/{model_id}/tags/{tag_key:path}")
    def delete_logged_model_tag(model_id: str, tag_key: str, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_LOGGED_MODEL, model_id)
        logged.delete_tag(model_id, tag_key)
        return json_response(EMPTY)

    @router.post("/logged-models/{model_id}/params")
    def log_logged_model_params(model_id: str, body: LogLoggedModelParams, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_LOGGED_MODEL, model_id)
        logged.log_params(model_id, {p.key: p.value for p in body.params})
        return json_response(EMPTY)

    @router.post("/runs/outputs")
    def log_outputs(body: LogOutputs, logged: LoggedModelsDep, authz: AuthzDep) -> Response:
        authz.require(Op.LOG_OUTPUTS, body.rid)
        from lockgate.store.logged_models import RunOutput

        logged.log_outputs(body.rid, [RunOutput(model_id=m.model_id, step=m.step) for m in body.models])
        return json_response(EMPTY)

    return router
