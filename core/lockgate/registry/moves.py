"""``MoveEngine``: moving a version to an alias or stage through its gate.

Backend-independent: the gate is evaluated on a ``MoveSnapshot`` read from the store, outside
any lock (rules may read runs or call installed code); the store then applies the move in a
short transaction only if the target still has the holders the gate was judged against, and
raises ``Conflict`` otherwise. Two concurrent promotions therefore end with one winner and one
``Conflict``, or with two valid moves in order; never with zero or two holders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lockgate.entities import Run, RunStatus
from lockgate.errors import GateFailed, InvalidArgument
from lockgate.registry.entities import (
    EventType,
    GateDecision,
    GateTarget,
    ModelVersion,
    ModelVersionStage,
    ModelVersionStatus,
    RuleResult,
)
from lockgate.registry.gates import GateContext, evaluate_policy
from lockgate.registry.guards import (
    GUARD_RULE,
    check_override,
    guarded_change_refused,
    leaves_guarded_stage,
)
from lockgate.registry.persistence import EventRecord, MoveSnapshot, Refused, RegistryStore
from lockgate.registry.validation import UNGUARDED_STAGES, version_number

__all__ = ["MoveEngine", "RunReader", "rejection_event"]

RunReader = Callable[[str], tuple[Run | None, str | None]]


def rejection_event(refusal: Refused, *, name: str, what: str, actor: str, reason: str | None) -> tuple[
        EventRecord, GateFailed]:
    """The GATE_REJECTED event and the error for a refused guarded change."""
    error = guarded_change_refused(name, what, refusal.targets, version=refusal.version)
    first = refusal.targets[0]
    event: EventRecord = {
        "type": EventType.GATE_REJECTED, "version": refusal.version, "from_version": refusal.version,
        "actor": actor, "reason": reason,
        "alias": first.name if first.kind == "alias" else None,
        "stage": first.name if first.kind == "stage" else None,
        "evidence": {"passed": False, "results": [r.model_dump(mode="json") for r in error.results],
                     "policy_version": None},
        "details": {"change": what, "targets": [str(t) for t in refusal.targets]},
    }
    return event, error


def _check_promotable(mv: ModelVersion, run_status: str | None, target: GateTarget) -> None:
    if target.kind == "stage" and target.name in UNGUARDED_STAGES:
        return
    if mv.status is not ModelVersionStatus.READY:
        raise InvalidArgument(
            f"Model version {mv.version} of {mv.name!r} is {mv.status.value}, not READY; "
            f"it cannot be moved to {target}"
        )
    if run_status in (RunStatus.FAILED.value, RunStatus.KILLED.value):
        raise InvalidArgument(
            f"Model version {mv.version} of {mv.name!r} comes from run {mv.run_id}, which "
            f"ended {run_status}; a failed run's model cannot be moved to {target}"
        )


class MoveEngine:
    """Gate evaluation and gated moves over a ``RegistryStore``."""

    def __init__(self, store: RegistryStore, read_run: RunReader, now: Callable[[], int], *,
                 shares_runs: Callable[[], bool] = lambda: False) -> None:
        self._store = store
        self._read_run = read_run
        self._now = now
        self._shares_runs = shares_runs

    def evaluate(self, snap: MoveSnapshot, target: GateTarget, actor: str) -> GateDecision:
        """Every rule's verdict for the snapshot's candidate; InvalidArgument if not promotable."""
        candidate_run = champion_run = None
        run_problem = None
        run_status = None
        if snap.candidate.run_id and snap.run_status_read and self._shares_runs():
            # No rule reads the run: its status (read with the snapshot) is all a move needs,
            # which spares a whole-run read (params, metrics, tags) per alias or stage move.
            run_status = snap.candidate_run_status
        elif snap.candidate.run_id:
            candidate_run, run_problem = self._read_run(snap.candidate.run_id)
            run_status = candidate_run.info.status.value if candidate_run is not None else None
        if snap.policy is not None and snap.champion is not None and snap.champion.run_id:
            champion_run, _ = self._read_run(snap.champion.run_id)
        ctx = GateContext(
            model_name=snap.model_name, target=target, candidate=snap.candidate,
            candidate_run=candidate_run, champion=snap.champion, champion_run=champion_run,
            champion_is_last_holder=snap.champion_is_last_holder,
            approvals=snap.approvals, actor=actor, run_problem=run_problem,
        )
        _check_promotable(snap.candidate, run_status, target)
        return evaluate_policy(snap.policy, ctx, policy_version=snap.policy_version)

    def dry_run(self, name: str, version: int | str, target: GateTarget, actor: str) -> GateDecision:
        """The decision a move would get now; changes nothing."""
        return self.evaluate(self._store.move_snapshot(name, version_number(version), target), target, actor)

    def move(
        self, name: str, *, version: int | str, target: GateTarget, reason: str | None, override: bool,
        privileged: bool, archive_existing_versions: bool, actor: str,
        vet: Callable[[MoveSnapshot], None] | None = None,
    ) -> GateDecision:
        """Move ``version`` to ``target`` if its gate passes (or is overridden); GateFailed otherwise.

        ``vet`` sees the snapshot first and may refuse the move by raising (nothing recorded).
        """
        return self.move_version(name, version=version, target=target, reason=reason, override=override,
                                 privileged=privileged, archive_existing_versions=archive_existing_versions,
                                 actor=actor, vet=vet)[0]

    def move_version(
        self, name: str, *, version: int | str, target: GateTarget, reason: str | None, override: bool,
        privileged: bool, archive_existing_versions: bool, actor: str,
        vet: Callable[[MoveSnapshot], None] | None = None,
    ) -> tuple[GateDecision, ModelVersion]:
        """``move``, also returning the version as the move left it (no second read)."""
        number = version_number(version)
        check_override(name, override=override, reason=reason, privileged=privileged, what=f"{target}")
        snap = self._store.move_snapshot(name, number, target)
        if vet is not None:
            vet(snap)
        others = tuple(v for v in snap.holders if v != number)
        already = number in snap.holders and (target.kind == "alias" or not archive_existing_versions
                                              or not others)
        if already:
            return GateDecision(passed=True, model_name=name, version=number, target=target,
                                policy_version=snap.policy_version, previous_version=number,
                                changed=False), snap.candidate
        current = snap.candidate.current_stage
        leaves = current if leaves_guarded_stage(
            current, target, current_guarded=snap.current_stage_guarded,
            target_guarded=snap.policy is not None and bool(snap.policy.rules)) else None
        if leaves is not None and not override:
            refusal = Refused(snap.model_id, [GateTarget(kind="stage", name=leaves)], number)
            event, error = rejection_event(refusal, name=name, actor=actor, reason=reason,
                                           what=f"moving version {number} from {leaves} to {target.name}")
            self._store.append_events(snap.model_id, name, [event])
            raise error
        decision = self.evaluate(snap, target, actor)
        if leaves is not None:
            decision = decision.model_copy(update={"passed": False, "results": [*decision.results, RuleResult(
                rule=GUARD_RULE, passed=False, observed=f"leaves {leaves}", expected="override with a reason",
                message=f"version {number} leaves guarded stage {leaves}")]})
        evidence = decision.model_dump(mode="json", include={"passed", "results", "policy_version"})
        target_fields = {"alias": target.name} if target.kind == "alias" else {"stage": target.name}
        if not decision.passed and not override:
            self._store.append_events(snap.model_id, name, [{
                "type": EventType.GATE_REJECTED, "version": number,
                "from_version": max(others) if others else None, "to_version": number, "actor": actor,
                "reason": reason, "evidence": evidence, **target_fields,
            }])
            failed = "; ".join(f"{r.rule}: {r.message}" for r in decision.failures)
            raise GateFailed(
                f"Gate for {name!r} {target} refused version {number}: {failed}",
                results=decision.results,
                details={"decision": decision.model_dump(mode="json")},
            )
        overridden = override and not decision.passed
        archive = others if target.kind == "stage" and archive_existing_versions else ()
        from_version = (snap.holders[0] if snap.holders else None) if target.kind == "alias" else (
            max(others) if others else None)
        move: EventRecord = {
            "type": EventType.ALIAS_SET if target.kind == "alias" else EventType.STAGE_CHANGED,
            **target_fields, "version": number, "from_version": from_version, "to_version": number,
            "reason": reason, "evidence": evidence if snap.policy is not None or override else None,
            "override": overridden, "actor": actor,
        }
        events: list[EventRecord] = [move]
        for v in archive:
            events.append({
                "type": EventType.STAGE_CHANGED, "stage": ModelVersionStage.ARCHIVED.value, "version": v,
                "from_version": None, "to_version": v, "evidence": None, "override": False, "actor": actor,
                "reason": f"archived by the move of version {number} to {target.name}",
                "details": {"from_stage": target.name, "to_stage": ModelVersionStage.ARCHIVED.value},
            })
        applied = self._store.apply_move(snap, target, archive=archive, now=self._now(), events=events)
        update: dict[str, Any] = {"changed": True, "overridden": overridden, "event_id": applied.event_ids[0],
                                  "previous_version": from_version}
        return decision.model_copy(update=update), applied.candidate
