"""Permission checks the routers call: READ / EDIT / MANAGE per experiment and registered model.

``Guard`` is bound to one request's user. Admins pass every check; other users need a grant
(creating an experiment or registered model grants its creator MANAGE). With auth off the
routers get ``OPEN``, whose checks do nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from lockgate.errors import PermissionDenied
from lockgate.server.auth.store import AuthStore, Permission, ResourceType, User

__all__ = ["Guard", "OpenGuard", "OPEN", "READ", "EDIT", "MANAGE", "default_permission"]

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE


def default_permission() -> Permission | None:
    """What every user may do without a grant (``LOCKGATE_AUTH_DEFAULT_PERMISSION``; default none)."""
    value = os.environ.get("LOCKGATE_AUTH_DEFAULT_PERMISSION", "").strip().upper()
    return Permission(value) if value in ("READ", "EDIT", "MANAGE") else None


class OpenGuard:
    """No auth: everything is allowed."""

    enabled = False
    user: User | None = None

    def experiment(self, experiment_id: str, needed: Permission) -> None: ...
    def run(self, run_id: str, needed: Permission) -> None: ...
    def model(self, name: str, needed: Permission) -> None: ...
    def logged_model(self, model_id: str, needed: Permission) -> None: ...
    def artifact_path(self, path: str, needed: Permission) -> None: ...
    def admin(self) -> None: ...
    def created_experiment(self, experiment_id: str) -> None: ...
    def created_model(self, name: str) -> None: ...

    def can_manage_model(self, name: str) -> bool:
        return False

    def visible_experiments(self, items: Iterable[Any]) -> list[Any]:
        return list(items)

    def visible_models(self, items: Iterable[Any]) -> list[Any]:
        return list(items)


OPEN = OpenGuard()


class Guard(OpenGuard):
    """Checks for one authenticated user."""

    enabled = True

    def __init__(self, user: User, *, auth: AuthStore, state: Any) -> None:
        self.user = user
        self.auth = auth
        self.state = state

    def _level(self, rtype: ResourceType, rid: str) -> Permission | None:
        granted = self.auth.permission(self.user.id, rtype, rid)
        return granted or default_permission()

    def _check(self, rtype: ResourceType, rid: str, needed: Permission, what: str) -> None:
        if self.user.is_admin:
            return
        level = self._level(rtype, rid)
        if level is None or not level.allows(needed):
            have = level.value if level else "no"
            raise PermissionDenied(
                f"User {self.user.name!r} has {have} permission on {what}; {needed.value} is required."
            )

    def experiment(self, experiment_id: str, needed: Permission) -> None:
        self._check(ResourceType.EXPERIMENT, str(experiment_id), needed, f"experiment {experiment_id!r}")

    def run(self, run_id: str, needed: Permission) -> None:
        if self.user.is_admin:
            return
        experiment_id = _run_experiment(self.state, str(run_id))
        self._check(ResourceType.EXPERIMENT, experiment_id, needed, f"experiment {experiment_id!r} (run {run_id!r})")

    def model(self, name: str, needed: Permission) -> None:
        self._check(ResourceType.REGISTERED_MODEL, name, needed, f"registered model {name!r}")

    def logged_model(self, model_id: str, needed: Permission) -> None:
        if self.user.is_admin:
            return
        from lockgate.server.routers.mlflow_logged_models import logged_models

        self.experiment(logged_models(self.state).get(model_id).experiment_id, needed)

    def artifact_path(self, path: str, needed: Permission) -> None:
        """Proxied artifact paths start with the experiment id (``<exp>/<run>/artifacts/...``)."""
        if self.user.is_admin:
            return
        first = path.split("/", 1)[0] if path else ""
        if not first.isdigit():
            raise PermissionDenied(f"User {self.user.name!r} may not access artifacts outside an experiment.")
        self.experiment(first, needed)

    def admin(self) -> None:
        if not self.user.is_admin:
            raise PermissionDenied(f"User {self.user.name!r} is not an admin; this needs an admin.")

    def created_experiment(self, experiment_id: str) -> None:
        if not self.user.is_admin:
            self.auth.grant(self.user.name, ResourceType.EXPERIMENT, str(experiment_id), MANAGE)

    def created_model(self, name: str) -> None:
        if not self.user.is_admin:
            self.auth.grant(self.user.name, ResourceType.REGISTERED_MODEL, name, MANAGE)

    def can_manage_model(self, name: str) -> bool:
        if self.user.is_admin:
            return True
        level = self._level(ResourceType.REGISTERED_MODEL, name)
        return level is not None and level.allows(MANAGE)

    def _visible(self, rtype: ResourceType) -> set[str] | None:
        if self.user.is_admin or default_permission() is not None:
            return None
        return self.auth.readable(self.user.id, rtype)

    def visible_experiments(self, items: Iterable[Any]) -> list[Any]:
        allowed = self._visible(ResourceType.EXPERIMENT)
        return list(items) if allowed is None else [e for e in items if str(e.experiment_id) in allowed]

    def visible_models(self, items: Iterable[Any]) -> list[Any]:
        allowed = self._visible(ResourceType.REGISTERED_MODEL)
        return list(items) if allowed is None else [m for m in items if m.name in allowed]


def _run_experiment(state: Any, run_id: str) -> str:
    cache = state.extras.setdefault("run_experiment_cache", {})
    experiment_id = cache.get(run_id)
    if experiment_id is None:
        # A run never changes experiment, so the answer can be cached for the process' life.
        experiment_id = state.store.get_run(run_id).info.experiment_id
        if len(cache) > 100_000:
            cache.clear()
        cache[run_id] = experiment_id
    return str(experiment_id)


