"""Rows to entities for the SQL registry store: prepared statements, version and model
entities with their tags and aliases, policy records and audit events."""

from __future__ import annotations

import functools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, insert, or_, select, text, update

from lockgate.errors import NotFound
from lockgate.registry.entities import (
    MOVE_EVENT_TYPES,
    EventType,
    GatePolicyRecord,
    GateTarget,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
)
from lockgate.search.grammar import OrderBy
from lockgate.search.sql import sort_key
from lockgate.store.sql.engine import pipelined, query_later
from lockgate.store.sql.registry_reads import read_together
from lockgate.store.sql.registry_tables import (
    GatePolicyTable,
    ModelAliasTable,
    ModelVersionTable,
    ModelVersionTagTable,
    RegisteredModelTable,
    RegisteredModelTagTable,
    RegistryEventTable,
)
from lockgate.store.sql.tables import RunTable

__all__ = [
    "AL",
    "EV",
    "GP",
    "MV",
    "MVT",
    "RM",
    "RMT",
    "RUNS",
    "append_events",
    "event_entity",
    "events_after",
    "has_rules",
    "holders_text",
    "model_by_name",
    "model_entities",
    "move_events",
    "named_reads",
    "now_ms",
    "order",
    "policy_record",
    "policy_row",
    "queue_events",
    "stmts",
    "version_by_alias",
    "version_entities",
    "version_entity",
]

RM: Table = RegisteredModelTable
RMT: Table = RegisteredModelTagTable
MV: Table = ModelVersionTable
MVT: Table = ModelVersionTagTable
AL: Table = ModelAliasTable
GP: Table = GatePolicyTable
EV: Table = RegistryEventTable
RUNS: Table = RunTable

# PostgreSQL hands out sequence values before commit, so a transaction holding id 7 may
# commit after one holding id 8 and a sensor reading "after 7" would skip it. Appending
# events under this transaction-scoped advisory lock makes commit order equal id order.
_PG_EVENTS_LOCK = 0x10C6A7F


def now_ms() -> int:
    """Now, in milliseconds since the epoch (the registry's timestamps)."""
    return int(time.time() * 1000)


@functools.cache
def stmts() -> dict[str, Any]:
    """Statements built once and executed with parameters: SQLAlchemy then skips rebuilding
    and re-hashing them, which is most of the cost of a small registry write."""
    mid: Any = bindparam("mid")
    name: Any = bindparam("name")
    ver: Any = bindparam("ver")
    model = select(RM).where(RM.c.name == name)
    version = select(MV).where(MV.c.model_id == mid, MV.c.version == ver)
    return {
        "model": model,
        "model_for_update": model.with_for_update(),
        "version": version,
        "next_version": select(func.coalesce(func.max(MV.c.version), 0)).where(MV.c.model_id == mid),
        # One round trip for "is this a retry?" and "what number comes next?".
        "next_or_keyed": select(
            select(func.coalesce(func.max(MV.c.version), 0)).where(MV.c.model_id == mid).scalar_subquery(),
            select(MV.c.version).where(MV.c.model_id == mid, MV.c.idempotency_key == bindparam("key"))
            .scalar_subquery(),
        ),
        "insert_version": insert(MV),
        "insert_version_tags": insert(MVT),
        "touch_model": update(RM).where(RM.c.id == mid).values(last_updated_time=bindparam("now")),
        "insert_event": insert(EV).returning(EV.c.id),
        "version_tags": select(MVT.c.key, MVT.c.value).where(MVT.c.model_id == mid, MVT.c.version == ver),
        "version_aliases": select(AL.c.alias).where(AL.c.model_id == mid, AL.c.version == ver),
        "alias_row": select(MV).join(AL, and_(AL.c.model_id == MV.c.model_id, AL.c.version == MV.c.version))
        .where(AL.c.model_id == mid, AL.c.alias == bindparam("alias")),
        "alias_holder": select(AL.c.version).where(AL.c.model_id == mid, AL.c.alias == bindparam("alias")),
        "stage_holders": select(MV.c.version).where(
            MV.c.model_id == mid, MV.c.current_stage == bindparam("stage"), MV.c.deleted_time.is_(None)
        ).order_by(MV.c.version),
        "policy": select(GP).where(GP.c.model_id == mid, GP.c.target_kind == bindparam("kind"),
                                   GP.c.target == bindparam("target"))
        .order_by(GP.c.policy_version.desc()).limit(1),
        "alias_policies": select(GP.c.target, GP.c.policy).join(RM, RM.c.id == GP.c.model_id)
        .where(RM.c.name == name, GP.c.target_kind == "alias")
        .order_by(GP.c.target, GP.c.policy_version.desc()),
        "run_info": select(RUNS.c.run_uuid, RUNS.c.experiment_id, RUNS.c.artifact_uri)
        .where(RUNS.c.run_uuid == bindparam("run_id")),
    }


def version_entities(conn: Connection, rows: Sequence[Any], names: Mapping[int, str]) -> list[ModelVersion]:
    """Entities for version rows, with their tags and aliases, in the rows' order."""
    if not rows:
        return []
    keys = {(r.model_id, r.version) for r in rows}
    tags: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
    if len(rows) == 1:
        mid, ver = rows[0].model_id, rows[0].version
        params = {"mid": mid, "ver": ver}
        tags[(mid, ver)] = {t.key: t.value for t in conn.execute(stmts()["version_tags"], params)}
        aliases[(mid, ver)] = [a.alias for a in conn.execute(stmts()["version_aliases"], params)]
    else:
        by_model: dict[int, list[int]] = defaultdict(list)
        for r in rows:
            by_model[r.model_id].append(r.version)
        for mid, vers in by_model.items():
            narrow = [MVT.c.version.in_(vers)] if len(vers) <= 500 else []
            for t in conn.execute(select(MVT).where(MVT.c.model_id == mid, *narrow)):
                tags[(mid, t.version)][t.key] = t.value
            narrow_al = [AL.c.version.in_(vers)] if len(vers) <= 500 else []
            for a in conn.execute(select(AL).where(AL.c.model_id == mid, *narrow_al)):
                if (mid, a.version) in keys:
                    aliases[(mid, a.version)].append(a.alias)
    return [
        version_entity(r, names[r.model_id], tags[(r.model_id, r.version)],
                        sorted(aliases[(r.model_id, r.version)]))
        for r in rows
    ]


def version_entity(row: Any, name: str, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    """The entity of one version row, given its tags and sorted aliases."""
    return ModelVersion(
        name=name,
        version=row.version,
        source=row.source,
        storage_location=row.storage_location,
        run_id=row.run_id,
        run_link=row.run_link,
        experiment_id=row.experiment_id,
        status=ModelVersionStatus(row.status),
        status_message=row.status_message,
        current_stage=row.current_stage,
        description=row.description,
        user_id=row.user_id,
        creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time,
        aliases=aliases,
        tags=tags,
        idempotency_key=row.idempotency_key,
    )


def model_entities(conn: Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
    """Entities for model rows, with tags, aliases and the latest version per stage."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    names = {r.id: r.name for r in rows}
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    for t in conn.execute(select(RMT).where(RMT.c.model_id.in_(ids))):
        tags[t.model_id][t.key] = t.value
    aliases: dict[int, dict[str, int]] = defaultdict(dict)
    for a in conn.execute(select(AL).where(AL.c.model_id.in_(ids)).order_by(AL.c.alias)):
        aliases[a.model_id][a.alias] = a.version
    latest = (
        select(MV.c.model_id, MV.c.current_stage, func.max(MV.c.version).label("v"))
        .where(MV.c.model_id.in_(ids), MV.c.deleted_time.is_(None))
        .group_by(MV.c.model_id, MV.c.current_stage)
        .subquery()
    )
    latest_rows = conn.execute(
        select(MV).join(latest, and_(MV.c.model_id == latest.c.model_id, MV.c.version == latest.c.v))
        .order_by(MV.c.model_id, MV.c.version)
    ).all()
    ids_by_name = {n: i for i, n in names.items()}
    by_model: dict[int, list[ModelVersion]] = defaultdict(list)
    for mv in version_entities(conn, latest_rows, names):
        by_model[ids_by_name[mv.name]].append(mv)
    return [
        RegisteredModel(
            name=r.name,
            description=r.description,
            creation_timestamp=r.creation_time,
            last_updated_timestamp=r.last_updated_time,
            tags=tags[r.id],
            aliases=aliases[r.id],
            latest_versions=by_model[r.id],
        )
        for r in rows
    ]


_EVENT_COLUMNS = ("event_type", "model_id", "model_name", "version", "alias", "stage", "from_version",
                  "to_version", "actor", "time", "reason", "evidence", "override", "details")
_PG_INSERT_EVENT = (f"INSERT INTO registry_events ({', '.join(_EVENT_COLUMNS)}) "
                    f"VALUES ({', '.join(['%s'] * len(_EVENT_COLUMNS))}) RETURNING id")
_PG_EVENTS_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"


def append_events(
    conn: Connection, dialect: str, events: Iterable[dict[str, Any]], *, returning: bool = True
) -> list[int]:
    """Append events as the transaction's last writes (see _PG_EVENTS_LOCK); their ids."""
    with pipelined(conn):
        ids = queue_events(conn, dialect, events)
    return ids() if returning else []


def queue_events(conn: Connection, dialect: str, events: Iterable[dict[str, Any]]) -> Callable[[], list[int]]:
    """Append events as the transaction's last writes, inside the caller's ``pipelined`` block,
    so on PostgreSQL (psycopg) they go in the round trip of the writes before them; returns
    what reads their ids once the block has ended."""
    now = now_ms()
    rows = [_event_values(ev, now) for ev in events]
    if not rows:
        return list
    if dialect == "postgresql":
        query_later(conn, text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_EVENTS_LOCK},
                    pg_sql=_PG_EVENTS_LOCK_SQL, pg_params=(_PG_EVENTS_LOCK,))
    found = [query_later(conn, stmts()["insert_event"], values, pg_sql=_PG_INSERT_EVENT,
                         pg_params=tuple(values[c] for c in _EVENT_COLUMNS)) for values in rows]
    return lambda: [r.fetchall()[0][0] for r in found]


def _event_values(ev: dict[str, Any], now: int) -> dict[str, Any]:
    return {
        "event_type": ev["type"].value,
        "model_id": ev.get("model_id"),
        "model_name": ev["model_name"],
        "version": ev.get("version"),
        "alias": ev.get("alias"),
        "stage": ev.get("stage"),
        "from_version": ev.get("from_version"),
        "to_version": ev.get("to_version"),
        "actor": ev.get("actor") or "",
        "time": ev.get("time") or now,
        "reason": ev.get("reason"),
        "evidence": json.dumps(ev["evidence"]) if ev.get("evidence") is not None else None,
        "override": bool(ev.get("override", False)),
        "details": json.dumps(ev["details"]) if ev.get("details") else None,
    }


def event_entity(row: Any) -> RegistryEvent:
    """The audit event of an event row."""
    return RegistryEvent(
        id=row.id,
        type=EventType(row.event_type),
        model_name=row.model_name,
        version=row.version,
        alias=row.alias,
        stage=row.stage,
        from_version=row.from_version,
        to_version=row.to_version,
        actor=row.actor,
        timestamp=row.time,
        reason=row.reason,
        evidence=json.loads(row.evidence) if row.evidence else None,
        override=bool(row.override),
        details=json.loads(row.details) if row.details else {},
    )


def policy_row(conn: Connection, model_id: int, target: GateTarget, policy_version: int | None = None) -> Any:
    """The newest (or the given version of the) policy row of a target; None if unguarded."""
    if policy_version is None:
        return conn.execute(stmts()["policy"], {"mid": model_id, "kind": target.kind,
                                                "target": target.name}).first()
    return conn.execute(select(GP).where(
        GP.c.model_id == model_id, GP.c.target_kind == target.kind, GP.c.target == target.name,
        GP.c.policy_version == policy_version)).first()


def policy_record(name: str, row: Any) -> GatePolicyRecord:
    """The record of a policy row."""
    return GatePolicyRecord(
        model_name=name, target=GateTarget(kind=row.target_kind, name=row.target),
        policy_version=row.policy_version, policy=json.loads(row.policy),
        created_by=row.created_by, created_at=row.created_at,
    )


def has_rules(row: Any) -> bool:
    """Whether a policy row exists and has at least one rule."""
    return row is not None and bool(json.loads(row.policy).get("rules"))


def order(sort: Sequence[OrderBy], columns: Mapping[str, Any], *, default: list[Any]) -> list[Any]:
    """ORDER BY clauses for ``sort`` (``default`` when empty)."""
    if not sort:
        return default
    return [sort_key(columns[o.key]).asc() if o.ascending else sort_key(columns[o.key]).desc() for o in sort]


def holders_text(holders: tuple[int, ...]) -> str:
    """Holders of an alias or stage as a message says them: "no version", "version 2, 3"."""
    if not holders:
        return "no version"
    return "version " + ", ".join(str(v) for v in holders)


def move_events(conn: Connection, model_id: int, *, alias: str | None, stage: str | None,
                limit: int) -> list[RegistryEvent]:
    """The model's move and refusal events (of one alias or stage, if given), oldest first."""
    stmt = select(EV).where(EV.c.model_id == model_id, EV.c.event_type.in_([t.value for t in MOVE_EVENT_TYPES]))
    if alias is not None:
        stmt = stmt.where(EV.c.alias == alias)
    if stage is not None:
        stmt = stmt.where(EV.c.stage == stage)
    return [event_entity(r) for r in conn.execute(stmt.order_by(EV.c.id).limit(limit)).all()]


def events_after(conn: Connection, after_id: int, *, model_name: str | None, types: Sequence[EventType],
                 limit: int) -> list[RegistryEvent]:
    """Events with ``id > after_id`` (of one model name, of some types), oldest first."""
    stmt = select(EV).where(EV.c.id > after_id)
    if model_name is not None:
        # Every model that ever bore the name, so renames and deletions keep their past.
        ids = select(EV.c.model_id).where(EV.c.model_name == model_name, EV.c.model_id.is_not(None)).distinct()
        stmt = stmt.where(or_(EV.c.model_name == model_name, EV.c.model_id.in_(ids)))
    if types:
        stmt = stmt.where(EV.c.event_type.in_([t.value for t in types]))
    return [event_entity(r) for r in conn.execute(stmt.order_by(EV.c.id).limit(limit)).all()]


@functools.cache
def named_reads() -> dict[str, tuple[Any, ...]]:
    """SELECTs that name the model by ``:name`` (not by id), so that a model, or a version by
    alias, is read with its tags and aliases in one round trip (``read_together``)."""
    name: Any = bindparam("name")
    named = RM.alias("named")
    mid = select(named.c.id).where(named.c.name == name).scalar_subquery()
    newest = MV.alias("newest")
    # The newest live version in each stage, as a derived table joined to (computed once; an
    # IN (subquery) form was planned as a loop re-running it per version on fresh statistics).
    latest = select(newest.c.model_id, func.max(newest.c.version).label("v")).where(
        newest.c.model_id == mid, newest.c.deleted_time.is_(None)
    ).group_by(newest.c.model_id, newest.c.current_stage).subquery("latest")
    held = select(AL.c.version).where(AL.c.model_id == mid, AL.c.alias == bindparam("alias")).scalar_subquery()
    # What creating a version reads first: the model (locked), the run, and "is this a retry?"
    # with "what number comes next?".
    next_or_keyed = select(
        select(func.coalesce(func.max(newest.c.version), 0)).where(newest.c.model_id == mid).scalar_subquery()
        .label("latest"),
        select(newest.c.version).where(newest.c.model_id == mid, newest.c.idempotency_key == bindparam("key"))
        .scalar_subquery().label("existing"),
    )
    run_info = select(RUNS.c.experiment_id, RUNS.c.artifact_uri).where(RUNS.c.run_uuid == bindparam("run_id"))
    return {
        "create_version": (select(RM).where(RM.c.name == name), run_info, next_or_keyed),
        "create_version_locked": (select(RM).where(RM.c.name == name).with_for_update(), run_info, next_or_keyed),
        "model": (
            select(RM).where(RM.c.name == name),
            select(RMT.c.key, RMT.c.value).where(RMT.c.model_id == mid),
            select(AL.c.alias, AL.c.version).where(AL.c.model_id == mid).order_by(AL.c.alias),
            select(MV).join(latest, and_(MV.c.model_id == latest.c.model_id, MV.c.version == latest.c.v))
            .order_by(MV.c.version),
            select(MVT.c.version, MVT.c.key, MVT.c.value).join(
                latest, and_(MVT.c.model_id == latest.c.model_id, MVT.c.version == latest.c.v)),
        ),
        "alias": (
            select(RM.c.id).where(RM.c.name == name),
            select(MV).where(MV.c.model_id == mid, MV.c.version == held),
            select(MVT.c.key, MVT.c.value).where(MVT.c.model_id == mid, MVT.c.version == held),
            select(AL.c.alias).where(AL.c.model_id == mid, AL.c.version == held).order_by(AL.c.alias),
        ),
    }


def model_by_name(conn: Connection, name: str) -> RegisteredModel | None:
    """The model ``name`` with its tags, aliases and latest version per stage, read in one
    round trip on PostgreSQL; None if there is no such model."""
    params = {"name": name}
    rows, tag_rows, alias_rows, version_rows, version_tag_rows = read_together(
        conn, [(s, params) for s in named_reads()["model"]])
    if not rows:
        return None
    model = rows[0]
    version_tags: dict[int, dict[str, str]] = defaultdict(dict)
    for t in version_tag_rows:
        version_tags[t.version][t.key] = t.value
    version_aliases: dict[int, list[str]] = defaultdict(list)
    for a in alias_rows:  # ordered by alias
        version_aliases[a.version].append(a.alias)
    return RegisteredModel(
        name=model.name,
        description=model.description,
        creation_timestamp=model.creation_time,
        last_updated_timestamp=model.last_updated_time,
        tags={t.key: t.value for t in tag_rows},
        aliases={a.alias: a.version for a in alias_rows},
        latest_versions=[version_entity(r, name, version_tags[r.version], version_aliases[r.version])
                         for r in version_rows],
    )


def version_by_alias(conn: Connection, name: str, alias: str) -> ModelVersion | None:
    """The version ``alias`` of model ``name`` points at, with its tags and aliases, in one
    round trip on PostgreSQL; NotFound if there is no such model, None if the alias is not set."""
    model_rows, rows, tag_rows, alias_rows = read_together(
        conn, [(s, {"name": name, "alias": alias}) for s in named_reads()["alias"]])
    if not model_rows:
        raise NotFound(f"Registered model {name!r} not found")
    if not rows:
        return None
    return version_entity(rows[0], name, {t.key: t.value for t in tag_rows}, [a.alias for a in alias_rows])
