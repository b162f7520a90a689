"""Shared pieces of the registry tests (importable from tests and from worker processes)."""

from __future__ import annotations

from collections.abc import Callable

from lockgate import LockgateClient
from lockgate.registry.client_mixin import RegistryClientMixin
from lockgate.registry.sql import SqlRegistry

__all__ = ["MakeRun", "RegistryClient"]

MakeRun = Callable[..., str]


class RegistryClient(RegistryClientMixin, LockgateClient):
    """LockgateClient with the registry methods, wired the way the lead's client will be."""

    def __init__(self, tracking_uri: str, *, user: str, privileged: bool = False) -> None:
        super().__init__(tracking_uri, user=user)
        self.privileged = privileged
        self._registry = SqlRegistry(tracking_uri, self.store)
