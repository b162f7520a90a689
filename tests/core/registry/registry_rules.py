"""Custom gate rules the tests reference by import path (``registry_rules:<name>``)."""

from __future__ import annotations

from lockgate.registry import GateContext, RuleResult


def auc_at_least(ctx: GateContext, *, floor: float) -> RuleResult | tuple[bool, str]:
    auc = ctx.candidate_run.data.metrics["auc"] if ctx.candidate_run else float("nan")
    if auc >= floor:
        return True, f"auc {auc} >= {floor}"
    return False, f"auc {auc} < {floor}"


def explode(ctx: GateContext) -> bool:
    raise RuntimeError("boom")


def always(ctx: GateContext) -> bool:
    return True
