"""``Authorizer``: the one place a request's permissions are decided.

Routers (both APIs, the artifact proxy, the web UI) name an ``Operation``; the requirement
comes from ``policy.REQUIREMENTS``. With auth off every operation is allowed and every
caller is privileged (the registry still demands an explicit override with a reason to
force a gate). With auth on, admins may do everything, other users need a grant (creating
an experiment or registered model grants its creator MANAGE), and ``privileged`` (may
override a gate or take a guarded alias/stage from its holder) means MANAGE on the model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar

from lockgate.errors import PermissionDenied, Unauthenticated
from lockgate.server.auth.policy import REQUIREMENTS, Operation, Scope, operations_on
from lockgate.server.auth.store import Permission, ResourceType, User

if TYPE_CHECKING:
    from lockgate.server.services import Services

__all__ = ["Authorizer", "default_permission"]

ENV_DEFAULT_PERMISSION = "LOCKGATE_AUTH_DEFAULT_PERMISSION"

_EXPERIMENT_SCOPES = (Scope.EXPERIMENT, Scope.RUN, Scope.LOGGED_MODEL, Scope.ARTIFACT)


class _HasExperiment(Protocol):
    @property
    def experiment_id(self) -> str: ...


class _HasName(Protocol):
    @property
    def name(self) -> str: ...


E = TypeVar("E", bound=_HasExperiment)
M = TypeVar("M", bound=_HasName)


def default_permission() -> Permission | None:
    """What every user may do without a grant (``LOCKGATE_AUTH_DEFAULT_PERMISSION``; default none)."""
    value = os.environ.get(ENV_DEFAULT_PERMISSION, "").strip().upper()
    return Permission(value) if value in ("READ", "EDIT", "MANAGE") else None


class Authorizer:
    """Permission decisions for one request's caller."""

    def __init__(self, user: User | None, *, auth_enabled: bool, services: Services) -> None:
        self.user = user
        self.auth_enabled = auth_enabled
        self.services = services

    # ------------------------------------------------------------ decisions
    @property
    def is_admin(self) -> bool:
        """True when the caller may do everything (an admin, or anyone with auth off)."""
        return not self.auth_enabled or (self.user is not None and self.user.is_admin)

    def require(self, operation: Operation, resource: str = "") -> None:
        """Raise PermissionDenied unless the caller may perform ``operation`` on ``resource``
        (an experiment id, run id, logged model id, proxied artifact path or model name)."""
        if self.is_admin:
            return
        user = self._user()
        req = REQUIREMENTS[operation]
        if req.scope is Scope.ANY_USER:
            return
        if req.scope is Scope.ADMIN:
            raise PermissionDenied(f"User {user.name!r} is not an admin; {operation.value} needs an admin.")
        assert req.permission is not None
        rtype, rid, what = self._resource(req.scope, resource)
        level = self._level(user, rtype, rid)
        if level is None or not level.allows(req.permission):
            have = level.value if level else "no"
            raise PermissionDenied(
                f"User {user.name!r} has {have} permission on {what}; "
                f"{req.permission.value} is required for {operation.value}."
            )

    def allows(self, operation: Operation, resource: str = "") -> bool:
        """Whether ``require`` would pass."""
        try:
            self.require(operation, resource)
        except PermissionDenied:
            return False
        return True

    def privileged(self, model_name: str) -> bool:
        """May the caller override ``model_name``'s gates or take a guarded alias/stage from its
        holder: auth off, an admin, or MANAGE on the model. Derived here and nowhere else."""
        return self.allows(Operation.OVERRIDE_GATE, model_name)

    def permission(self, scope: Scope, resource: str) -> Permission | None:
        """The caller's effective permission on one resource (MANAGE for admins and with auth off)."""
        if self.is_admin:
            return Permission.MANAGE
        rtype, rid, _ = self._resource(scope, resource)
        return self._level(self._user(), rtype, rid)

    def operations(self, scope: Scope, resource: str) -> list[Operation]:
        """The operations on one experiment (``Scope.EXPERIMENT``, including its runs, logged
        models and artifacts) or registered model the caller may perform: what a UI shows."""
        scopes = _EXPERIMENT_SCOPES if scope in _EXPERIMENT_SCOPES else (scope,)
        if self.is_admin:
            return [op for s in scopes for op in operations_on(s)]
        level = self.permission(scope, resource)
        return [op for s in scopes for op in operations_on(s)
                if level is not None and REQUIREMENTS[op].permission is not None
                and level.allows(REQUIREMENTS[op].permission)]  # type: ignore[arg-type]

    # ------------------------------------------------------- grants, lists
    def created_experiment(self, experiment_id: str) -> None:
        """The creator of an experiment manages it."""
        self._grant_creator(ResourceType.EXPERIMENT, str(experiment_id))

    def created_model(self, name: str) -> None:
        """The creator of a registered model manages it."""
        self._grant_creator(ResourceType.REGISTERED_MODEL, name)

    def visible_experiments(self, items: Iterable[E]) -> list[E]:
        """The experiments (or anything with an ``experiment_id``) the caller may read."""
        allowed = self._readable(ResourceType.EXPERIMENT)
        return list(items) if allowed is None else [e for e in items if str(e.experiment_id) in allowed]

    def visible_models(self, items: Iterable[M]) -> list[M]:
        """The registered models or versions (anything with a ``name``) the caller may read."""
        allowed = self._readable(ResourceType.REGISTERED_MODEL)
        return list(items) if allowed is None else [m for m in items if m.name in allowed]

    # ------------------------------------------------------------- helpers
    def _user(self) -> User:
        if self.user is None:
            raise Unauthenticated("Authentication required.")
        return self.user

    def _level(self, user: User, rtype: ResourceType, rid: str) -> Permission | None:
        auth = self.services.auth
        granted = auth.permission(user.id, rtype, rid) if auth is not None else None
        return granted or default_permission()

    def _resource(self, scope: Scope, resource: str) -> tuple[ResourceType, str, str]:
        if scope is Scope.REGISTERED_MODEL:
            return ResourceType.REGISTERED_MODEL, resource, f"registered model {resource!r}"
        if scope is Scope.EXPERIMENT:
            return ResourceType.EXPERIMENT, str(resource), f"experiment {resource!r}"
        if scope is Scope.RUN:
            exp = self.services.run_experiment(resource)
            return ResourceType.EXPERIMENT, exp, f"experiment {exp!r} (run {resource!r})"
        if scope is Scope.LOGGED_MODEL:
            exp = str(self.services.logged_models().get(resource).experiment_id)
            return ResourceType.EXPERIMENT, exp, f"experiment {exp!r} (logged model {resource!r})"
        if scope is Scope.ARTIFACT:
            # Proxied artifact paths start with the experiment id (``<exp>/<run>/artifacts/...``).
            first = resource.split("/", 1)[0] if resource else ""
            if not first.isdigit():
                raise PermissionDenied(
                    f"User {self._user().name!r} may not access artifacts outside an experiment."
                )
            return ResourceType.EXPERIMENT, first, f"experiment {first!r}"
        raise ValueError(f"scope {scope} names no resource")

    def _grant_creator(self, rtype: ResourceType, rid: str) -> None:
        auth = self.services.auth
        if self.auth_enabled and self.user is not None and not self.user.is_admin and auth is not None:
            auth.grant(self.user.name, rtype, rid, Permission.MANAGE)

    def _readable(self, rtype: ResourceType) -> set[str] | None:
        if self.is_admin or default_permission() is not None:
            return None
        auth = self.services.auth
        return auth.readable(self._user().id, rtype) if auth is not None else set()
