"""Annotated dependencies the routers declare: the services, the acting user, the authorizer.

They are ``async`` on purpose: FastAPI runs sync dependencies in the thread pool, and these
only read request state, so a thread hop would be pure overhead on every call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lockgate.artifacts import ArtifactRepository
from lockgate.registry.base import ModelRegistry
from lockgate.server.app import ServerState
from lockgate.server.auth.authorizer import Authorizer
from lockgate.store.base import TrackingStore
from lockgate.store.sql.logged_models import SqlLoggedModels
from lockgate.webhooks.service import WebhookService

__all__ = [
    "ArtifactsDep",
    "AuthzDep",
    "LoggedModelsDep",
    "RegistryDep",
    "StateDep",
    "StoreDep",
    "UserDep",
    "WebhooksDep",
    "authorizer_for",
    "get_artifacts",
    "get_authorizer",
    "get_logged_models",
    "get_registry",
    "get_state",
    "get_store",
    "get_user",
    "get_webhooks",
]


async def get_state(request: Request) -> ServerState:
    """The worker's shared server state."""
    state: ServerState = request.app.state.lockgate
    return state


async def get_store(request: Request) -> TrackingStore:
    """The tracking store."""
    return (await get_state(request)).store


async def get_user(request: Request) -> str:
    """The authenticated user name, or "" when auth is off and the client did not say."""
    user = request.scope.get("lockgate.user")
    if user is not None:
        return str(user.name)
    # Without auth the caller may say who it is (RestRegistry sends its acting user); it is
    # recorded in the audit trail, never used for permissions.
    return request.headers.get("x-lockgate-actor", "")[:256]


def authorizer_for(request: Request) -> Authorizer:
    """Permission decisions for the caller of ``request`` (for the web UI and the routers)."""
    state: ServerState = request.app.state.lockgate
    return Authorizer(request.scope.get("lockgate.user"), auth_enabled=state.auth_enabled,
                      services=state.services)


async def get_authorizer(request: Request) -> Authorizer:
    """The request's ``Authorizer``."""
    return authorizer_for(request)


async def get_registry(request: Request) -> ModelRegistry:
    """The registry service."""
    return (await get_state(request)).services.registry()


async def get_logged_models(request: Request) -> SqlLoggedModels:
    """MLflow 3 logged models."""
    return (await get_state(request)).services.logged_models()


async def get_artifacts(request: Request) -> ArtifactRepository:
    """The artifact proxy's destination."""
    return (await get_state(request)).services.artifacts()


async def get_webhooks(request: Request) -> WebhookService:
    """Webhook subscriptions and their delivery log."""
    return (await get_state(request)).services.webhooks()


StateDep = Annotated[ServerState, Depends(get_state)]
StoreDep = Annotated[TrackingStore, Depends(get_store)]
UserDep = Annotated[str, Depends(get_user)]
AuthzDep = Annotated[Authorizer, Depends(get_authorizer)]
RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]
LoggedModelsDep = Annotated[SqlLoggedModels, Depends(get_logged_models)]
ArtifactsDep = Annotated[ArtifactRepository, Depends(get_artifacts)]
WebhooksDep = Annotated[WebhookService, Depends(get_webhooks)]
