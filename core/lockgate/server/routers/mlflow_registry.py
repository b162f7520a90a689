"""MLflow's model registry REST API over Lockgate's registry service.

Stage transitions and alias moves go through the same gate policies as every other caller:
a refused move changes nothing and answers 400 INVALID_STATE whose message lists each failing
rule's verdict (the full decision travels in ``details``).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from lockgate.errors import InvalidArgument, NotFound
from lockgate.registry.base import ModelRegistry
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, LoggedModelsDep, RegistryDep, UserDep
from lockgate.server.mlflow_schemas import Id, KeyValue
from lockgate.server.responses import EMPTY, json_response, paged_response
from lockgate.server.wire_registry import model_version_json, registered_model_json
from lockgate.store.sql.logged_models import SqlLoggedModels

__all__ = ["build_router"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateRegisteredModel(_Body):
    name: str
    tags: list[KeyValue] = Field(default_factory=list)
    description: str | None = None


class NameRef(_Body):
    name: str


class RenameRegisteredModel(_Body):
    name: str
    new_name: str


class UpdateRegisteredModel(_Body):
    name: str
    description: str | None = None


class NameTag(_Body):
    name: str
    key: str
    value: str = ""


class NameKey(_Body):
    name: str
    key: str


class GetLatestVersions(_Body):
    name: str
    stages: list[str] = Field(default_factory=list)


class CreateModelVersion(_Body):
    name: str
    source: str
    run_id: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)
    run_link: str | None = None
    description: str | None = None
    model_id: str | None = None


class VersionRef(_Body):
    name: str
    version: Id


class UpdateModelVersion(_Body):
    name: str
    version: Id
    description: str | None = None


class VersionTag(_Body):
    name: str
    version: Id
    key: str
    value: str = ""


class VersionKey(_Body):
    name: str
    version: Id
    key: str


class TransitionStage(_Body):
    name: str
    version: Id
    stage: str
    archive_existing_versions: bool = False


class SetAlias(_Body):
    name: str
    alias: str
    version: Id


class AliasRef(_Body):
    name: str
    alias: str


def _resolve_source(logged: SqlLoggedModels, body: CreateModelVersion) -> tuple[str, str | None]:
    """(source, run id): a logged model (MLflow 3 ``models:/m-...``) stands for its artifact
    location and the run that logged it."""
    model_id = body.model_id or (body.source[len("models:/"):] if body.source.startswith("models:/m-") else None)
    if not model_id:
        return body.source, body.run_id or None
    model = logged.get(model_id)
    return str(model.artifact_location), body.run_id or model.source_run_id


_PROMPT_CLAUSE = re.compile(
    r"""\s*(?:\band\b\s*)?tags?\.`?mlflow\.prompt\.is_prompt`?\s*!=\s*['"]true['"]\s*(?:\band\b)?""", re.IGNORECASE
)


def _registry_filter(text: str | None) -> str | None:
    """The mlflow client adds "tag.`mlflow.prompt.is_prompt` != 'true'" to every model search;
    Lockgate has no prompts, so that clause holds for every model and is dropped."""
    if not text:
        return text
    cleaned = _PROMPT_CLAUSE.sub(" ", text).strip()
    cleaned = re.sub(r"^(?:and\s+)|(?:\s+and)$", "", cleaned, flags=re.IGNORECASE).strip()
    return cleaned or None


def build_router(prefix: str = "", *, include_in_schema: bool = True) -> APIRouter:
    """The registry endpoints under ``prefix`` (the server uses /api/2.0/mlflow and /ajax-api/2.0/mlflow)."""
    router = APIRouter(prefix=prefix, tags=["mlflow registry"], include_in_schema=include_in_schema)

    # ------------------------------------------------------- registered models
    @router.post("/registered-models/create")
    def create_registered_model(body: CreateRegisteredModel, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_REGISTERED_MODEL)
        rm = reg.create_registered_model(
            body.name, description=body.description, tags={t.key: t.value for t in body.tags}, actor=user
        )
        authz.created_model(rm.name)
        return json_response({"registered_model": registered_model_json(rm)})

    @router.get("/registered-models/get")
    def get_registered_model(name: Annotated[str, Query()], reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_REGISTERED_MODEL, name)
        return json_response({"registered_model": registered_model_json(reg.get_registered_model(name))})

    @router.post("/registered-models/rename")
    def rename_registered_model(body: RenameRegisteredModel, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.RENAME_REGISTERED_MODEL, body.name)
        rm = reg.rename_registered_model(body.name, body.new_name, actor=user)
        return json_response({"registered_model": registered_model_json(rm)})

    @router.patch("/registered-models/update")
    def update_registered_model(body: UpdateRegisteredModel, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_REGISTERED_MODEL, body.name)
        rm = reg.update_registered_model(body.name, description=body.description, actor=user)
        return json_response({"registered_model": registered_model_json(rm)})

    @router.delete("/registered-models/delete")
    def delete_registered_model(body: NameRef, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_REGISTERED_MODEL, body.name)
        reg.delete_registered_model(body.name, actor=user)
        return json_response(EMPTY)

    @router.get("/registered-models/search")
    def search_registered_models(
        reg: RegistryDep,
        authz: AuthzDep,
        filter: str | None = None,
        max_results: int = 100,
        order_by: Annotated[list[str] | None, Query()] = None,
        page_token: str | None = None,
    ) -> Response:
        authz.require(Op.SEARCH_REGISTERED_MODELS)
        page = reg.search_registered_models(
            filter_string=_registry_filter(filter), max_results=max_results, order_by=order_by, page_token=page_token
        )
        return paged_response("registered_models", [registered_model_json(r) for r in authz.visible_models(page)],
                              page.token)

    def _latest(reg: ModelRegistry, name: str, stages: list[str]) -> Response:
        versions = reg.get_latest_versions(name, stages=stages or None)
        return json_response({"model_versions": [model_version_json(v) for v in versions]})

    @router.post("/registered-models/get-latest-versions")
    def get_latest_versions(body: GetLatestVersions, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_REGISTERED_MODEL, body.name)
        return _latest(reg, body.name, body.stages)

    @router.get("/registered-models/get-latest-versions")
    def get_latest_versions_get(
        name: Annotated[str, Query()],
        reg: RegistryDep,
        authz: AuthzDep,
        stages: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        authz.require(Op.GET_REGISTERED_MODEL, name)
        return _latest(reg, name, stages or [])

    @router.post("/registered-models/set-tag")
    def set_registered_model_tag(body: NameTag, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.SET_REGISTERED_MODEL_TAG, body.name)
        reg.set_registered_model_tag(body.name, body.key, body.value, actor=user)
        return json_response(EMPTY)

    @router.delete("/registered-models/delete-tag")
    def delete_registered_model_tag(body: NameKey, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_REGISTERED_MODEL_TAG, body.name)
        reg.delete_registered_model_tag(body.name, body.key, actor=user)
        return json_response(EMPTY)

    # --------------------------------------------------------- model versions
    @router.post("/model-versions/create")
    def create_model_version(
        body: CreateModelVersion, reg: RegistryDep, logged: LoggedModelsDep, user: UserDep, authz: AuthzDep
    ) -> Response:
        authz.require(Op.CREATE_MODEL_VERSION, body.name)
        if body.run_id:
            authz.require(Op.GET_RUN, body.run_id)
        _check_runs_source(body.source, body.run_id)
        source, run_id = _resolve_source(logged, body)
        mv = reg.create_model_version(
            body.name,
            source=source,
            run_id=run_id,
            tags={t.key: t.value for t in body.tags},
            run_link=body.run_link,
            description=body.description,
            actor=user,
        )
        return json_response({"model_version": model_version_json(mv)})

    @router.get("/model-versions/get")
    def get_model_version(
        name: Annotated[str, Query()], version: Annotated[str, Query()], reg: RegistryDep, authz: AuthzDep
    ) -> Response:
        authz.require(Op.GET_MODEL_VERSION, name)
        return json_response({"model_version": model_version_json(reg.get_model_version(name, version))})

    @router.patch("/model-versions/update")
    def update_model_version(body: UpdateModelVersion, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_MODEL_VERSION, body.name)
        mv = reg.update_model_version(body.name, body.version, description=body.description, actor=user)
        return json_response({"model_version": model_version_json(mv)})

    @router.delete("/model-versions/delete")
    def delete_model_version(body: VersionRef, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_MODEL_VERSION, body.name)
        reg.delete_model_version(body.name, body.version, actor=user)
        return json_response(EMPTY)

    @router.get("/model-versions/search")
    def search_model_versions(
        reg: RegistryDep,
        authz: AuthzDep,
        filter: str | None = None,
        max_results: int = 1000,
        order_by: Annotated[list[str] | None, Query()] = None,
        page_token: str | None = None,
    ) -> Response:
        authz.require(Op.SEARCH_MODEL_VERSIONS)
        page = reg.search_model_versions(
            filter_string=_registry_filter(filter), max_results=max_results, order_by=order_by, page_token=page_token
        )
        return paged_response("model_versions", [model_version_json(v) for v in authz.visible_models(page)],
                              page.token)

    @router.get("/model-versions/get-download-uri")
    def get_download_uri(
        name: Annotated[str, Query()], version: Annotated[str, Query()], reg: RegistryDep, authz: AuthzDep
    ) -> Response:
        authz.require(Op.GET_MODEL_VERSION, name)
        return json_response({"artifact_uri": reg.get_model_version_download_uri(name, version)})

    @router.post("/model-versions/transition-stage")
    def transition_stage(body: TransitionStage, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.MOVE_ALIAS_OR_STAGE, body.name)
        mv = reg.transition_model_version_stage(
            body.name,
            body.version,
            body.stage,
            archive_existing_versions=body.archive_existing_versions,
            actor=user,
            privileged=authz.privileged(body.name),
        )
        return json_response({"model_version": model_version_json(mv)})

    @router.post("/model-versions/set-tag")
    def set_model_version_tag(body: VersionTag, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.SET_MODEL_VERSION_TAG, body.name)
        reg.set_model_version_tag(body.name, body.version, body.key, body.value, actor=user)
        return json_response(EMPTY)

    @router.delete("/model-versions/delete-tag")
    def delete_model_version_tag(body: VersionKey, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_MODEL_VERSION_TAG, body.name)
        reg.delete_model_version_tag(body.name, body.version, body.key, actor=user)
        return json_response(EMPTY)

    # ---------------------------------------------------------------- aliases
    @router.post("/registered-models/alias")
    def set_alias(body: SetAlias, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.MOVE_ALIAS_OR_STAGE, body.name)
        reg.set_registered_model_alias(
            body.name, body.alias, body.version, actor=user, privileged=authz.privileged(body.name)
        )
        return json_response(EMPTY)

    @router.delete("/registered-models/alias")
    def delete_alias(body: AliasRef, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_ALIAS, body.name)
        reg.delete_registered_model_alias(body.name, body.alias, actor=user)
        return json_response(EMPTY)

    @router.get("/registered-models/alias")
    def get_by_alias(
        name: Annotated[str, Query()], alias: Annotated[str, Query()], reg: RegistryDep, authz: AuthzDep
    ) -> Response:
        authz.require(Op.GET_MODEL_VERSION, name)
        try:
            version = reg.get_model_version_by_alias(name, alias)
        except NotFound as exc:
            reg.get_registered_model(name)  # an unknown model stays RESOURCE_DOES_NOT_EXIST
            # MLflow answers an alias the model does not have with INVALID_PARAMETER_VALUE.
            raise InvalidArgument(exc.message) from None
        return json_response({"model_version": model_version_json(version)})

    return router


def _check_runs_source(source: str, run_id: str | None) -> None:
    """MLflow 3's rule: a ``runs:/<id>/...`` source names the run passed as ``run_id``, so a
    caller allowed to register cannot point a version at another run's files."""
    match = re.match(r"^runs:/([^/]+)", source or "")
    if match and match.group(1) != run_id:
        raise InvalidArgument(
            f"Invalid model version source: {source!r}. The run_id request parameter must identify "
            "the resource that contains the source."
        )
