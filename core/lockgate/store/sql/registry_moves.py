"""The rows of a guarded move in the SQL registry store: what a gate judges a candidate by
(``read_move_snapshot``) and the alias or stage write once it passed (``write_move``).

``SqlRegistryStore.move_snapshot`` and ``apply_move`` open the transactions and lock the model;
the functions here work inside them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lockgate.errors import Conflict
from lockgate.registry.entities import EventType, GateTarget, ModelVersionStage, RegistryEvent
from lockgate.registry.gates import GatePolicy
from lockgate.registry.persistence import EventRecord, MoveSnapshot
from lockgate.registry.validation import UNGUARDED_STAGES
from lockgate.store.sql.registry_rows import (
    AL,
    EV,
    MV,
    RUNS,
    event_entity,
    has_rules,
    holders_text,
    policy_row,
    stmts,
    version_entities,
)

__all__ = ["check_holders", "read_move_snapshot", "target_holders", "write_move"]


def target_holders(conn: Connection, model_id: int, target: GateTarget) -> tuple[int, ...]:
    """The versions holding the alias (at most one) or the stage now."""
    if target.kind == "alias":
        row = conn.execute(stmts()["alias_holder"], {"mid": model_id, "alias": target.name}).first()
        return (row.version,) if row else ()
    rows = conn.execute(stmts()["stage_holders"], {"mid": model_id, "stage": target.name}).all()
    return tuple(r.version for r in rows)


def _last_holder(conn: Connection, model_id: int, target: GateTarget, *, exclude: int) -> int | None:
    """The version other than ``exclude`` that most recently took the target (event log)."""
    if target.kind == "alias":
        where = [EV.c.alias == target.name, EV.c.event_type == EventType.ALIAS_SET.value]
    else:
        where = [EV.c.stage == target.name, EV.c.event_type == EventType.STAGE_CHANGED.value]
    return conn.execute(select(EV.c.version).where(
        EV.c.model_id == model_id, EV.c.version.is_not(None), EV.c.version != exclude, *where,
    ).order_by(EV.c.id.desc()).limit(1)).scalar()


def read_move_snapshot(conn: Connection, model_id: int, name: str, row: Any, target: GateTarget) -> MoveSnapshot:
    """The candidate (version ``row``), the target's holders, the version to beat, the policy
    and approvals, as one read sees them."""
    version = row.version
    holders = target_holders(conn, model_id, target)
    others = [v for v in holders if v != version]
    champ_row = None
    last_holder = False
    if others:
        champ_row = conn.execute(stmts()["version"], {"mid": model_id, "ver": max(others)}).first()
    elif not holders:
        # An empty target is judged against the version that held it last, so removing
        # the holder first cannot make a weaker candidate "beat" nobody.
        former = _last_holder(conn, model_id, target, exclude=version)
        if former is not None:
            champ_row = conn.execute(stmts()["version"], {"mid": model_id, "ver": former}).first()
            last_holder = champ_row is not None
    rows = [row] + ([champ_row] if champ_row is not None else [])
    entities = version_entities(conn, rows, {model_id: name})
    prow = policy_row(conn, model_id, target)
    policy = GatePolicy.from_document(json.loads(prow.policy)) if prow else None
    current_guarded = row.current_stage not in UNGUARDED_STAGES and has_rules(
        policy_row(conn, model_id, GateTarget(kind="stage", name=row.current_stage)))
    approvals: tuple[RegistryEvent, ...] = ()
    if policy is not None and any(r.type == "require_approvals" for r in policy.rules):
        approvals = tuple(event_entity(e) for e in conn.execute(select(EV).where(
            EV.c.model_id == model_id, EV.c.version == version,
            EV.c.event_type == EventType.VERSION_APPROVED.value).order_by(EV.c.id)))
    run_status = None
    status_read = policy is None or not policy.rules
    if status_read and row.run_id:
        run_status = conn.execute(select(RUNS.c.status).where(RUNS.c.run_uuid == row.run_id)).scalar()
    return MoveSnapshot(
        model_id=model_id, model_name=name, candidate=entities[0], holders=holders,
        champion=entities[1] if len(entities) > 1 else None, champion_is_last_holder=last_holder,
        policy=policy, policy_version=prow.policy_version if prow else None,
        current_stage_guarded=current_guarded, approvals=approvals,
        candidate_run_status=run_status, run_status_read=status_read,
    )


def check_holders(conn: Connection, snap: MoveSnapshot, target: GateTarget) -> None:
    """Conflict, writing nothing, unless ``target`` still has the holders ``snap`` saw."""
    holders = target_holders(conn, snap.model_id, target)
    if holders != snap.holders:
        raise Conflict(
            f"{target} of {snap.model_name!r} changed from {holders_text(snap.holders)} to "
            f"{holders_text(holders)} while version {snap.candidate.version} was being evaluated; "
            "nothing was changed, promote again to evaluate against the new holder",
            details={"expected": list(snap.holders), "found": list(holders)},
        )


def write_move(conn: Connection, snap: MoveSnapshot, target: GateTarget, *, current_stage: str,
               archive: Sequence[int], now: int, events: list[EventRecord]) -> None:
    """Give ``target`` to the candidate (now in ``current_stage``), archiving ``archive``,
    once ``check_holders`` passed. Writes only, so it may run in a ``pipelined`` block."""
    model_id, number = snap.model_id, snap.candidate.version
    actor = events[0].get("actor", "") if events else ""
    if target.kind == "alias":
        if snap.holders:
            conn.execute(update(AL).where(AL.c.model_id == model_id, AL.c.alias == target.name)
                         .values(version=number, set_by=actor, set_time=now))
        else:
            conn.execute(insert(AL).values(model_id=model_id, alias=target.name, version=number,
                                           set_by=actor, set_time=now))
        return
    conn.execute(update(MV).where(MV.c.model_id == model_id, MV.c.version == number)
                 .values(current_stage=target.name, last_updated_time=now))
    events[0].setdefault("details", {"from_stage": current_stage, "to_stage": target.name})
    if archive:
        conn.execute(update(MV).where(MV.c.model_id == model_id, MV.c.version.in_(list(archive)))
                     .values(current_stage=ModelVersionStage.ARCHIVED.value, last_updated_time=now))
