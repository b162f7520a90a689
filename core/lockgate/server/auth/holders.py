"""Whether a registry call would take a guarded alias or stage away from its holder.

The ``Authorizer`` asks these (lazily, only for callers who are not privileged) to decide
whether a move needs ``REMOVE_GUARDED_HOLDER``; the registry service still decides how the
move itself is gated and recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.registry.base import ModelRegistry

__all__ = ["alias_removal", "stage_change"]


def alias_removal(registry: ModelRegistry, name: str, alias: str) -> Callable[[], bool]:
    """Deleting ``alias``: guarded when the alias has a gate policy and a holder."""

    def guarded() -> bool:
        if registry.get_gate_policy(name, alias=alias) is None:
            return False
        return alias in registry.get_registered_model(name).aliases

    return guarded


def stage_change(registry: ModelRegistry, name: str, version: int | str, stage: str) -> Callable[[], bool]:
    """Moving ``version`` to ``stage``: guarded when it leaves a stage that has a gate policy."""

    def guarded() -> bool:
        from lockgate.registry.entities import ModelVersionStage

        current = registry.get_model_version(name, version).current_stage
        if ModelVersionStage.parse(current) is ModelVersionStage.parse(stage):
            return False
        return registry.get_gate_policy(name, stage=current) is not None

    return guarded
