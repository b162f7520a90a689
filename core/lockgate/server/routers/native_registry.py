"""The native registry API under ``/api/v1/registered-models``: models, versions, aliases,
gated promotion, gate policies, approvals, promotion history and the event feed.

Every move goes through the registry service's gates; ``override`` needs a privileged caller
(see ``Authorizer.privileged``) and a reason, and is recorded in the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from lockgate.errors import InvalidArgument, NotFound
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, RegistryDep, UserDep
from lockgate.server.native_schemas import Cursor, Int64, JsonObject
from lockgate.server.responses import EMPTY, json_response

__all__ = ["build_router"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisteredModelCreate(_In):
    name: str
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    exist_ok: bool = False


class ModelVersionCreate(_In):
    source: str
    run_id: str | None = None
    run_link: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=255,
                                        description="A retry with the same key returns the version it made")


class Promotion(_In):
    version: Int64
    alias: str | None = None
    stage: str | None = None
    reason: str | None = None
    override: bool = False


class GateEvaluation(_In):
    version: Int64
    alias: str | None = None
    stage: str | None = None


class GatePolicySet(_In):
    alias: str | None = None
    stage: str | None = None
    policy: JsonObject
    reason: str | None = None
    override: bool = False


class Approval(_In):
    comment: str | None = None


class RegisteredModelUpdate(_In):
    new_name: str | None = None
    description: str | None = None
    reason: str | None = None
    override: bool = False


class TagSet(_In):
    key: str
    value: str


class DescriptionUpdate(_In):
    description: str | None = None


class AliasSet(_In):
    version: Int64


class StageTransition(_In):
    stage: str
    archive_existing_versions: bool = False
    reason: str | None = None
    override: bool = False


ReasonQuery = Annotated[str | None, Query(max_length=5000, description="Why (kept in the audit trail)")]
OverrideQuery = Annotated[bool, Query(description="Force a guarded change (needs MANAGE and a reason)")]


def _dump(entity: Any) -> Any:
    return entity.model_dump(mode="json")


def _page(items: list[Any], token: str | None) -> Response:
    return json_response({"items": items, "next_page_token": token})


def build_router(prefix: str = "") -> APIRouter:
    """The native registry endpoints under ``prefix`` (the server uses /api/v1)."""
    from lockgate.registry.entities import (
        GateDecision,
        GatePolicyRecord,
        ModelVersion,
        RegisteredModel,
        RegistryEvent,
    )

    router = APIRouter(prefix=prefix, tags=["registry"])

    @router.post("/registered-models", response_model=RegisteredModel, summary="Create a registered model")
    def create_model(body: RegisteredModelCreate, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_REGISTERED_MODEL)
        model = reg.create_registered_model(body.name, description=body.description, tags=body.tags,
                                                        exist_ok=body.exist_ok, actor=user)
        authz.created_model(model.name)
        return json_response(_dump(model))

    @router.get("/registered-models", response_model=dict[str, Any],
                summary="One page of registered models matching a filter")
    def search_models(
        reg: RegistryDep,
        authz: AuthzDep,
        filter_string: str | None = None,
        max_results: Annotated[int, Query(ge=-(2**31), le=2**31)] = 100,
        page_token: str | None = None,
        order_by: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        authz.require(Op.SEARCH_REGISTERED_MODELS)
        page = reg.search_registered_models(
            filter_string=filter_string, max_results=max_results, page_token=page_token, order_by=order_by
        )
        return _page([_dump(m) for m in authz.visible_models(page)], page.token)

    @router.get("/registered-models/{name}", response_model=RegisteredModel, summary="A registered model by name")
    def get_model(name: str, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_REGISTERED_MODEL, name)
        return json_response(_dump(reg.get_registered_model(name)))

    @router.delete("/registered-models/{name}", response_model=dict[str, Any],
                   summary="Delete a registered model and its versions")
    def delete_model(name: str, reg: RegistryDep, user: UserDep, authz: AuthzDep, reason: ReasonQuery = None,
                     override: OverrideQuery = False) -> Response:
        authz.require(Op.DELETE_REGISTERED_MODEL, name)
        reg.delete_registered_model(name, actor=user, reason=reason, override=override,
                                    privileged=authz.privileged(name))
        return json_response(EMPTY)

    @router.patch("/registered-models/{name}", response_model=RegisteredModel,
                  summary="Rename a registered model (MANAGE) or change its description (EDIT)")
    def update_model(name: str, body: RegisteredModelUpdate, reg: RegistryDep, user: UserDep,
                     authz: AuthzDep) -> Response:
        model = None
        if body.description is not None:
            authz.require(Op.UPDATE_REGISTERED_MODEL, name)
            model = reg.update_registered_model(name, description=body.description, actor=user)
        if body.new_name is not None:
            authz.require(Op.RENAME_REGISTERED_MODEL, name)
            model = reg.rename_registered_model(name, body.new_name, actor=user, reason=body.reason,
                                                override=body.override, privileged=authz.privileged(name))
        return json_response(_dump(model or reg.get_registered_model(name)))

    @router.post("/registered-models/{name}/tags", response_model=dict[str, Any], summary="Set a model tag")
    def set_model_tag(name: str, body: TagSet, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.SET_REGISTERED_MODEL_TAG, name)
        reg.set_registered_model_tag(name, body.key, body.value, actor=user)
        return json_response(EMPTY)

    @router.delete("/registered-models/{name}/tags", response_model=dict[str, Any], summary="Delete a model tag")
    def delete_model_tag(name: str, key: Annotated[str, Query()], reg: RegistryDep, user: UserDep,
                         authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_REGISTERED_MODEL_TAG, name)
        reg.delete_registered_model_tag(name, key, actor=user)
        return json_response(EMPTY)

    @router.get("/registered-models/{name}/latest-versions", response_model=list[ModelVersion],
                summary="The latest version per stage (or of the given stages)")
    def latest_versions(name: str, reg: RegistryDep, authz: AuthzDep,
                        stages: Annotated[list[str] | None, Query()] = None) -> Response:
        authz.require(Op.GET_REGISTERED_MODEL, name)
        return json_response([_dump(v) for v in reg.get_latest_versions(name, stages=stages)])

    @router.get("/model-versions", response_model=dict[str, Any], summary="One page of versions matching a filter")
    def search_versions(
        reg: RegistryDep,
        authz: AuthzDep,
        filter_string: str | None = None,
        max_results: Annotated[int, Query(ge=-(2**31), le=2**31)] = 1000,
        page_token: str | None = None,
        order_by: Annotated[list[str] | None, Query()] = None,
    ) -> Response:
        authz.require(Op.SEARCH_MODEL_VERSIONS)
        page = reg.search_model_versions(filter_string=filter_string, max_results=max_results,
                                                     page_token=page_token, order_by=order_by)
        return _page([_dump(v) for v in authz.visible_models(page)], page.token)

    @router.get("/resolve", response_model=ModelVersion, summary="The version a models:/ URI names")
    def resolve(uri: Annotated[str, Query()], reg: RegistryDep, authz: AuthzDep) -> Response:
        version = reg.resolve_model_uri(uri)
        authz.require(Op.GET_MODEL_VERSION, version.name)
        return json_response(_dump(version))

    @router.post("/registered-models/{name}/versions", response_model=ModelVersion,
                 summary="Register a new version from a source URI")
    def create_version(name: str, body: ModelVersionCreate, reg: RegistryDep, user: UserDep,
                       authz: AuthzDep) -> Response:
        authz.require(Op.CREATE_MODEL_VERSION, name)
        if body.run_id:
            authz.require(Op.GET_RUN, body.run_id)
        version = reg.create_model_version(
            name, source=body.source, run_id=body.run_id, tags=body.tags, description=body.description,
            run_link=body.run_link, actor=user, idempotency_key=body.idempotency_key,
        )
        return json_response(_dump(version))

    @router.get("/registered-models/{name}/versions/{version}", response_model=ModelVersion,
                summary="One version of a registered model")
    def get_version(name: str, version: str, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_MODEL_VERSION, name)
        return json_response(_dump(reg.get_model_version(name, version)))

    @router.patch("/registered-models/{name}/versions/{version}", response_model=ModelVersion,
                  summary="Change a version's description")
    def update_version(name: str, version: str, body: DescriptionUpdate, reg: RegistryDep, user: UserDep,
                       authz: AuthzDep) -> Response:
        authz.require(Op.UPDATE_MODEL_VERSION, name)
        return json_response(_dump(reg.update_model_version(name, version, description=body.description,
                                                                        actor=user)))

    @router.delete("/registered-models/{name}/versions/{version}", response_model=dict[str, Any],
                   summary="Delete a version (MANAGE)")
    def delete_version(name: str, version: str, reg: RegistryDep, user: UserDep, authz: AuthzDep,
                       reason: ReasonQuery = None, override: OverrideQuery = False) -> Response:
        authz.require(Op.DELETE_MODEL_VERSION, name)
        reg.delete_model_version(name, version, actor=user, reason=reason, override=override,
                                 privileged=authz.privileged(name))
        return json_response(EMPTY)

    @router.get("/registered-models/{name}/versions/{version}/download-uri", response_model=dict[str, str],
                summary="Where a version's files are")
    def download_uri(name: str, version: str, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_MODEL_VERSION, name)
        return json_response({"artifact_uri": reg.get_model_version_download_uri(name, version)})

    @router.get("/registered-models/{name}/versions/{version}/lineage", response_model=dict[str, Any],
                summary="The run, datasets and commit a version came from")
    def lineage(name: str, version: str, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_MODEL_VERSION, name)
        return json_response(_dump(reg.get_model_version_lineage(name, version)))

    @router.post("/registered-models/{name}/versions/{version}/tags", response_model=dict[str, Any],
                 summary="Set a version tag")
    def set_version_tag(name: str, version: str, body: TagSet, reg: RegistryDep, user: UserDep,
                        authz: AuthzDep) -> Response:
        authz.require(Op.SET_MODEL_VERSION_TAG, name)
        reg.set_model_version_tag(name, version, body.key, body.value, actor=user)
        return json_response(EMPTY)

    @router.delete("/registered-models/{name}/versions/{version}/tags", response_model=dict[str, Any],
                   summary="Delete a version tag")
    def delete_version_tag(name: str, version: str, key: Annotated[str, Query()], reg: RegistryDep, user: UserDep,
                           authz: AuthzDep) -> Response:
        authz.require(Op.DELETE_MODEL_VERSION_TAG, name)
        reg.delete_model_version_tag(name, version, key, actor=user)
        return json_response(EMPTY)

    @router.post("/registered-models/{name}/versions/{version}/stage", response_model=ModelVersion,
                 summary="Move a version to a stage through its gate")
    def transition(name: str, version: str, body: StageTransition, reg: RegistryDep, user: UserDep,
                   authz: AuthzDep) -> Response:
        authz.require(Op.MOVE_ALIAS_OR_STAGE, name)
        moved = reg.transition_model_version_stage(
            name, version, body.stage, archive_existing_versions=body.archive_existing_versions, actor=user,
            reason=body.reason, override=body.override, privileged=authz.privileged(name),
        )
        return json_response(_dump(moved))

    @router.put("/registered-models/{name}/aliases/{alias}", response_model=dict[str, Any],
                summary="Point an alias at a version (through its gate)")
    def set_alias(name: str, alias: str, body: AliasSet, reg: RegistryDep, user: UserDep,
                  authz: AuthzDep) -> Response:
        authz.require(Op.MOVE_ALIAS_OR_STAGE, name)
        reg.set_registered_model_alias(name, alias, body.version, actor=user, privileged=authz.privileged(name))
        return json_response(EMPTY)

    @router.delete("/registered-models/{name}/aliases/{alias}", response_model=dict[str, Any],
                   summary="Remove an alias")
    def delete_alias(name: str, alias: str, reg: RegistryDep, user: UserDep, authz: AuthzDep,
                     reason: ReasonQuery = None, override: OverrideQuery = False) -> Response:
        authz.require(Op.DELETE_ALIAS, name)
        reg.delete_registered_model_alias(name, alias, actor=user, reason=reason, override=override,
                                          privileged=authz.privileged(name))
        return json_response(EMPTY)

    @router.get("/registered-models/{name}/gates/policy", response_model=GatePolicyRecord,
                summary="The gate policy guarding an alias or stage (404 if none)")
    def get_gate(
        name: str,
        reg: RegistryDep,
        authz: AuthzDep,
        alias: str | None = None,
        stage: str | None = None,
        policy_version: Annotated[int | None, Query(ge=1, le=2**31)] = None,
    ) -> Response:
        authz.require(Op.GET_GATE_POLICY, name)
        record = reg.get_gate_policy(name, alias=alias, stage=stage, policy_version=policy_version)
        if record is None:
            raise NotFound(f"No gate policy on {name!r} for {alias or stage!r}.")
        return json_response(_dump(record))

    @router.get("/registered-models/{name}/aliases/{alias}", response_model=ModelVersion,
                summary="The version an alias points at")
    def get_alias(name: str, alias: str, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_MODEL_VERSION, name)
        return json_response(_dump(reg.get_model_version_by_alias(name, alias)))

    @router.post("/registered-models/{name}/promote", response_model=GateDecision,
                 summary="Move a version to an alias or stage through its gate (412 with every verdict if refused)")
    def promote(name: str, body: Promotion, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.MOVE_ALIAS_OR_STAGE, name)
        if (body.alias is None) == (body.stage is None):
            raise InvalidArgument("Name exactly one of alias or stage.")
        decision = reg.promote(
            name, version=body.version, alias=body.alias, stage=body.stage, reason=body.reason,
            override=body.override, actor=user, privileged=authz.privileged(name),
        )
        return json_response(_dump(decision))

    @router.post("/registered-models/{name}/gates/evaluate", response_model=GateDecision,
                 summary="Evaluate a gate for a version without moving anything")
    def evaluate(name: str, body: GateEvaluation, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.EVALUATE_GATE, name)
        decision = reg.evaluate_gate(name, version=body.version, alias=body.alias, stage=body.stage,
                                                 actor=user)
        return json_response(_dump(decision))

    @router.put("/registered-models/{name}/gates", response_model=GatePolicyRecord,
                summary="Set the gate policy guarding an alias or stage (MANAGE)")
    def set_gate(name: str, body: GatePolicySet, reg: RegistryDep, user: UserDep, authz: AuthzDep) -> Response:
        authz.require(Op.SET_GATE_POLICY, name)
        record = reg.set_gate_policy(name, alias=body.alias, stage=body.stage, policy=body.policy,
                                     actor=user, reason=body.reason, override=body.override,
                                     privileged=authz.privileged(name))
        return json_response(_dump(record))

    @router.get("/registered-models/{name}/gates", response_model=list[GatePolicyRecord],
                summary="Gate policies of a registered model")
    def list_gates(name: str, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_GATE_POLICY, name)
        return json_response([_dump(r) for r in reg.list_gate_policies(name)])

    @router.post("/registered-models/{name}/versions/{version}/approve", response_model=RegistryEvent,
                 summary="Record an approval of a version (for approval rules)")
    def approve(name: str, version: str, body: Approval, reg: RegistryDep, user: UserDep,
                authz: AuthzDep) -> Response:
        authz.require(Op.APPROVE_MODEL_VERSION, name)
        return json_response(_dump(reg.approve_model_version(name, version, comment=body.comment,
                                                                         actor=user)))

    @router.get("/registered-models/{name}/history", response_model=list[RegistryEvent],
                summary="Promotion history of a model (optionally of one alias or stage)")
    def history(
        name: str,
        reg: RegistryDep,
        authz: AuthzDep,
        alias: str | None = None,
        stage: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    ) -> Response:
        authz.require(Op.GET_MODEL_HISTORY, name)
        events = reg.get_promotion_history(name, alias=alias, stage=stage, limit=limit)
        return json_response([_dump(e) for e in events])

    @router.get("/events", response_model=list[RegistryEvent],
                summary="The registry's audit trail after a cursor (for sensors and webhooks)")
    def events(
        reg: RegistryDep,
        authz: AuthzDep,
        after_id: Annotated[Cursor, Query()] = 0,
        model_name: str | None = None,
        types: Annotated[list[str] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    ) -> Response:
        if model_name:
            authz.require(Op.GET_MODEL_HISTORY, model_name)
        else:
            authz.require(Op.READ_ALL_EVENTS)
        found = reg.get_events(after_id=after_id, model_name=model_name, types=types, limit=limit)
        return json_response([_dump(e) for e in found])

    return router
