"""``SqlRegistryStore``: the registry's rows on SQLite and PostgreSQL.

Implements ``lockgate.registry.persistence.RegistryStore``. Every change is one transaction
that also appends its audit events; a change that touches a model locks the model's row
(PostgreSQL ``FOR UPDATE``; SQLite writes are serialized by ``BEGIN IMMEDIATE``), so a guarded
change's ``decide`` callback sees the state the change is applied to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from lockgate.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from lockgate.registry.entities import (
    EventType,
    GatePolicyRecord,
    GateTarget,
    ModelVersion,
    ModelVersionStage,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
)
from lockgate.registry.persistence import (
    AppliedMove,
    Decide,
    EventRecord,
    ModelHolders,
    MoveSnapshot,
    PolicyDecide,
)
from lockgate.registry.validation import UNGUARDED_STAGES, validate_model_name
from lockgate.search.grammar import Comparison, OrderBy
from lockgate.search.sql import compile_comparison, keyed_clause, sort_key
from lockgate.store.sql.engine import get_engine, pipelined, read_connection, write_connection
from lockgate.store.sql.registry_moves import (
    guarded_alias_names,
    lock_for_move,
    read_move_snapshot,
    write_move,
)
from lockgate.store.sql.registry_reads import read_together
from lockgate.store.sql.registry_rows import (
    AL,
    EV,
    GP,
    MV,
    MVT,
    RM,
    RMT,
    append_events,
    event_entity,
    events_after,
    has_rules,
    model_by_name,
    model_entities,
    move_events,
    named_reads,
    order,
    policy_record,
    policy_row,
    queue_events,
    stmts,
    version_by_alias,
    version_entities,
)

__all__ = ["SqlRegistryStore"]


class SqlRegistryStore:
    """Registered models, versions, aliases, stages, gate policies and the audit log in SQL.

    ``engine_or_uri`` is a database URL (the engine is shared and migrated on first use) or an
    ``Engine`` you built.
    """

    def __init__(self, engine_or_uri: Engine | str) -> None:
        if isinstance(engine_or_uri, str):
            self.uri: str | None = engine_or_uri
            self.engine = get_engine(engine_or_uri)
        else:
            self.uri = None
            self.engine = engine_or_uri
        self._dialect = self.engine.dialect.name

    def __repr__(self) -> str:
        return f"SqlRegistryStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def shares_database_with(self, tracking_store: object) -> bool:
        """True when ``tracking_store`` keeps its runs in this very database."""
        return getattr(tracking_store, "engine", None) is self.engine

    # ================================================================ helpers
    def _model_row(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        validate_model_name(name)
        key = "model_for_update" if lock and self._dialect == "postgresql" else "model"
        row = conn.execute(stmts()[key], {"name": name}).first()
        if row is None:
            raise NotFound(f"Registered model {name!r} not found")
        return row

    @staticmethod
    def _version_row(conn: Connection, model_id: int, name: str, version: int) -> Any:
        row = conn.execute(stmts()["version"], {"mid": model_id, "ver": version}).first()
        if row is None:
            raise NotFound(f"Model version {version} of {name!r} not found")
        if row.deleted_time is not None:
            raise NotFound(f"Model version {version} of {name!r} was deleted")
        return row

    def _append(self, conn: Connection, model_id: int, name: str, events: list[EventRecord], *,
                now: int | None = None, returning: bool = True) -> list[int]:
        return append_events(conn, self._dialect, self._own(model_id, name, events, now=now), returning=returning)

    @staticmethod
    def _own(model_id: int, name: str, events: list[EventRecord], *, now: int | None = None) -> list[EventRecord]:
        for ev in events:
            ev.setdefault("model_id", model_id)
            ev.setdefault("model_name", name)
            if now is not None:
                ev.setdefault("time", now)
        return events

    def _touch_model(self, conn: Connection, model_id: int, now: int) -> None:
        conn.execute(stmts()["touch_model"], {"mid": model_id, "now": now})

    def _holders(self, conn: Connection, model: Any) -> ModelHolders:
        aliases = {r.alias: r.version for r in conn.execute(select(AL.c.alias, AL.c.version)
                                                           .where(AL.c.model_id == model.id))}
        stages = {r.version: r.current_stage for r in conn.execute(
            select(MV.c.version, MV.c.current_stage).where(
                MV.c.model_id == model.id, MV.c.deleted_time.is_(None),
                MV.c.current_stage.not_in(UNGUARDED_STAGES)))}
        live = conn.execute(select(func.count()).select_from(MV).where(
            MV.c.model_id == model.id, MV.c.deleted_time.is_(None))).scalar_one()
        targets = conn.execute(select(GP.c.target_kind, GP.c.target).where(GP.c.model_id == model.id)
                               .distinct()).all()
        guarded = frozenset(
            (r.target_kind, r.target) for r in targets
            if has_rules(policy_row(conn, model.id, GateTarget(kind=r.target_kind, name=r.target))))
        return ModelHolders(model_id=model.id, name=model.name, aliases=aliases, stages=stages,
                            guarded=guarded, live_versions=live)

    def model_holders(self, name: str) -> ModelHolders:
        """Who holds which alias and stage of ``name`` now, and which targets are guarded."""
        with read_connection(self.engine) as conn:
            return self._holders(conn, self._model_row(conn, name))

    def guarded_aliases(self, name: str) -> frozenset[str]:
        """The aliases of ``name`` whose policy in force has rules (none for an unknown model),
        in one query: setting an alias checks it against them on every call."""
        with read_connection(self.engine) as conn:
            return guarded_alias_names(conn.execute(stmts()["alias_policies"], {"name": name}).all())

    # ======================================================= registered models
    def create_model(self, name: str, *, description: str | None, tags: Sequence[tuple[str, str]],
                     now: int, event: EventRecord) -> None:
        """Insert the model; AlreadyExists if the name is taken."""
        try:
            with write_connection(self.engine) as conn:
                if conn.execute(select(RM.c.id).where(RM.c.name == name)).first() is not None:
                    raise AlreadyExists(f"Registered model {name!r} already exists")
                model_id = conn.execute(
                    insert(RM).values(name=name, description=description, creation_time=now,
                                      last_updated_time=now).returning(RM.c.id)
                ).scalar_one()
                if tags:
                    conn.execute(insert(RMT), [{"model_id": model_id, "key": k, "value": v} for k, v in tags])
                self._append(conn, model_id, name, [event])
        except IntegrityError:
            raise AlreadyExists(f"Registered model {name!r} already exists") from None

    def get_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and latest version per stage."""
        validate_model_name(name)
        with read_connection(self.engine) as conn:
            model = model_by_name(conn, name)
        if model is None:
            raise NotFound(f"Registered model {name!r} not found")
        return model

    def rename_model(self, name: str, new_name: str, *, now: int, decide: Decide) -> None:
        """Rename the model if ``decide`` allows it; AlreadyExists if ``new_name`` is taken."""
        try:
            with write_connection(self.engine) as conn:
                row = self._model_row(conn, name, lock=True)
                if new_name == name:
                    return
                if conn.execute(select(RM.c.id).where(RM.c.name == new_name)).first() is not None:
                    raise AlreadyExists(f"Registered model {new_name!r} already exists")
                events = decide(self._holders(conn, row))
                conn.execute(update(RM).where(RM.c.id == row.id).values(name=new_name, last_updated_time=now))
                self._append(conn, row.id, new_name, events)
        except IntegrityError:
            raise AlreadyExists(f"Registered model {new_name!r} already exists") from None

    def update_model(self, name: str, *, description: str | None, now: int, event: EventRecord) -> None:
        """Set the model's description."""
        with write_connection(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            conn.execute(update(RM).where(RM.c.id == row.id).values(description=description,
                                                                   last_updated_time=now))
            self._append(conn, row.id, name, [event])

    def delete_model(self, name: str, *, decide: Decide) -> None:
        """Delete the model with everything but its events, if ``decide`` allows it."""
        with write_connection(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            events = decide(self._holders(conn, row))
            for table in (AL, MVT, MV, RMT, GP):
                conn.execute(delete(table).where(table.c.model_id == row.id))
            conn.execute(delete(RM).where(RM.c.id == row.id))
            self._append(conn, row.id, name, events)

    def search_models(self, comparisons: Sequence[Comparison], sort: Sequence[OrderBy], *, offset: int,
                      limit: int) -> tuple[list[RegisteredModel], bool]:
        """One page of models matching ``comparisons``; True when more follow."""
        columns = {"name": RM.c.name, "creation_timestamp": RM.c.creation_time,
                   "last_updated_timestamp": RM.c.last_updated_time}
        stmt = select(RM)
        for c in comparisons:
            if c.kind == "tag":
                stmt = stmt.where(keyed_clause(c, owner=RMT.c.model_id == RM.c.id, key_column=RMT.c.key,
                                               value_column=RMT.c.value))
            else:
                stmt = stmt.where(compile_comparison(columns[c.key], c.op, c.value))
        stmt = stmt.order_by(*order(sort, columns, default=[sort_key(RM.c.name).asc()]), RM.c.id)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt.offset(offset).limit(limit + 1)).all()
            return model_entities(conn, rows[:limit]), len(rows) > limit

    def _upsert_tag(self, conn: Connection, table: Any, ident: dict[str, Any], key: str, value: str) -> bool:
        """Set the tag; False when it already had this value."""
        where = [getattr(table.c, k) == v for k, v in ident.items()] + [table.c.key == key]
        current = conn.execute(select(table.c.value).where(*where)).first()
        if current is None:
            conn.execute(insert(table).values(**ident, key=key, value=value))
            return True
        if current.value == value:
            return False
        conn.execute(update(table).where(*where).values(value=value))
        return True

    def set_model_tag(self, name: str, key: str, value: str, *, now: int, event: EventRecord) -> None:
        """Set the tag; the same value again records nothing."""
        with write_connection(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            if not self._upsert_tag(conn, RMT, {"model_id": row.id}, key, value):
                return
            self._touch_model(conn, row.id, now)
            self._append(conn, row.id, name, [event])

    def delete_model_tag(self, name: str, key: str, *, event: EventRecord) -> None:
        """Remove the tag; a tag that is not set is ignored (as MLflow does) and records nothing."""
        with write_connection(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            gone = conn.execute(delete(RMT).where(RMT.c.model_id == row.id, RMT.c.key == key)).rowcount
            if gone:
                self._append(conn, row.id, name, [event])

    # ========================================================== model versions
    def create_version(
        self, name: str, *, source: str, run_id: str | None, run_path: str | None,
        run_info: tuple[str, str] | None, read_run: bool, tags: Sequence[tuple[str, str]],
        run_link: str | None, description: str | None, actor: str, now: int, idempotency_key: str | None,
    ) -> ModelVersion:
        """A new version, always, as in MLflow; with ``idempotency_key``, the version that key
        already made (a retry), if any.

        ``run_info`` is (experiment id, artifact URI) of ``run_id``; ``read_run`` reads it from
        this database's runs table instead, inside the transaction (NotFound if missing).
        """
        validate_model_name(name)
        reads = named_reads()["create_version_locked" if self._dialect == "postgresql" else "create_version"]
        params = {"name": name, "run_id": run_id if read_run else None, "key": idempotency_key}
        with write_connection(self.engine) as conn:
            # The lock, the run and the next number in one round trip on PostgreSQL.
            model_rows, run_rows, numbers = read_together(conn, [(s, params) for s in reads])
            if not model_rows:
                raise NotFound(f"Registered model {name!r} not found")
            model = model_rows[0]
            if read_run:
                if not run_rows:
                    raise NotFound(f"Run {run_id!r} not found")
                run_info = (str(run_rows[0].experiment_id), run_rows[0].artifact_uri)
            experiment_id = run_info[0] if run_info else None
            storage_location = source
            if run_info is not None and run_path is not None:
                root = run_info[1].rstrip("/")
                storage_location = f"{root}/{run_path}" if run_path else root
            latest, existing = numbers[0].latest, numbers[0].existing
            if existing is not None:
                return self._keyed_version(conn, model.id, name, existing, idempotency_key, source, run_id)
            version = latest + 1
            with pipelined(conn):  # the writes and the event as one round trip on PostgreSQL
                self._insert_version(conn, model.id, name, version, {
                    "model_id": model.id, "version": version, "source": source,
                    "storage_location": storage_location, "run_id": run_id, "experiment_id": experiment_id,
                    "run_link": run_link, "status": ModelVersionStatus.READY.value,
                    "status_message": None, "current_stage": ModelVersionStage.NONE.value,
                    "description": description, "user_id": actor, "creation_time": now,
                    "last_updated_time": now, "deleted_time": None, "idempotency_key": idempotency_key,
                }, tags=tags, now=now, actor=actor)
        return ModelVersion(
            name=name, version=version, source=source, storage_location=storage_location, run_id=run_id,
            run_link=run_link, experiment_id=experiment_id, description=description, user_id=actor,
            creation_timestamp=now, last_updated_timestamp=now, tags=dict(tags),
            idempotency_key=idempotency_key,
        )

    def _insert_version(self, conn: Connection, model_id: int, name: str, version: int, values: dict[str, Any],
                        *, tags: Sequence[tuple[str, str]], now: int, actor: str) -> None:
        """Queue the version, its tags and its event (inside the caller's ``pipelined`` block)."""
        q = stmts()
        conn.execute(q["insert_version"], values)
        if tags:
            conn.execute(q["insert_version_tags"], [
                {"model_id": model_id, "version": version, "key": k, "value": v} for k, v in tags])
        self._touch_model(conn, model_id, now)
        queue_events(conn, self._dialect, self._own(model_id, name, [{
            "type": EventType.VERSION_CREATED, "version": version, "actor": actor, "time": now,
            "details": {"source": values["source"], "run_id": values["run_id"], "tags": dict(tags),
                        "description": values["description"]},
        }]))

    def _keyed_version(self, conn: Connection, model_id: int, name: str, version: int, key: str | None,
                       source: str, run_id: str | None) -> ModelVersion:
        """The version an idempotency key already made, if the retry asks for the same thing."""
        row = conn.execute(stmts()["version"], {"mid": model_id, "ver": version}).one()
        if row.deleted_time is not None:
            raise InvalidArgument(
                f"idempotency_key {key!r} made version {version} of {name!r}, which was deleted; "
                "use a new key to register again")
        if row.source != source or row.run_id != run_id:
            raise InvalidArgument(
                f"idempotency_key {key!r} already made version {version} of {name!r} from "
                f"{row.source!r}; a retry must register the same source and run")
        return version_entities(conn, [row], {model_id: name})[0]

    def get_version(self, name: str, version: int) -> ModelVersion:
        """The version with its tags and aliases; NotFound if unknown or deleted."""
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model.id, name, version)
            return version_entities(conn, [row], {model.id: name})[0]

    def update_version(self, name: str, version: int, *, description: str | None, now: int,
                       event: EventRecord) -> None:
        """Set the version's description."""
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, version)
            conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version == version)
                         .values(description=description, last_updated_time=now))
            self._append(conn, model.id, name, [event])

    def delete_version(self, name: str, version: int, *, now: int, decide: Decide) -> None:
        """Tombstone the version and drop its aliases, if ``decide`` allows it."""
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, version)
            events = decide(self._holders(conn, model))
            conn.execute(delete(AL).where(AL.c.model_id == model.id, AL.c.version == version))
            conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version == version)
                         .values(deleted_time=now, last_updated_time=now))
            self._touch_model(conn, model.id, now)
            self._append(conn, model.id, name, events)

    def search_versions(self, comparisons: Sequence[Comparison], sort: Sequence[OrderBy], *, offset: int,
                        limit: int) -> tuple[list[ModelVersion], bool]:
        """One page of live versions matching ``comparisons``; True when more follow."""
        stmt = select(MV, RM.c.name.label("model_name")).join(RM, RM.c.id == MV.c.model_id).where(
            MV.c.deleted_time.is_(None))
        columns = {"name": RM.c.name, "version_number": MV.c.version, "run_id": MV.c.run_id,
                   "source_path": MV.c.source, "current_stage": MV.c.current_stage,
                   "user_id": MV.c.user_id, "creation_timestamp": MV.c.creation_time,
                   "last_updated_timestamp": MV.c.last_updated_time}
        for c in comparisons:
            if c.kind == "tag":
                owner = and_(MVT.c.model_id == MV.c.model_id, MVT.c.version == MV.c.version)
                stmt = stmt.where(keyed_clause(c, owner=owner, key_column=MVT.c.key, value_column=MVT.c.value))
                continue
            value = c.value
            if c.key == "current_stage" and isinstance(value, tuple):
                value = tuple(ModelVersionStage.parse(v).value for v in value)
            elif c.key == "current_stage" and isinstance(value, str):
                value = ModelVersionStage.parse(value).value
            stmt = stmt.where(compile_comparison(columns[c.key], c.op, value))
        default = [sort_key(RM.c.name).asc(), MV.c.version.desc()]
        stmt = stmt.order_by(*order(sort, columns, default=default), MV.c.model_id, MV.c.version)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt.offset(offset).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            return version_entities(conn, rows, {r.model_id: r.model_name for r in rows}), more

    def latest_version(self, name: str, *, stage: str | None) -> ModelVersion | None:
        """The newest live version (in ``stage``, if given); None if there is none."""
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            stmt = select(MV).where(MV.c.model_id == model.id, MV.c.deleted_time.is_(None))
            if stage is not None:
                stmt = stmt.where(MV.c.current_stage == stage)
            row = conn.execute(stmt.order_by(MV.c.version.desc()).limit(1)).first()
            return None if row is None else version_entities(conn, [row], {model.id: name})[0]

    def set_version_tag(self, name: str, version: int, key: str, value: str, *, now: int,
                        event: EventRecord) -> None:
        """Set the tag; the same value again records nothing."""
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, version)
            if not self._upsert_tag(conn, MVT, {"model_id": model.id, "version": version}, key, value):
                return
            conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version == version)
                         .values(last_updated_time=now))
            self._append(conn, model.id, name, [event])

    def delete_version_tag(self, name: str, version: int, key: str, *, event: EventRecord) -> None:
        """Remove the tag; a tag that is not set is ignored (as MLflow does) and records nothing."""
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, version)
            gone = conn.execute(delete(MVT).where(MVT.c.model_id == model.id, MVT.c.version == version,
                                                  MVT.c.key == key)).rowcount
            if gone:
                self._append(conn, model.id, name, [event])

    # ================================================================= aliases
    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; NotFound if the alias is not set."""
        validate_model_name(name)
        with read_connection(self.engine) as conn:
            found = version_by_alias(conn, name, alias)
        if found is None:
            raise NotFound(f"Registered model {name!r} has no alias {alias!r}")
        return found

    def delete_alias(self, name: str, alias: str, *, now: int, decide: Decide) -> None:
        """Remove the alias, if ``decide`` allows it; NotFound if it is not set."""
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            holders = self._holders(conn, model)
            if alias not in holders.aliases:
                raise NotFound(f"Registered model {name!r} has no alias {alias!r}")
            events = decide(holders)
            conn.execute(delete(AL).where(AL.c.model_id == model.id, AL.c.alias == alias))
            self._touch_model(conn, model.id, now)
            self._append(conn, model.id, name, events)

    # =================================================================== moves
    def move_snapshot(self, name: str, version: int, target: GateTarget) -> MoveSnapshot:
        """The candidate, the target's holders, the version to beat, the policy and approvals
        (one round trip of reads on PostgreSQL)."""
        validate_model_name(name)
        with read_connection(self.engine) as conn:
            return read_move_snapshot(conn, name, version, target)

    def apply_move(self, snap: MoveSnapshot, target: GateTarget, *, archive: Sequence[int], now: int,
                   events: list[EventRecord]) -> AppliedMove:
        """Move the candidate to ``target`` (archiving ``archive``) if the target still has the
        holders ``snap`` saw; Conflict, changing nothing, otherwise. Returns the event ids and
        the candidate as moved."""
        name = snap.model_name
        try:
            with write_connection(self.engine) as conn:
                # Lock, candidate and holders in one round trip; the writes and the audit
                # events in a second (PostgreSQL).
                candidate = lock_for_move(conn, snap, target, lock=self._dialect == "postgresql")
                with pipelined(conn):
                    write_move(conn, snap, target, current_stage=candidate.current_stage, archive=archive,
                               now=now, events=events)
                    self._touch_model(conn, snap.model_id, now)
                    ids = queue_events(conn, self._dialect, self._own(snap.model_id, name, events, now=now))
                event_ids = ids()
        except IntegrityError:
            raise Conflict(f"{target} of {name!r} was set concurrently; promote again") from None
        if target.kind == "stage":
            candidate = candidate.model_copy(update={"current_stage": target.name, "last_updated_timestamp": now})
        else:
            candidate = candidate.model_copy(update={"aliases": sorted({*candidate.aliases, target.name})})
        return AppliedMove(event_ids=event_ids, candidate=candidate)

    # ================================================================ policies
    def get_policy(self, name: str, target: GateTarget, *, policy_version: int | None) -> GatePolicyRecord | None:
        """The policy in force for the target (or the given version); None if there is none."""
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            row = policy_row(conn, model.id, target, policy_version)
        return None if row is None else policy_record(name, row)

    def list_policies(self, name: str) -> list[GatePolicyRecord]:
        """The policy in force for every target of the model that ever had one."""
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            newest = (select(GP.c.target_kind, GP.c.target, func.max(GP.c.policy_version).label("v"))
                      .where(GP.c.model_id == model.id).group_by(GP.c.target_kind, GP.c.target).subquery())
            rows = conn.execute(select(GP).join(newest, and_(
                GP.c.target_kind == newest.c.target_kind, GP.c.target == newest.c.target,
                GP.c.policy_version == newest.c.v)).where(GP.c.model_id == model.id)
                .order_by(GP.c.target_kind, GP.c.target)).all()
        return [policy_record(name, r) for r in rows]

    def put_policy(self, name: str, target: GateTarget, document: dict[str, Any], *, actor: str, now: int,
                   decide: PolicyDecide) -> GatePolicyRecord:
        """Store a new version of the target's policy, if ``decide`` returns its events."""
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            current_row = policy_row(conn, model.id, target)
            current = policy_record(name, current_row) if current_row is not None else None
            events = decide(current, self._holders(conn, model))
            if events is None:
                assert current is not None  # "no change" is only decided for an existing policy
                return current
            number = (current.policy_version if current is not None else 0) + 1
            conn.execute(insert(GP).values(model_id=model.id, target_kind=target.kind, target=target.name,
                                           policy_version=number, policy=json.dumps(document, sort_keys=True),
                                           created_by=actor, created_at=now))
            for ev in events:
                ev.setdefault("details", {}).update(policy_version=number)
            self._append(conn, model.id, name, events)
        return GatePolicyRecord(model_name=name, target=target, policy_version=number, policy=document,
                                created_by=actor, created_at=now)

    # ====================================================== approvals, events
    def approve_version(self, name: str, version: int, *, actor: str, details: dict[str, Any]) -> RegistryEvent:
        """Record ``actor``'s approval once; a repeat returns the first approval."""
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, version)
            earlier = conn.execute(select(EV).where(
                EV.c.model_id == model.id, EV.c.version == version,
                EV.c.event_type == EventType.VERSION_APPROVED.value, EV.c.actor == actor,
            ).order_by(EV.c.id).limit(1)).first()
            if earlier is not None:
                return event_entity(earlier)
            (event_id,) = self._append(conn, model.id, name, [{
                "type": EventType.VERSION_APPROVED, "version": version, "actor": actor, "details": details}])
            row = conn.execute(select(EV).where(EV.c.id == event_id)).one()
        return event_entity(row)

    def append_events(self, model_id: int, name: str, events: list[EventRecord]) -> list[int]:
        """Append events in a transaction of their own (refusals, which change nothing else)."""
        with write_connection(self.engine) as conn:
            return self._append(conn, model_id, name, events)

    def history(self, name: str, *, alias: str | None, stage: str | None, limit: int) -> list[RegistryEvent]:
        """The model's move and refusal events, oldest first."""
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            return move_events(conn, model.id, alias=alias, stage=stage, limit=limit)

    def events(self, *, after_id: int, model_name: str | None, types: Sequence[EventType],
               limit: int) -> list[RegistryEvent]:
        """Events with ``id > after_id``, oldest first."""
        with read_connection(self.engine) as conn:
            return events_after(conn, after_id, model_name=model_name, types=types, limit=limit)
