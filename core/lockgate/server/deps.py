"""Annotated dependencies the routers declare: the store, the acting user, permission checks.

They are ``async`` on purpose: FastAPI runs sync dependencies in the thread pool, and these
only read request state, so a thread hop would be pure overhead on every call.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from lockgate.store.base import TrackingStore

__all__ = ["get_store", "StoreDep", "get_user", "UserDep", "get_state", "StateDep", "get_guard", "GuardDep"]


async def get_state(request: Request) -> Any:
    return request.app.state.lockgate


async def get_store(request: Request) -> TrackingStore:
    return request.app.state.lockgate.store  # type: ignore[no-any-return]


async def get_user(request: Request) -> str:
    """The authenticated user name, or "" when auth is off and the client did not say."""
    user = request.scope.get("lockgate.user")
    if user is not None:
        return user.name  # type: ignore[no-any-return]
    # Without auth the caller may say who it is (RestRegistry sends its acting user); it is
    # recorded in the audit trail, never used for permissions.
    return request.headers.get("x-lockgate-actor", "")[:256]


async def get_guard(request: Request) -> Any:
    """Permission checks for this request's user (no-ops when auth is off)."""
    from lockgate.server.auth.guard import OPEN

    user = request.scope.get("lockgate.user")
    if user is None:
        return OPEN
    from lockgate.server.auth.guard import Guard

    state = request.app.state.lockgate
    return Guard(user, auth=state.extras["auth_store"], state=state)


StoreDep = Annotated[TrackingStore, Depends(get_store)]
UserDep = Annotated[str, Depends(get_user)]
StateDep = Annotated[Any, Depends(get_state)]
GuardDep = Annotated[Any, Depends(get_guard)]
