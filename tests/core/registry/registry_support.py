"""Shared pieces of the registry tests (importable from tests and from worker processes)."""

from __future__ import annotations

from collections.abc import Callable

from live_server import ThreadServer
from lockgate import LockgateClient

__all__ = ["MakeRun", "RegistryClient", "ThreadServer"]

MakeRun = Callable[..., str]


# The registry lives on LockgateClient itself; the alias keeps the tests' vocabulary.
RegistryClient = LockgateClient
