"""Guarded changes: removing or demoting the holder of a gated alias or stage.

A gate only means something if its holder cannot simply be taken away first. So deleting a
guarded alias, moving a guarded stage's holder down or out (to Archived, None, or back to
Staging), deleting a version that holds a guarded target, deleting or renaming a model that has
gate policies, and replacing a gate policy are all guarded changes: without
``override=True`` they are refused (``GateFailed``, recorded as ``GATE_REJECTED``); with it
they need a privileged caller and a reason, and the event records both. Being privileged is
never enough by itself: with auth off every caller is privileged.
"""

from __future__ import annotations

from collections.abc import Sequence

from lockgate.errors import GateFailed, InvalidArgument, PermissionDenied
from lockgate.registry.entities import GateDecision, GateTarget, ModelVersionStage, RuleResult

__all__ = [
    "GUARD_RULE",
    "check_override",
    "guarded_change_refused",
    "leaves_guarded_stage",
]

GUARD_RULE = "guarded holder"
_GUARDED_STAGES = (ModelVersionStage.STAGING.value, ModelVersionStage.PRODUCTION.value)


def check_override(name: str, *, override: bool, reason: str | None, privileged: bool, what: str) -> None:
    """Refuse an override by an unprivileged caller or without a reason, before anything runs."""
    if not override:
        return
    if not privileged:
        raise PermissionDenied(f"Overriding the gate of {name!r} ({what}) needs a privileged caller")
    if not reason or not reason.strip():
        raise InvalidArgument("An override needs a reason; it is kept in the audit trail")


def leaves_guarded_stage(current: str | None, target: GateTarget, *, current_guarded: bool,
                         target_guarded: bool) -> bool:
    """True when moving a version from ``current`` to ``target`` takes it out of a guarded stage
    other than by promotion (Staging to a guarded Production, through that gate)."""
    if not current_guarded or current not in _GUARDED_STAGES or target.kind != "stage":
        return False
    if target.name == current:
        return False
    promoted = current == ModelVersionStage.STAGING.value and target.name == ModelVersionStage.PRODUCTION.value
    return not (promoted and target_guarded)


def _describe(targets: Sequence[GateTarget]) -> str:
    return ", ".join(str(t) for t in targets)


def guarded_change_refused(name: str, what: str, targets: Sequence[GateTarget], *,
                           version: int | None = None) -> GateFailed:
    """The error for a guarded change asked for without an override."""
    message = (f"{what} changes guarded {_describe(targets)}; that needs override=True "
               "and a reason from a privileged caller (MANAGE on the model), and is recorded")
    result = RuleResult(rule=GUARD_RULE, passed=False, observed=what,
                        expected="override with a reason", message=message)
    decision = GateDecision(passed=False, results=[result], model_name=name, version=version,
                            target=targets[0], changed=False, overridden=False)
    return GateFailed(f"Refused for {name!r}: {message}", results=[result],
                      details={"decision": decision.model_dump(mode="json")})
