"""A client with artifacts and registry mixed in, wired as the lead's LockgateClient will be."""

from __future__ import annotations

import pytest

from lockgate.artifacts.client_mixin import ArtifactsClientMixin
from lockgate.client import LockgateClient
from lockgate.registry.client_mixin import RegistryClientMixin
from lockgate.registry.sql import SqlRegistry


class FullClient(ArtifactsClientMixin, RegistryClientMixin, LockgateClient):
    def __init__(self, tracking_uri: str | None = None) -> None:
        super().__init__(tracking_uri)
        self._registry = SqlRegistry(self.tracking_uri, self.store)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> FullClient:
    """The client fluent calls and model URIs resolve through, for this test's home."""
    from lockgate import fluent

    full = FullClient()
    monkeypatch.setattr(fluent, "get_client", lambda: full)
    return full
