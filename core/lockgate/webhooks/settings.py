"""Operator settings of webhook delivery, read from ``LOCKGATE_WEBHOOK_*`` variables."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from lockgate.errors import InvalidArgument
from lockgate.settings import env_float

__all__ = [
    "ENV_ALLOWED_TARGETS",
    "ENV_ENCRYPTION_KEY",
    "WebhookSettings",
]

ENV_ALLOWED_TARGETS = "LOCKGATE_WEBHOOK_ALLOWED_TARGETS"
ENV_ENCRYPTION_KEY = "LOCKGATE_WEBHOOK_ENCRYPTION_KEY"
_PREFIX = "LOCKGATE_WEBHOOK_"


def _float(name: str, default: float) -> float:
    return env_float(_PREFIX + name, default, minimum=0.001)


@dataclass(frozen=True)
class WebhookSettings:
    """How deliveries behave. Defaults suit production; tests shorten the times."""

    #: Seconds one POST may take (connect + send + answer) before it counts as failed.
    timeout: float = 10.0
    #: How long a failing delivery is retried before it is given up (seconds since its first try).
    retry_window: float = 3600.0
    #: First retry delay; doubled after each failure up to ``max_backoff``.
    initial_backoff: float = 1.0
    max_backoff: float = 300.0
    #: Webhooks delivered at once by one server process.
    concurrency: int = 16
    #: How often the delivery loop looks for new events (seconds).
    poll_interval: float = 0.1
    #: How long a process' claim on a webhook lasts without renewal (seconds).
    lease_seconds: float = 30.0
    #: Hosts or networks (CIDR) that may be targeted although private or loopback.
    allowed_targets: tuple[str, ...] = field(default=())

    @classmethod
    def from_env(cls) -> WebhookSettings:
        """Settings from ``LOCKGATE_WEBHOOK_TIMEOUT``, ``_RETRY_WINDOW``, ``_INITIAL_BACKOFF``,
        ``_MAX_BACKOFF``, ``_CONCURRENCY``, ``_POLL_INTERVAL``, ``_LEASE_SECONDS`` and
        ``_ALLOWED_TARGETS`` (comma-separated hosts, IPs or CIDR networks)."""
        allowed = tuple(t.strip() for t in os.environ.get(ENV_ALLOWED_TARGETS, "").split(",") if t.strip())
        for item in allowed:
            if "/" in item:
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise InvalidArgument(f"{ENV_ALLOWED_TARGETS}: {item!r} is not a CIDR network.") from None
        timeout = _float("TIMEOUT", cls.timeout)
        return cls(
            timeout=timeout,
            retry_window=_float("RETRY_WINDOW", cls.retry_window),
            initial_backoff=_float("INITIAL_BACKOFF", cls.initial_backoff),
            max_backoff=_float("MAX_BACKOFF", cls.max_backoff),
            concurrency=int(_float("CONCURRENCY", cls.concurrency)),
            poll_interval=_float("POLL_INTERVAL", cls.poll_interval),
            lease_seconds=max(_float("LEASE_SECONDS", cls.lease_seconds), 3 * timeout),
            allowed_targets=allowed,
        )
