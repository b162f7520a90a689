"""The model registry: versions, aliases, stages, promotion gates and the audit trail.

``from lockgate.registry import GatePolicy, MetricThreshold ...`` gives the gate rules and
entities; the SQL service (``lockgate.registry.sql.SqlRegistry``) is loaded only when asked
for, so importing this package never imports SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockgate._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "GatePolicy": "lockgate.registry.gates",
    "MetricThreshold": "lockgate.registry.gates",
    "BeatsChampion": "lockgate.registry.gates",
    "RequireTags": "lockgate.registry.gates",
    "RequireApprovals": "lockgate.registry.gates",
    "RequireLineage": "lockgate.registry.gates",
    "CustomRule": "lockgate.registry.gates",
    "GateContext": "lockgate.registry.gates",
    "GateDecision": "lockgate.registry.entities",
    "RuleResult": "lockgate.registry.entities",
    "GateTarget": "lockgate.registry.entities",
    "GatePolicyRecord": "lockgate.registry.entities",
    "RegisteredModel": "lockgate.registry.entities",
    "ModelVersion": "lockgate.registry.entities",
    "ModelVersionStage": "lockgate.registry.entities",
    "ModelVersionStatus": "lockgate.registry.entities",
    "ModelVersionLineage": "lockgate.registry.entities",
    "RegistryEvent": "lockgate.registry.entities",
    "EventType": "lockgate.registry.entities",
    "ModelRegistry": "lockgate.registry.base",
    "SqlRegistry": "lockgate.registry.sql",
    "parse_model_uri": "lockgate.registry.uris",
    "register_gate_rule": "lockgate.registry.rule_catalog",
    "installed_gate_rules": "lockgate.registry.rule_catalog",
}

__all__ = [
    "BeatsChampion",
    "CustomRule",
    "EventType",
    "GateContext",
    "GateDecision",
    "GatePolicy",
    "GatePolicyRecord",
    "GateTarget",
    "MetricThreshold",
    "ModelRegistry",
    "ModelVersion",
    "ModelVersionLineage",
    "ModelVersionStage",
    "ModelVersionStatus",
    "RegisteredModel",
    "RegistryEvent",
    "RequireApprovals",
    "RequireLineage",
    "RequireTags",
    "RuleResult",
    "SqlRegistry",
    "installed_gate_rules",
    "parse_model_uri",
    "register_gate_rule",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    from lockgate.registry.base import ModelRegistry
    from lockgate.registry.entities import (
        EventType,
        GateDecision,
        GatePolicyRecord,
        GateTarget,
        ModelVersion,
        ModelVersionLineage,
        ModelVersionStage,
        ModelVersionStatus,
        RegisteredModel,
        RegistryEvent,
        RuleResult,
    )
    from lockgate.registry.gates import (
        BeatsChampion,
        CustomRule,
        GateContext,
        GatePolicy,
        MetricThreshold,
        RequireApprovals,
        RequireLineage,
        RequireTags,
    )
    from lockgate.registry.rule_catalog import installed_gate_rules, register_gate_rule
    from lockgate.registry.sql import SqlRegistry
    from lockgate.registry.uris import parse_model_uri
