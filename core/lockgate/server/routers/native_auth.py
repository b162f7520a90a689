"""``GET /api/v1/auth/whoami``: the caller and what they may do with one experiment or model,
so a UI can hide the buttons of operations that would answer 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lockgate.server.auth.authorizer import Authorizer
from lockgate.server.auth.policy import Operation, Scope
from lockgate.server.deps import AuthzDep, UserDep

__all__ = ["ResourceAccess", "WhoAmI", "build_router", "whoami"]


class ResourceAccess(BaseModel):
    """The caller's permission on one resource and the operations it allows."""

    id: str
    permission: str | None
    privileged: bool = False
    operations: list[Operation]


class WhoAmI(BaseModel):
    """Who the server thinks the caller is."""

    auth: bool
    user: str | None
    is_admin: bool
    experiment: ResourceAccess | None = None
    registered_model: ResourceAccess | None = None


def whoami(authz: Authorizer, *, actor: str = "", experiment_id: str | None = None,
           registered_model: str | None = None) -> WhoAmI:
    """The caller's identity and access to the named experiment and/or registered model."""
    name = authz.user.name if authz.user is not None else (actor or None)
    answer = WhoAmI(auth=authz.auth_enabled, user=name, is_admin=authz.is_admin)
    if experiment_id is not None:
        level = authz.permission(Scope.EXPERIMENT, experiment_id)
        answer.experiment = ResourceAccess(
            id=experiment_id, permission=level.value if level else None,
            operations=authz.operations(Scope.EXPERIMENT, experiment_id),
        )
    if registered_model is not None:
        level = authz.permission(Scope.REGISTERED_MODEL, registered_model)
        answer.registered_model = ResourceAccess(
            id=registered_model, permission=level.value if level else None,
            privileged=authz.privileged(registered_model),
            operations=authz.operations(Scope.REGISTERED_MODEL, registered_model),
        )
    return answer


def build_router(prefix: str = "") -> APIRouter:
    """The endpoint under ``prefix`` (the server uses /api/v1)."""
    router = APIRouter(prefix=prefix, tags=["auth"])

    @router.get("/auth/whoami", response_model=WhoAmI,
                summary="The caller, and their permission on an experiment and/or registered model")
    def get_whoami(
        authz: AuthzDep,
        user: UserDep,
        experiment_id: Annotated[str | None, Query(max_length=256)] = None,
        registered_model: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> WhoAmI:
        return whoami(authz, actor=user, experiment_id=experiment_id, registered_model=registered_model)

    return router
