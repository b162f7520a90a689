"""Gate policies, approvals and the audit trail: the part of ``RegistryService`` about
what guards a target and what was recorded, not about moving versions.

``RegistryService`` mixes this in; it needs the service's ``_rows`` (the ``RegistryStore``)
and ``_moves`` (the ``MoveEngine`` that evaluates gates).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument, NotFound
from lockgate.registry.alias_rules import look_alike
from lockgate.registry.entities import (
    EventType,
    GateDecision,
    GatePolicyRecord,
    ModelVersionStage,
    RegistryEvent,
)
from lockgate.registry.gates import GatePolicy, check_rules_installed
from lockgate.registry.guards import check_override
from lockgate.registry.moves import rejection_event
from lockgate.registry.persistence import EventRecord, ModelHolders, Refused
from lockgate.registry.validation import (
    gate_target,
    validate_alias,
    validate_model_name,
    version_number,
)

if TYPE_CHECKING:
    from lockgate.registry.moves import MoveEngine
    from lockgate.registry.persistence import RegistryStore

__all__ = ["GatePolicyMixin"]


class GatePolicyMixin:
    """Gate policies per target, dry-run verdicts, approvals, promotion history and the event log."""

    _rows: RegistryStore
    _moves: MoveEngine

    # =================================================================== gates
    def set_gate_policy(
        self, name: str, *, alias: str | None = None, stage: str | None = None,
        policy: GatePolicy | Mapping[str, Any] | str, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> GatePolicyRecord:
        """Guard an alias or stage with ``policy``; returns the stored, versioned record.

        Setting the policy already in force again is a no-op that returns it unchanged.
        Replacing a policy that has rules is a guarded change (the new one may be weaker):
        ``override=True`` and a ``reason`` from a privileged caller.
        """
        target = gate_target(alias, stage)
        validate_model_name(name)
        parsed = GatePolicy.from_document(policy)
        check_rules_installed(parsed)
        document = parsed.to_document()
        body = json.dumps(document, sort_keys=True)
        what = f"replacing the gate policy of {name!r} {target}"
        check_override(name, override=override, reason=reason, privileged=privileged, what=what)

        def decide(current: GatePolicyRecord | None, h: ModelHolders) -> list[EventRecord] | None:
            twin = look_alike(target.name, h.aliases) if target.kind == "alias" else None
            if twin is not None:
                raise InvalidArgument(
                    f"Alias {twin!r} of {name!r} looks like {target.name!r}; guarding {target.name!r} "
                    f"would leave models:/{name}@{twin} ungated. Delete or rename {twin!r} first"
                )
            if current is not None and json.dumps(current.policy, sort_keys=True) == body:
                return None
            replacing = current is not None and bool(current.policy.get("rules"))
            if replacing and not override:
                raise Refused(h.model_id, [target])
            return [{"type": EventType.GATE_POLICY_SET, "actor": actor,
                     "alias": target.name if target.kind == "alias" else None,
                     "stage": target.name if target.kind == "stage" else None,
                     "details": {"policy": document}, "reason": reason, "override": replacing}]

        try:
            return self._rows.put_policy(name, target, document, actor=actor, now=int(time.time() * 1000), decide=decide)
        except Refused as refusal:
            event, error = rejection_event(refusal, name=name, what=what, actor=actor, reason=reason)
            self._rows.append_events(refusal.model_id, name, [event])
            raise error from None

    def get_gate_policy(
        self, name: str, *, alias: str | None = None, stage: str | None = None,
        policy_version: int | None = None,
    ) -> GatePolicyRecord | None:
        """The policy in force for the target (or an older ``policy_version``); None if unguarded."""
        target = gate_target(alias, stage)
        record = self._rows.get_policy(validate_model_name(name), target, policy_version=policy_version)
        if record is None and policy_version is not None:
            raise NotFound(f"{name!r} has no gate policy version {policy_version} for {target}")
        return record

    def list_gate_policies(self, name: str) -> list[GatePolicyRecord]:
        """The policy in force for every guarded target of the model."""
        return self._rows.list_policies(validate_model_name(name))

    def evaluate_gate(
        self, name: str, *, version: int | str, alias: str | None = None, stage: str | None = None,
        actor: str = "",
    ) -> GateDecision:
        """Dry run: every rule's verdict for moving ``version`` to the target; changes nothing."""
        return self._moves.dry_run(validate_model_name(name), version, gate_target(alias, stage), actor)

    def approve_model_version(
        self, name: str, version: int | str, *, comment: str | None = None, actor: str = ""
    ) -> RegistryEvent:
        """Record ``actor``'s approval of a version (once per user; a repeat returns the first)."""
        number = version_number(version)
        if not actor:
            raise InvalidArgument("An approval needs the approving user (actor)")
        return self._rows.approve_version(validate_model_name(name), number, actor=actor,
                                          details={"comment": comment} if comment else {})

    # ================================================================ history
    def get_promotion_history(
        self, name: str, *, alias: str | None = None, stage: str | None = None, limit: int = 1000
    ) -> list[RegistryEvent]:
        """Every move and refused promotion of the model, oldest first: who, when, from and to
        which version, why, and the gate's evidence."""
        return self._rows.history(
            validate_model_name(name), alias=validate_alias(alias) if alias is not None else None,
            stage=ModelVersionStage.parse(stage).value if stage is not None else None, limit=limit)

    def get_events(
        self, *, after_id: int = 0, model_name: str | None = None,
        types: Sequence[str | EventType] | None = None, limit: int = 1000,
    ) -> list[RegistryEvent]:
        """Events with ``id > after_id``, oldest first: the cursor orchestrator sensors poll."""
        if not isinstance(after_id, int) or after_id < 0:
            raise InvalidArgument(f"Invalid after_id {after_id!r}: expected a non-negative integer")
        if not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidArgument(f"Invalid limit {limit!r}: expected 1..10000")
        type_values: list[EventType] = []
        for t in types or []:
            try:
                type_values.append(EventType(t.upper() if isinstance(t, str) else t))
            except ValueError:
                raise InvalidArgument(
                    f"Unknown event type {t!r} (valid: {', '.join(e.value for e in EventType)})"
                ) from None
        return self._rows.events(after_id=after_id, model_name=model_name, types=type_values, limit=limit)
