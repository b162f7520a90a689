"""Webhook test fixtures: a live receiver, the operator settings tests run with, a model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webhook_receiver import Receiver, receiver

SECRET = "s3cr3t-for-tests"


@pytest.fixture(autouse=True)
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback targets allowed (the receiver runs on 127.0.0.1), the secret in the
    environment, and short times so retries and timeouts happen within a test."""
    monkeypatch.setenv("LOCKGATE_WEBHOOK_ALLOWED_TARGETS", "127.0.0.1")
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("LOCKGATE_WEBHOOK_TIMEOUT", "1")
    monkeypatch.setenv("LOCKGATE_WEBHOOK_INITIAL_BACKOFF", "0.2")
    monkeypatch.setenv("LOCKGATE_WEBHOOK_MAX_BACKOFF", "0.5")
    monkeypatch.setenv("LOCKGATE_WEBHOOK_RETRY_WINDOW", "20")
    monkeypatch.setenv("LOCKGATE_WEBHOOK_POLL_INTERVAL", "0.05")


@pytest.fixture
def hook_receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on 127.0.0.1 recording what arrives."""
    with receiver() as state:
        yield state
