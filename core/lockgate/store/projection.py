"""Which params, metrics and tags a run search returns: ``RunColumns`` (the runs table asks
for the few columns it shows, not the thousands of keys an experiment may hold)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RunColumns"]


@dataclass(frozen=True)
class RunColumns:
    """Keys to load per kind; ``None`` loads every key of that kind, ``()`` loads none."""

    params: Sequence[str] | None = None
    metrics: Sequence[str] | None = None
    tags: Sequence[str] | None = None
