"""The rows of a guarded move in the SQL registry store: what a gate judges a candidate by
(``read_move_snapshot``, one round trip), the re-check under the model's lock
(``lock_for_move``, one round trip) and the alias or stage write once it passed (``write_move``).

``SqlRegistryStore.move_snapshot`` and ``apply_move`` open the transactions and lock the model;
the functions here work inside them.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, case, exists, func, insert, or_, select, update

from lockgate.errors import Conflict, NotFound
from lockgate.registry.entities import (
    EventType,
    GateTarget,
    ModelVersion,
    ModelVersionStage,
    RegistryEvent,
)
from lockgate.registry.gates import GatePolicy
from lockgate.registry.persistence import EventRecord, MoveSnapshot
from lockgate.registry.validation import UNGUARDED_STAGES
from lockgate.store.sql.registry_reads import read_together
from lockgate.store.sql.registry_rows import (
    AL,
    EV,
    GP,
    MV,
    MVT,
    RM,
    RUNS,
    event_entity,
    has_rules,
    holders_text,
    stmts,
    version_entity,
)

__all__ = ["guarded_alias_names", "lock_for_move", "read_move_snapshot", "write_move"]


@functools.cache
def _move_reads(kind: str, apply: bool, lock: bool) -> tuple[Any, ...]:
    """The SELECTs a move needs, built once per target kind, each naming the model by
    ``:name`` (not by id) so that all of them can go out together in one round trip.

    Parameters: ``name``, ``ver`` (the candidate) and ``target`` (the alias or stage). The
    snapshot reads everything; ``apply`` only the model, the candidate and the holders, with
    ``lock`` the model row ``FOR UPDATE`` (PostgreSQL): the statements after it run once the
    lock is held, so they see the state the move is applied to.
    """
    name: Any = bindparam("name")
    ver: Any = bindparam("ver")
    tgt: Any = bindparam("target")
    named = RM.alias("named")
    mid = select(named.c.id).where(named.c.name == name).scalar_subquery()
    model = select(RM).where(RM.c.name == name)
    version = select(MV).where(MV.c.model_id == mid, MV.c.version == ver)
    held, last = AL.alias("held"), EV.alias("last_move")
    if kind == "alias":
        holders = select(AL.c.version).where(AL.c.model_id == mid, AL.c.alias == tgt)
        others = select(held.c.version).where(held.c.model_id == mid, held.c.alias == tgt, held.c.version != ver)
        anyone = exists().where(held.c.model_id == mid, held.c.alias == tgt)
        took = [last.c.alias == tgt, last.c.event_type == EventType.ALIAS_SET.value]
    else:
        held = MV.alias("held")
        live = [held.c.model_id == mid, held.c.current_stage == tgt, held.c.deleted_time.is_(None)]
        holders = select(MV.c.version).where(
            MV.c.model_id == mid, MV.c.current_stage == tgt, MV.c.deleted_time.is_(None)).order_by(MV.c.version)
        others = select(func.max(held.c.version)).where(*live, held.c.version != ver)
        anyone = exists().where(*live)
        took = [last.c.stage == tgt, last.c.event_type == EventType.STAGE_CHANGED.value]
    # The version to beat: the newest other holder; for an empty target, the version that
    # held it last (event log), so removing the holder first cannot make a weaker candidate
    # "beat" nobody.
    last_holder = select(last.c.version).where(
        last.c.model_id == mid, last.c.version.is_not(None), last.c.version != ver, *took,
    ).order_by(last.c.id.desc()).limit(1).scalar_subquery()
    champ = func.coalesce(others.scalar_subquery(), case((~anyone, last_holder)))
    if apply:
        # The candidate's tags and aliases too: the move returns the version as it left it.
        return (model.with_for_update() if lock else model, version, holders,
                select(MVT.c.key, MVT.c.value).where(MVT.c.model_id == mid, MVT.c.version == ver),
                select(AL.c.alias).where(AL.c.model_id == mid, AL.c.version == ver).order_by(AL.c.alias))
    reads: tuple[Any, ...] = (model, version, holders)
    current = select(MV.c.current_stage).where(MV.c.model_id == mid, MV.c.version == ver).scalar_subquery()
    run_id = select(MV.c.run_id).where(MV.c.model_id == mid, MV.c.version == ver).scalar_subquery()
    return (
        *reads,
        select(MV).where(MV.c.model_id == mid, MV.c.version == champ),
        select(MVT.c.version, MVT.c.key, MVT.c.value).where(
            MVT.c.model_id == mid, or_(MVT.c.version == ver, MVT.c.version == champ)),
        select(AL.c.version, AL.c.alias).where(AL.c.model_id == mid, or_(AL.c.version == ver, AL.c.version == champ))
        .order_by(AL.c.alias),
        select(GP).where(GP.c.model_id == mid, GP.c.target_kind == kind, GP.c.target == tgt)
        .order_by(GP.c.policy_version.desc()).limit(1),
        select(GP.c.policy).where(GP.c.model_id == mid, GP.c.target_kind == "stage", GP.c.target == current)
        .order_by(GP.c.policy_version.desc()).limit(1),
        select(RUNS.c.status).where(RUNS.c.run_uuid == run_id),
        *((stmts()["alias_policies"],) if kind == "alias" else ()),
    )


def _found(name: str, version: int, model_rows: Sequence[Any], version_rows: Sequence[Any]) -> tuple[Any, Any]:
    """The model and version rows; NotFound (as the store words it) if either is missing."""
    if not model_rows:
        raise NotFound(f"Registered model {name!r} not found")
    if not version_rows:
        raise NotFound(f"Model version {version} of {name!r} not found")
    if version_rows[0].deleted_time is not None:
        raise NotFound(f"Model version {version} of {name!r} was deleted")
    return model_rows[0], version_rows[0]


def guarded_alias_names(rows: Sequence[Any]) -> frozenset[str]:
    """The aliases whose newest policy (rows ordered by alias, newest version first) has rules."""
    newest: dict[str, Any] = {}
    for r in rows:
        newest.setdefault(r.target, r)
    return frozenset(alias for alias, row in newest.items() if has_rules(row))


def read_move_snapshot(conn: Connection, name: str, version: int, target: GateTarget) -> MoveSnapshot:
    """The candidate, the target's holders, the version to beat, the policies, the run's
    status and (for an alias) the model's guarded aliases, as one round trip of reads sees them."""
    params = {"name": name, "ver": version, "target": target.name}
    snapshot_reads = _move_reads(target.kind, False, False)
    model_rows, version_rows, holder_rows, champ_rows, tag_rows, alias_rows, policy_rows, stage_policy_rows, \
        status_rows, *alias_policy_rows = read_together(conn, [(s, params) for s in snapshot_reads])
    model, row = _found(name, version, model_rows, version_rows)
    holders = tuple(r.version for r in holder_rows)
    champ_row = champ_rows[0] if champ_rows else None
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    for t in tag_rows:
        tags[t.version][t.key] = t.value
    aliases: dict[int, list[str]] = defaultdict(list)
    for a in alias_rows:
        aliases[a.version].append(a.alias)
    candidate = version_entity(row, name, tags[version], aliases[version])
    champion = None if champ_row is None else version_entity(
        champ_row, name, tags[champ_row.version], aliases[champ_row.version])
    prow = policy_rows[0] if policy_rows else None
    policy = GatePolicy.from_document(json.loads(prow.policy)) if prow else None
    current_guarded = row.current_stage not in UNGUARDED_STAGES and has_rules(
        stage_policy_rows[0] if stage_policy_rows else None)
    approvals: tuple[RegistryEvent, ...] = ()
    if policy is not None and any(r.type == "require_approvals" for r in policy.rules):
        approvals = tuple(event_entity(e) for e in conn.execute(select(EV).where(
            EV.c.model_id == model.id, EV.c.version == version,
            EV.c.event_type == EventType.VERSION_APPROVED.value).order_by(EV.c.id)))
    status_read = policy is None or not policy.rules
    run_status = status_rows[0].status if status_read and row.run_id and status_rows else None
    return MoveSnapshot(
        model_id=model.id, model_name=name, candidate=candidate, holders=holders,
        champion=champion, champion_is_last_holder=champion is not None and not holders,
        policy=policy, policy_version=prow.policy_version if prow else None,
        current_stage_guarded=current_guarded, approvals=approvals,
        candidate_run_status=run_status, run_status_read=status_read,
        guarded_aliases=guarded_alias_names(alias_policy_rows[0]) if alias_policy_rows else frozenset(),
    )


def lock_for_move(conn: Connection, snap: MoveSnapshot, target: GateTarget, *, lock: bool) -> ModelVersion:
    """Lock the model row (``lock``: PostgreSQL) and read the candidate, in one round trip;
    Conflict, writing nothing, unless ``target`` still has the holders ``snap`` saw."""
    name, number = snap.model_name, snap.candidate.version
    params = {"name": name, "ver": number, "target": target.name}
    reads = _move_reads(target.kind, True, lock)
    model_rows, version_rows, holder_rows, tag_rows, alias_rows = read_together(conn, [(s, params) for s in reads])
    if model_rows and model_rows[0].id != snap.model_id:
        raise Conflict(f"Registered model {name!r} was replaced during the promotion; retry")
    _, row = _found(name, number, model_rows, version_rows)
    holders = tuple(r.version for r in holder_rows)
    if holders != snap.holders:
        raise Conflict(
            f"{target} of {snap.model_name!r} changed from {holders_text(snap.holders)} to "
            f"{holders_text(holders)} while version {snap.candidate.version} was being evaluated; "
            "nothing was changed, promote again to evaluate against the new holder",
            details={"expected": list(snap.holders), "found": list(holders)},
        )
    return version_entity(row, name, {t.key: t.value for t in tag_rows}, [a.alias for a in alias_rows])


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
