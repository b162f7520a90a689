"""The client that fluent calls and model URIs resolve through, for this test's home."""

from __future__ import annotations

import pytest
from lockgate.client import LockgateClient


@pytest.fixture
def client() -> LockgateClient:
    from lockgate import fluent

    return fluent.get_client()
