"""Which experiment new runs go to, answered without opening a store where possible.

Kept apart from ``lockgate.fluent`` so ``lockgate run`` can start an entry point before it
imports the store and the entities.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

__all__ = ["chosen_experiment_id", "known_experiment_id"]

# Set by lockgate.set_experiment(); context-local like the active run.
chosen_experiment_id: ContextVar[str | None] = ContextVar("lockgate_experiment_id", default=None)


def known_experiment_id() -> str | None:
    """The experiment id new runs go to, or None when only the store can tell (by name).

    In order: ``lockgate.set_experiment()``, ``LOCKGATE_EXPERIMENT_ID``, then the Default
    experiment "0" unless ``LOCKGATE_EXPERIMENT_NAME`` names one.
    """
    chosen = chosen_experiment_id.get()
    if chosen is not None:
        return chosen
    if os.environ.get("LOCKGATE_EXPERIMENT_ID"):
        return os.environ["LOCKGATE_EXPERIMENT_ID"]
    return None if os.environ.get("LOCKGATE_EXPERIMENT_NAME") else "0"
