"""``SqlRegistry``: the model registry service on SQLite and PostgreSQL.

Every change is one transaction that also appends its audit events. Moves of an alias or a
stage are evaluated against the gate policy first (outside any lock, since rules may read
runs or call user code), then applied in a short transaction that locks the model's row and
checks the target still has the holder the gate was judged against. If another promotion
moved it in between, this one raises ``Conflict`` and changes nothing: a gate that compared
the candidate with the old holder must not let it replace a new one. Two concurrent
promotions therefore end with one winner and one ``Conflict``, or, when the second started
after the first committed, with two valid moves in order; never with zero or two holders.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from lockgate.entities import PagedList, Run, RunStatus
from lockgate.errors import (
    AlreadyExists,
    Conflict,
    GateFailed,
    InvalidArgument,
    NotFound,
)
from lockgate.registry.entities import (
    MOVE_EVENT_TYPES,
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
from lockgate.registry.filters import (
    OrderBy,
    parse_model_filter,
    parse_model_order_by,
    parse_version_filter,
    parse_version_order_by,
)
from lockgate.registry.gates import GateContext, GatePolicy, check_rules_installed, evaluate_policy
from lockgate.registry.guards import (
    GUARD_RULE,
    check_override,
    guarded_change_refused,
    leaves_guarded_stage,
)
from lockgate.registry.uris import parse_model_uri
from lockgate.search.sql import compile_comparison, keyed_clause, sort_key
from lockgate.store.base import TrackingStore
from lockgate.store.paging import decode_page_token, encode_page_token
from lockgate.store.sql.engine import get_engine, read_connection, write_connection
from lockgate.store.sql.registry_tables import (
    MAX_SOURCE_LENGTH,
    GatePolicyTable,
    ModelAliasTable,
    ModelVersionTable,
    ModelVersionTagTable,
    RegisteredModelTable,
    RegisteredModelTagTable,
    RegistryEventTable,
)
from lockgate.store.sql.tables import RunTable

__all__ = ["SqlRegistry", "validate_alias", "validate_model_name", "version_number"]

RM: Table = RegisteredModelTable.__table__  # type: ignore[attr-defined]
RMT: Table = RegisteredModelTagTable.__table__  # type: ignore[attr-defined]
MV: Table = ModelVersionTable.__table__  # type: ignore[attr-defined]
MVT: Table = ModelVersionTagTable.__table__  # type: ignore[attr-defined]
AL: Table = ModelAliasTable.__table__  # type: ignore[attr-defined]
GP: Table = GatePolicyTable.__table__  # type: ignore[attr-defined]
EV: Table = RegistryEventTable.__table__  # type: ignore[attr-defined]
RUNS: Table = RunTable.__table__  # type: ignore[attr-defined]

MAX_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 5000
MAX_MODELS_PAGE = 1000
MAX_VERSIONS_PAGE = 200_000
# PostgreSQL hands out sequence values before commit, so a transaction holding id 7 may
# commit after one holding id 8 and a sensor reading "after 7" would skip it. Appending
# events under this transaction-scoped advisory lock makes commit order equal id order.
_PG_EVENTS_LOCK = 0x10C6A7F
_ALIAS_RE = re.compile(r"^[\w\-]+$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_RUNS_URI = re.compile(r"^runs:/([^/]+)(?:/(.*))?$")
_UNGUARDED_STAGES = (ModelVersionStage.NONE, ModelVersionStage.ARCHIVED)


def _now_ms() -> int:
    return int(time.time() * 1000)


@functools.cache
def _stmts() -> dict[str, Any]:
    """Statements built once and executed with parameters: SQLAlchemy then skips rebuilding
    and re-hashing them, which is most of the cost of a small registry write."""
    mid: Any = bindparam("mid")
    name: Any = bindparam("name")
    ver: Any = bindparam("ver")
    model = select(RM).where(RM.c.name == name)
    version = select(MV).where(MV.c.model_id == mid, MV.c.version == ver)
    live = and_(MV.c.model_id == mid, MV.c.source == bindparam("source"), MV.c.deleted_time.is_(None))
    return {
        "model": model,
        "model_for_update": model.with_for_update(),
        "version": version,
        # One round trip for "is this a retry?" and "what number comes next?".
        "next_or_existing_run": select(
            select(func.coalesce(func.max(MV.c.version), 0)).where(MV.c.model_id == mid).scalar_subquery(),
            select(MV.c.version).where(live, MV.c.run_id == bindparam("run_id"))
            .order_by(MV.c.version).limit(1).scalar_subquery(),
        ),
        "next_or_existing_none": select(
            select(func.coalesce(func.max(MV.c.version), 0)).where(MV.c.model_id == mid).scalar_subquery(),
            select(MV.c.version).where(live, MV.c.run_id.is_(None))
            .order_by(MV.c.version).limit(1).scalar_subquery(),
        ),
        "insert_version": insert(MV),
        "insert_version_tags": insert(MVT),
        "touch_model": update(RM).where(RM.c.id == mid).values(last_updated_time=bindparam("now")),
        "insert_event": insert(EV).returning(EV.c.id),
        "insert_event_quiet": insert(EV),
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
        "run_info": select(RUNS.c.run_uuid, RUNS.c.experiment_id, RUNS.c.artifact_uri)
        .where(RUNS.c.run_uuid == bindparam("run_id")),
    }


def version_number(version: int | str) -> int:
    """``version`` as a positive int; ``"3"`` is accepted, anything else is InvalidArgument."""
    if isinstance(version, bool):
        raise InvalidArgument(f"Invalid model version {version!r}: expected a positive integer")
    if isinstance(version, int):
        value = version
    elif isinstance(version, str) and version.strip().isdigit():
        value = int(version.strip())
    else:
        raise InvalidArgument(f"Invalid model version {version!r}: expected a positive integer")
    if value < 1:
        raise InvalidArgument(f"Invalid model version {version!r}: versions start at 1")
    return value


def validate_model_name(name: object) -> str:
    """The name, if it can be a registered model's (and a ``models:/`` URI's) name."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"Invalid registered model name {name!r}: it must be a non-empty string")
    if name != name.strip():
        raise InvalidArgument(f"Invalid registered model name {name!r}: leading or trailing whitespace")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"Invalid registered model name {name[:40]!r}...: longer than {MAX_NAME_LENGTH} characters"
        )
    if "/" in name or "@" in name or ":" in name:
        raise InvalidArgument(
            f"Invalid registered model name {name!r}: '/', '@' and ':' are not allowed "
            "(they would make models:/ URIs ambiguous)"
        )
    return name


def validate_alias(alias: object) -> str:
    """The alias, if MLflow's rules allow it: word characters and dashes, not latest or v<N>."""
    if not isinstance(alias, str) or not alias:
        raise InvalidArgument(f"Invalid alias {alias!r}: it must be a non-empty string")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidArgument(f"Invalid alias {alias[:40]!r}...: longer than {MAX_ALIAS_LENGTH} characters")
    if not _ALIAS_RE.match(alias):
        raise InvalidArgument(
            f"Invalid alias {alias!r}: only letters, digits, underscores and dashes are allowed"
        )
    if _RESERVED_ALIAS.match(alias):
        raise InvalidArgument(
            f"Invalid alias {alias!r}: 'latest' and 'v<number>' are reserved for model URIs"
        )
    return alias


def _validate_tag(key: object, value: object) -> tuple[str, str]:
    if not isinstance(key, str) or not key.strip():
        raise InvalidArgument(f"Invalid tag key {key!r}: it must be a non-empty string")
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise InvalidArgument(f"Invalid tag key {key[:40]!r}...: longer than {MAX_TAG_KEY_LENGTH} characters")
    text_value = value if isinstance(value, str) else str(value)
    if len(text_value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidArgument(
            f"Tag {key!r} has a value of {len(text_value)} characters; the limit is {MAX_TAG_VALUE_LENGTH}"
        )
    return key, text_value


def _target(alias: str | None, stage: str | ModelVersionStage | None) -> GateTarget:
    if (alias is None) == (stage is None):
        raise InvalidArgument("Name exactly one target: alias=... or stage=...")
    if alias is not None:
        return GateTarget(kind="alias", name=validate_alias(alias))
    return GateTarget(kind="stage", name=ModelVersionStage.parse(stage).value)  # type: ignore[arg-type]


@dataclass
class _Snapshot:
    """What the read phase of a move saw; the write phase re-checks ``holders``."""

    model_id: int
    model_name: str
    candidate: ModelVersion
    holders: tuple[int, ...]
    champion: ModelVersion | None
    champion_is_last_holder: bool
    leaves_guarded: str | None
    policy: GatePolicy | None
    policy_version: int | None
    approvals: tuple[RegistryEvent, ...]


class _Refused(Exception):
    """Raised inside a transaction to roll it back when a guarded change has no override."""

    def __init__(self, model_id: int, targets: Sequence[GateTarget], version: int | None = None) -> None:
        super().__init__(model_id)
        self.model_id, self.targets, self.version = model_id, list(targets), version


class SqlRegistry:
    """Registered models, versions, aliases, stages, gate policies and the audit log in SQL.

    ``engine_or_uri`` is a database URL (the engine is shared and migrated on first use) or
    an ``Engine`` you built. ``tracking_store`` is where runs are read for gates and lineage;
    by default the tracking store of the same URI.
    """

    def __init__(self, engine_or_uri: Engine | str, tracking_store: TrackingStore | None = None) -> None:
        if isinstance(engine_or_uri, str):
            self.uri: str | None = engine_or_uri
            self.engine = get_engine(engine_or_uri)
        else:
            self.uri = None
            self.engine = engine_or_uri
        self._tracking = tracking_store
        self._dialect = self.engine.dialect.name

    def __repr__(self) -> str:
        return f"SqlRegistry({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def tracking_store(self) -> TrackingStore | None:
        """The store runs are read from (built from the registry's URI on first use)."""
        if self._tracking is None and self.uri is not None:
            from lockgate.store import get_tracking_store

            self._tracking = get_tracking_store(self.uri)
        return self._tracking

    # ================================================================ helpers
    def _model_row(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        validate_model_name(name)
        key = "model_for_update" if lock and self._dialect == "postgresql" else "model"
        row = conn.execute(_stmts()[key], {"name": name}).first()
        if row is None:
            raise NotFound(f"Registered model {name!r} not found")
        return row

    def _version_row(self, conn: Connection, model_id: int, name: str, version: int) -> Any:
        row = conn.execute(_stmts()["version"], {"mid": model_id, "ver": version}).first()
        if row is None:
            raise NotFound(f"Model version {version} of {name!r} not found")
        if row.deleted_time is not None:
            raise NotFound(f"Model version {version} of {name!r} was deleted")
        return row

    def _versions(self, conn: Connection, rows: Sequence[Any], names: Mapping[int, str]) -> list[ModelVersion]:
        if not rows:
            return []
        keys = {(r.model_id, r.version) for r in rows}
        tags: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
        aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
        if len(rows) == 1:
            mid, ver = rows[0].model_id, rows[0].version
            params = {"mid": mid, "ver": ver}
            tags[(mid, ver)] = {t.key: t.value for t in conn.execute(_stmts()["version_tags"], params)}
            aliases[(mid, ver)] = [a.alias for a in conn.execute(_stmts()["version_aliases"], params)]
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
            self._version_entity(r, names[r.model_id], tags[(r.model_id, r.version)],
                                 sorted(aliases[(r.model_id, r.version)]))
            for r in rows
        ]

    @staticmethod
    def _version_entity(row: Any, name: str, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
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
        )

    def _models(self, conn: Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
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
        for mv in self._versions(conn, latest_rows, names):
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

    def _append_events(
        self, conn: Connection, events: Iterable[dict[str, Any]], *, returning: bool = True
    ) -> list[int]:
        """Append events as the transaction's last writes (see _PG_EVENTS_LOCK)."""
        rows = list(events)
        if not rows:
            return []
        if self._dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_EVENTS_LOCK})
        now = _now_ms()
        ids = []
        for ev in rows:
            values = {
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
            if returning:
                ids.append(conn.execute(_stmts()["insert_event"], values).scalar_one())
            else:
                conn.execute(_stmts()["insert_event_quiet"], values)
        return ids

    @staticmethod
    def _event_entity(row: Any) -> RegistryEvent:
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

    def _guarded(self, conn: Connection, model_id: int, targets: Iterable[GateTarget]) -> list[GateTarget]:
        """The targets among ``targets`` whose policy in force has at least one rule."""
        return [t for t in targets if _has_rules(self._policy_row(conn, model_id, t))]

    def _all_guarded(self, conn: Connection, model_id: int) -> list[GateTarget]:
        rows = conn.execute(select(GP.c.target_kind, GP.c.target).where(GP.c.model_id == model_id)
                            .distinct().order_by(GP.c.target_kind, GP.c.target)).all()
        return self._guarded(conn, model_id, [GateTarget(kind=r.target_kind, name=r.target) for r in rows])

    def _reject(self, refusal: _Refused, *, name: str, what: str, actor: str, reason: str | None) -> NoReturn:
        """Record a refused guarded change as GATE_REJECTED and raise GateFailed."""
        model_id, targets, version = refusal.model_id, refusal.targets, refusal.version
        error = guarded_change_refused(name, what, targets, version=version)
        first = targets[0]
        with write_connection(self.engine) as conn:
            self._append_events(conn, [{
                "type": EventType.GATE_REJECTED, "model_id": model_id, "model_name": name, "version": version,
                "from_version": version, "actor": actor, "reason": reason,
                "alias": first.name if first.kind == "alias" else None,
                "stage": first.name if first.kind == "stage" else None,
                "evidence": {"passed": False, "results": [r.model_dump(mode="json") for r in error.results],
                             "policy_version": None},
                "details": {"change": what, "targets": [str(t) for t in targets]},
            }])
        raise error

    def _touch_model(self, conn: Connection, model_id: int, now: int) -> None:
        conn.execute(_stmts()["touch_model"], {"mid": model_id, "now": now})

    def _get_run(self, run_id: str) -> tuple[Run | None, str | None]:
        store = self.tracking_store
        if store is None:
            return None, f"no tracking store is configured to read run {run_id}"
        try:
            return store.get_run(run_id), None
        except NotFound:
            return None, f"run {run_id} no longer exists"

    # ======================================================= registered models
    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        exist_ok: bool = False,
        actor: str = "",
    ) -> RegisteredModel:
        """A new, empty registered model; AlreadyExists if the name is taken, unless
        ``exist_ok`` (for retried pipeline steps), which returns the existing model unchanged."""
        validate_model_name(name)
        tag_items = [_validate_tag(k, v) for k, v in (tags or {}).items()]
        now = _now_ms()
        try:
            with write_connection(self.engine) as conn:
                if conn.execute(select(RM.c.id).where(RM.c.name == name)).first() is not None:
                    raise AlreadyExists(f"Registered model {name!r} already exists")
                model_id = conn.execute(
                    insert(RM).values(name=name, description=description, creation_time=now,
                                      last_updated_time=now).returning(RM.c.id)
                ).scalar_one()
                if tag_items:
                    conn.execute(insert(RMT), [{"model_id": model_id, "key": k, "value": v} for k, v in tag_items])
                self._append_events(conn, [{
                    "type": EventType.MODEL_CREATED, "model_id": model_id, "model_name": name,
                    "actor": actor, "details": {"description": description, "tags": dict(tag_items)},
                }])
        except (AlreadyExists, IntegrityError):
            if exist_ok:
                return self.get_registered_model(name)
            raise AlreadyExists(f"Registered model {name!r} already exists") from None
        return RegisteredModel(name=name, description=description, creation_timestamp=now,
                               last_updated_timestamp=now, tags=dict(tag_items))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and latest version per stage."""
        with read_connection(self.engine) as conn:
            return self._models(conn, [self._model_row(conn, name)])[0]

    def rename_registered_model(
        self, name: str, new_name: str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> RegisteredModel:
        """The model under its new name; versions, aliases, policies and history follow it.

        A model with gate policies is a guarded change (its old name would be free for an
        ungated model): it needs ``override=True`` and a ``reason`` from a privileged caller.
        """
        validate_model_name(new_name)
        what = f"renaming {name!r} to {new_name!r}"
        check_override(name, override=override, reason=reason, privileged=privileged, what=what)
        try:
            with write_connection(self.engine) as conn:
                row = self._model_row(conn, name, lock=True)
                if new_name != name:
                    if conn.execute(select(RM.c.id).where(RM.c.name == new_name)).first() is not None:
                        raise AlreadyExists(f"Registered model {new_name!r} already exists")
                    guarded = self._all_guarded(conn, row.id)
                    if guarded and not override:
                        raise _Refused(row.id, guarded)
                    now = _now_ms()
                    conn.execute(update(RM).where(RM.c.id == row.id).values(name=new_name, last_updated_time=now))
                    self._append_events(conn, [{
                        "type": EventType.MODEL_RENAMED, "model_id": row.id, "model_name": new_name,
                        "actor": actor, "details": {"from": name, "to": new_name},
                        "reason": reason, "override": bool(guarded),
                    }])
        except IntegrityError:
            raise AlreadyExists(f"Registered model {new_name!r} already exists") from None
        except _Refused as refusal:
            self._reject(refusal, name=name, what=what, actor=actor, reason=reason)
        return self.get_registered_model(new_name)

    def update_registered_model(self, name: str, *, description: str | None, actor: str = "") -> RegisteredModel:
        """The model with its new description."""
        with write_connection(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            conn.execute(update(RM).where(RM.c.id == row.id).values(description=description,
                                                                   last_updated_time=_now_ms()))
            self._append_events(conn, [{
                "type": EventType.MODEL_UPDATED, "model_id": row.id, "model_name": name, "actor": actor,
                "details": {"description": description},
            }])
        return self.get_registered_model(name)

    def delete_registered_model(
        self, name: str, *, actor: str = "", reason: str | None = None, override: bool = False,
        privileged: bool = False,
    ) -> None:
        """Delete the model with all its versions, tags, aliases and policies (events stay).

        A model with gate policies is a guarded change: ``override=True`` and a ``reason``
        from a privileged caller.
        """
        what = f"deleting model {name!r}"
        check_override(name, override=override, reason=reason, privileged=privileged, what=what)
        try:
            with write_connection(self.engine) as conn:
                row = self._model_row(conn, name, lock=True)
                guarded = self._all_guarded(conn, row.id)
                if guarded and not override:
                    raise _Refused(row.id, guarded)
                n_versions = conn.execute(select(func.count()).select_from(MV).where(
                    MV.c.model_id == row.id, MV.c.deleted_time.is_(None))).scalar_one()
                for table in (AL, MVT, MV, RMT, GP):
                    conn.execute(delete(table).where(table.c.model_id == row.id))
                conn.execute(delete(RM).where(RM.c.id == row.id))
                self._append_events(conn, [{
                    "type": EventType.MODEL_DELETED, "model_id": row.id, "model_name": name, "actor": actor,
                    "details": {"versions": n_versions, "guarded": [str(t) for t in guarded]},
                    "reason": reason, "override": bool(guarded),
                }])
        except _Refused as refusal:
            self._reject(refusal, name=name, what=what, actor=actor, reason=reason)

    def search_registered_models(
        self,
        *,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Models matching MLflow's registered-model filter, a page at a time."""
        _check_page_size(max_results, MAX_MODELS_PAGE)
        comparisons = parse_model_filter(filter_string)
        sort = parse_model_order_by(order_by)
        offset = decode_page_token(page_token)
        columns = {"name": RM.c.name, "creation_timestamp": RM.c.creation_time,
                   "last_updated_timestamp": RM.c.last_updated_time}
        stmt = select(RM)
        for c in comparisons:
            if c.kind == "tag":
                stmt = stmt.where(keyed_clause(c, owner=RMT.c.model_id == RM.c.id, key_column=RMT.c.key,
                                               value_column=RMT.c.value))
            else:
                stmt = stmt.where(compile_comparison(columns[c.key], c.op, c.value))
        stmt = stmt.order_by(*_order(sort, columns, default=[sort_key(RM.c.name).asc()]), RM.c.id)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt.offset(offset).limit(max_results + 1)).all()
            more = len(rows) > max_results
            models = self._models(conn, rows[:max_results])
        return PagedList(models, encode_page_token(offset + max_results) if more else None)

    def set_registered_model_tag(self, name: str, key: str, value: Any, *, actor: str = "") -> None:
        """Set (or replace) a tag on the model."""
        key, text_value = _validate_tag(key, value)
        with write_connection(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            if not self._upsert_tag(conn, RMT, {"model_id": row.id}, key, text_value):
                return  # same value again (a retry): nothing changed, nothing to record
            self._touch_model(conn, row.id, _now_ms())
            self._append_events(conn, [{
                "type": EventType.MODEL_TAG_SET, "model_id": row.id, "model_name": name, "actor": actor,
                "details": {"key": key, "value": text_value},
            }])

    def delete_registered_model_tag(self, name: str, key: str, *, actor: str = "") -> None:
        """Remove a tag from the model; NotFound if it has no such tag."""
        with write_connection(self.engine) as conn:
            row = self._model_row(conn, name, lock=True)
            gone = conn.execute(delete(RMT).where(RMT.c.model_id == row.id, RMT.c.key == key)).rowcount
            if not gone:
                raise NotFound(f"Registered model {name!r} has no tag {key!r}")
            self._append_events(conn, [{
                "type": EventType.MODEL_TAG_DELETED, "model_id": row.id, "model_name": name, "actor": actor,
                "details": {"key": key},
            }])

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

    # ========================================================== model versions
    def create_model_version(
        self,
        name: str,
        *,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        actor: str = "",
    ) -> ModelVersion:
        """A new version of ``name`` from ``source`` (``runs:/<id>/path`` or any artifact URI).

        Registering the same run and source again returns the existing version, so a
        retried pipeline task never makes a duplicate.
        """
        if not isinstance(source, str) or not source.strip():
            raise InvalidArgument(f"Invalid model source {source!r}: give the artifact URI of the model")
        if len(source) > MAX_SOURCE_LENGTH:
            raise InvalidArgument(
                f"Model source {source[:60]!r}... is {len(source)} characters; the limit is {MAX_SOURCE_LENGTH}"
            )
        validate_model_name(name)
        match = _RUNS_URI.match(source)
        if match:
            if run_id is not None and run_id != match.group(1):
                raise InvalidArgument(
                    f"Source {source!r} belongs to run {match.group(1)!r}, not to run_id {run_id!r}"
                )
            run_id = match.group(1)
        tag_items = [_validate_tag(k, v) for k, v in (tags or {}).items()]
        run_path = (match.group(2) or "").strip("/") if match else None
        # A SqlStore on this very database is read inside the transaction; any other
        # tracking store (REST, another database) goes through the protocol first.
        store = self.tracking_store if run_id is not None else None
        same_db = store is not None and getattr(store, "engine", None) is self.engine
        run_info: tuple[str, str] | None = None
        if store is not None and not same_db:
            run = store.get_run(run_id)  # type: ignore[arg-type]  # NotFound names the run
            run_info = (run.info.experiment_id, run.info.artifact_uri)
        q = _stmts()
        now = _now_ms()
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            if same_db:
                row = conn.execute(q["run_info"], {"run_id": run_id}).first()
                if row is None:
                    raise NotFound(f"Run {run_id!r} not found")
                run_info = (str(row.experiment_id), row.artifact_uri)
            experiment_id = run_info[0] if run_info else None
            storage_location = source
            if run_info is not None and run_path is not None:
                root = run_info[1].rstrip("/")
                storage_location = f"{root}/{run_path}" if run_path else root
            if run_id is None:
                latest, existing = conn.execute(q["next_or_existing_none"],
                                                {"mid": model.id, "source": source}).one()
            else:
                latest, existing = conn.execute(q["next_or_existing_run"], {
                    "mid": model.id, "source": source, "run_id": run_id}).one()
            if existing is not None:
                row = self._version_row(conn, model.id, name, existing)
                return self._versions(conn, [row], {model.id: name})[0]
            version = latest + 1
            conn.execute(q["insert_version"], {
                "model_id": model.id, "version": version, "source": source,
                "storage_location": storage_location, "run_id": run_id, "experiment_id": experiment_id,
                "run_link": run_link, "status": ModelVersionStatus.READY.value,
                "status_message": None, "current_stage": ModelVersionStage.NONE.value,
                "description": description, "user_id": actor, "creation_time": now,
                "last_updated_time": now, "deleted_time": None,
            })
            if tag_items:
                conn.execute(q["insert_version_tags"], [
                    {"model_id": model.id, "version": version, "key": k, "value": v} for k, v in tag_items])
            self._touch_model(conn, model.id, now)
            self._append_events(conn, [{
                "type": EventType.VERSION_CREATED, "model_id": model.id, "model_name": name,
                "version": version, "actor": actor, "time": now,
                "details": {"source": source, "run_id": run_id},
            }], returning=False)
        return ModelVersion(
            name=name, version=version, source=source, storage_location=storage_location, run_id=run_id,
            run_link=run_link, experiment_id=experiment_id, description=description, user_id=actor,
            creation_timestamp=now, last_updated_timestamp=now, tags=dict(tag_items),
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """The version with its tags and aliases; NotFound if unknown or deleted."""
        number = version_number(version)
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model.id, name, number)
            return self._versions(conn, [row], {model.id: name})[0]

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are (the run's artifact location for ``runs:/`` sources)."""
        return self.get_model_version(name, version).storage_location

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage:
        """The run, experiment, datasets and git commit a version was built from."""
        mv = self.get_model_version(name, version)
        lineage: dict[str, Any] = {"name": mv.name, "version": mv.version, "source": mv.source,
                                   "run_id": mv.run_id, "experiment_id": mv.experiment_id}
        if mv.run_id:
            run, _ = self._get_run(mv.run_id)
            if run is not None:
                lineage.update(
                    experiment_id=run.info.experiment_id,
                    run_name=run.info.run_name,
                    run_status=run.info.status.value,
                    source_commit=run.data.tags.get("lockgate.source.git.commit")
                    or run.data.tags.get("mlflow.source.git.commit"),
                    datasets=[
                        {"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source,
                         "source_type": d.dataset.source_type, "context": d.context}
                        for d in run.inputs.dataset_inputs
                    ],
                )
        return ModelVersionLineage(**lineage)

    def update_model_version(
        self, name: str, version: int | str, *, description: str | None, actor: str = ""
    ) -> ModelVersion:
        """The version with its new description."""
        number = version_number(version)
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, number)
            now = _now_ms()
            conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version == number)
                         .values(description=description, last_updated_time=now))
            self._append_events(conn, [{
                "type": EventType.VERSION_UPDATED, "model_id": model.id, "model_name": name,
                "version": number, "actor": actor, "details": {"description": description},
            }])
        return self.get_model_version(name, number)

    def delete_model_version(
        self, name: str, version: int | str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> None:
        """Delete a version; its aliases go with it and its number is never reused.

        Deleting the holder of a guarded alias or stage is a guarded change: ``override=True``
        and a ``reason`` from a privileged caller.
        """
        number = version_number(version)
        what = f"deleting version {number} of {name!r}"
        check_override(name, override=override, reason=reason, privileged=privileged, what=what)
        try:
            self._delete_version(name, number, actor=actor, reason=reason, override=override)
        except _Refused as refusal:
            self._reject(refusal, name=name, what=what, actor=actor, reason=reason)

    def _delete_version(self, name: str, number: int, *, actor: str, reason: str | None, override: bool) -> None:
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            vrow = self._version_row(conn, model.id, name, number)
            now = _now_ms()
            held = [r.alias for r in conn.execute(
                select(AL.c.alias).where(AL.c.model_id == model.id, AL.c.version == number))]
            holds = [GateTarget(kind="alias", name=a) for a in held]
            if vrow.current_stage not in (s.value for s in _UNGUARDED_STAGES):
                holds.append(GateTarget(kind="stage", name=vrow.current_stage))
            guarded = self._guarded(conn, model.id, holds)
            if guarded and not override:
                raise _Refused(model.id, guarded, number)
            overridden = {str(t) for t in guarded}
            conn.execute(delete(AL).where(AL.c.model_id == model.id, AL.c.version == number))
            conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version == number)
                         .values(deleted_time=now, last_updated_time=now))
            self._touch_model(conn, model.id, now)
            events: list[dict[str, Any]] = [{
                "type": EventType.ALIAS_DELETED, "model_id": model.id, "model_name": name, "version": number,
                "alias": alias, "from_version": number, "actor": actor,
                "reason": f"version deleted: {reason}" if reason else "version deleted",
                "override": f"@{alias}" in overridden,
            } for alias in held]
            events.append({"type": EventType.VERSION_DELETED, "model_id": model.id, "model_name": name,
                           "version": number, "actor": actor, "reason": reason, "override": bool(guarded),
                           "details": {"stage": vrow.current_stage, "guarded": sorted(overridden)}})
            self._append_events(conn, events)

    def search_model_versions(
        self,
        *,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions matching MLflow's model-version filter, a page at a time."""
        _check_page_size(max_results, MAX_VERSIONS_PAGE)
        comparisons = parse_version_filter(filter_string)
        sort = parse_version_order_by(order_by)
        offset = decode_page_token(page_token)
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
        stmt = stmt.order_by(*_order(sort, columns, default=default), MV.c.model_id, MV.c.version)
        with read_connection(self.engine) as conn:
            rows = conn.execute(stmt.offset(offset).limit(max_results + 1)).all()
            more = len(rows) > max_results
            rows = rows[:max_results]
            versions = self._versions(conn, rows, {r.model_id: r.model_name for r in rows})
        return PagedList(versions, encode_page_token(offset + max_results) if more else None)

    def get_latest_versions(self, name: str, *, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage (all four stages when none are named)."""
        wanted = [ModelVersionStage.parse(s).value for s in stages] if stages else None
        model = self.get_registered_model(name)
        return [mv for mv in model.latest_versions if wanted is None or mv.current_stage in wanted]

    def set_model_version_tag(
        self, name: str, version: int | str, key: str, value: Any, *, actor: str = ""
    ) -> None:
        """Set (or replace) a tag on one version."""
        number = version_number(version)
        key, text_value = _validate_tag(key, value)
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, number)
            if not self._upsert_tag(conn, MVT, {"model_id": model.id, "version": number}, key, text_value):
                return  # same value again (a retry): nothing changed, nothing to record
            conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version == number)
                         .values(last_updated_time=_now_ms()))
            self._append_events(conn, [{
                "type": EventType.VERSION_TAG_SET, "model_id": model.id, "model_name": name,
                "version": number, "actor": actor, "details": {"key": key, "value": text_value},
            }])

    def delete_model_version_tag(self, name: str, version: int | str, key: str, *, actor: str = "") -> None:
        """Remove a tag from one version; NotFound if it has no such tag."""
        number = version_number(version)
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, number)
            gone = conn.execute(delete(MVT).where(MVT.c.model_id == model.id, MVT.c.version == number,
                                                  MVT.c.key == key)).rowcount
            if not gone:
                raise NotFound(f"Model version {number} of {name!r} has no tag {key!r}")
            self._append_events(conn, [{
                "type": EventType.VERSION_TAG_DELETED, "model_id": model.id, "model_name": name,
                "version": number, "actor": actor, "details": {"key": key},
            }])

    # ================================================================= aliases
    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, actor: str = "", privileged: bool = False
    ) -> None:
        """Point ``alias`` at ``version``; a guarded alias raises GateFailed if its gate fails."""
        self._move(name, version=version, target=_target(alias, None), reason=None, override=False,
                   privileged=privileged, archive_existing_versions=False, actor=actor)

    def delete_registered_model_alias(
        self, name: str, alias: str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> None:
        """Remove ``alias`` from whichever version holds it; NotFound if none does.

        Removing a guarded alias is a guarded change: ``override=True`` and a ``reason`` from
        a privileged caller; without them it is refused (GateFailed) and the refusal recorded.
        """
        validate_alias(alias)
        target = GateTarget(kind="alias", name=alias)
        what = f"deleting alias {alias!r} of {name!r}"
        check_override(name, override=override, reason=reason, privileged=privileged, what=what)
        try:
            with write_connection(self.engine) as conn:
                model = self._model_row(conn, name, lock=True)
                held = conn.execute(select(AL.c.version).where(AL.c.model_id == model.id,
                                                               AL.c.alias == alias)).first()
                if held is None:
                    raise NotFound(f"Registered model {name!r} has no alias {alias!r}")
                guarded = bool(self._guarded(conn, model.id, [target]))
                if guarded and not override:
                    raise _Refused(model.id, [target], held.version)
                conn.execute(delete(AL).where(AL.c.model_id == model.id, AL.c.alias == alias))
                self._touch_model(conn, model.id, _now_ms())
                self._append_events(conn, [{
                    "type": EventType.ALIAS_DELETED, "model_id": model.id, "model_name": name,
                    "version": held.version, "alias": alias, "from_version": held.version, "actor": actor,
                    "reason": reason, "override": guarded,
                }])
        except _Refused as refusal:
            self._reject(refusal, name=name, what=what, actor=actor, reason=reason)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; NotFound if the alias is not set."""
        validate_alias(alias)
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            row = conn.execute(_stmts()["alias_row"], {"mid": model.id, "alias": alias}).first()
            if row is None:
                raise NotFound(f"Registered model {name!r} has no alias {alias!r}")
            return self._versions(conn, [row], {model.id: name})[0]

    # ================================================================== stages
    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        *,
        archive_existing_versions: bool = False,
        actor: str = "",
        reason: str | None = None,
        override: bool = False,
        privileged: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage (gated if the stage is guarded) and return it."""
        target = _target(None, stage)
        if archive_existing_versions and target.name in (s.value for s in _UNGUARDED_STAGES):
            raise InvalidArgument(
                f"archive_existing_versions is only valid for Staging and Production, not {target.name}"
            )
        self._move(name, version=version, target=target, reason=reason, override=override,
                   privileged=privileged, archive_existing_versions=archive_existing_versions, actor=actor)
        return self.get_model_version(name, version)

    # =================================================================== gates
    def set_gate_policy(
        self,
        name: str,
        *,
        alias: str | None = None,
        stage: str | None = None,
        policy: GatePolicy | Mapping[str, Any] | str,
        actor: str = "",
        reason: str | None = None,
        override: bool = False,
        privileged: bool = False,
    ) -> GatePolicyRecord:
        """Guard an alias or stage with ``policy``; returns the stored, versioned record.

        Setting the policy already in force again is a no-op that returns it unchanged.
        Replacing a policy that has rules is a guarded change (the new one may be weaker):
        ``override=True`` and a ``reason`` from a privileged caller.
        """
        target = _target(alias, stage)
        parsed = GatePolicy.from_document(policy)
        check_rules_installed(parsed)
        document = parsed.to_document()
        body = json.dumps(document, sort_keys=True)
        what = f"replacing the gate policy of {name!r} {target}"
        check_override(name, override=override, reason=reason, privileged=privileged, what=what)
        now = _now_ms()
        try:
            return self._store_policy(name, target, document, body, actor=actor, reason=reason,
                                      override=override, now=now)
        except _Refused as refusal:
            self._reject(refusal, name=name, what=what, actor=actor, reason=reason)

    def _store_policy(self, name: str, target: GateTarget, document: dict[str, Any], body: str, *,
                      actor: str, reason: str | None, override: bool, now: int) -> GatePolicyRecord:
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            current = self._policy_row(conn, model.id, target)
            if current is not None and json.dumps(json.loads(current.policy), sort_keys=True) == body:
                return self._policy_record(name, current)
            replacing = _has_rules(current)
            if replacing and not override:
                raise _Refused(model.id, [target])
            number = (current.policy_version if current is not None else 0) + 1
            conn.execute(insert(GP).values(model_id=model.id, target_kind=target.kind, target=target.name,
                                           policy_version=number, policy=body, created_by=actor,
                                           created_at=now))
            self._append_events(conn, [{
                "type": EventType.GATE_POLICY_SET, "model_id": model.id, "model_name": name, "actor": actor,
                "alias": target.name if target.kind == "alias" else None,
                "stage": target.name if target.kind == "stage" else None,
                "details": {"policy_version": number, "policy": document},
                "reason": reason, "override": replacing,
            }])
        return GatePolicyRecord(model_name=name, target=target, policy_version=number, policy=document,
                                created_by=actor, created_at=now)

    def get_gate_policy(
        self,
        name: str,
        *,
        alias: str | None = None,
        stage: str | None = None,
        policy_version: int | None = None,
    ) -> GatePolicyRecord | None:
        """The policy in force for the target (or an older ``policy_version``); None if unguarded."""
        target = _target(alias, stage)
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            row = self._policy_row(conn, model.id, target, policy_version)
        if row is None:
            if policy_version is not None:
                raise NotFound(f"{name!r} has no gate policy version {policy_version} for {target}")
            return None
        return self._policy_record(name, row)

    def list_gate_policies(self, name: str) -> list[GatePolicyRecord]:
        """The policy in force for every guarded target of the model."""
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            newest = (select(GP.c.target_kind, GP.c.target, func.max(GP.c.policy_version).label("v"))
                      .where(GP.c.model_id == model.id).group_by(GP.c.target_kind, GP.c.target).subquery())
            rows = conn.execute(select(GP).join(newest, and_(
                GP.c.target_kind == newest.c.target_kind, GP.c.target == newest.c.target,
                GP.c.policy_version == newest.c.v)).where(GP.c.model_id == model.id)
                .order_by(GP.c.target_kind, GP.c.target)).all()
        return [self._policy_record(name, r) for r in rows]

    @staticmethod
    def _policy_row(conn: Connection, model_id: int, target: GateTarget, policy_version: int | None = None) -> Any:
        if policy_version is None:
            return conn.execute(_stmts()["policy"], {"mid": model_id, "kind": target.kind,
                                                     "target": target.name}).first()
        return conn.execute(select(GP).where(
            GP.c.model_id == model_id, GP.c.target_kind == target.kind, GP.c.target == target.name,
            GP.c.policy_version == policy_version)).first()

    @staticmethod
    def _policy_record(name: str, row: Any) -> GatePolicyRecord:
        return GatePolicyRecord(
            model_name=name, target=GateTarget(kind=row.target_kind, name=row.target),
            policy_version=row.policy_version, policy=json.loads(row.policy),
            created_by=row.created_by, created_at=row.created_at,
        )

    def evaluate_gate(
        self,
        name: str,
        *,
        version: int | str,
        alias: str | None = None,
        stage: str | None = None,
        actor: str = "",
    ) -> GateDecision:
        """Dry run: every rule's verdict for moving ``version`` to the target; changes nothing."""
        target = _target(alias, stage)
        snap = self._snapshot(name, version_number(version), target)
        return self._evaluate(snap, target, actor)

    def approve_model_version(
        self, name: str, version: int | str, *, comment: str | None = None, actor: str = ""
    ) -> RegistryEvent:
        """Record ``actor``'s approval of a version (once per user; a repeat returns the first)."""
        number = version_number(version)
        if not actor:
            raise InvalidArgument("An approval needs the approving user (actor)")
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, number)
            earlier = conn.execute(select(EV).where(
                EV.c.model_id == model.id, EV.c.version == number,
                EV.c.event_type == EventType.VERSION_APPROVED.value, EV.c.actor == actor,
            ).order_by(EV.c.id).limit(1)).first()
            if earlier is not None:
                return self._event_entity(earlier)
            (event_id,) = self._append_events(conn, [{
                "type": EventType.VERSION_APPROVED, "model_id": model.id, "model_name": name,
                "version": number, "actor": actor, "details": {"comment": comment} if comment else {},
            }])
            row = conn.execute(select(EV).where(EV.c.id == event_id)).one()
        return self._event_entity(row)

    def promote(
        self,
        name: str,
        *,
        version: int | str,
        alias: str | None = None,
        stage: str | None = None,
        reason: str | None = None,
        override: bool = False,
        archive_existing_versions: bool = True,
        actor: str = "",
        privileged: bool = False,
    ) -> GateDecision:
        """Move ``version`` to the alias or stage if its gate passes; GateFailed otherwise.

        ``override=True`` forces a failing gate for a ``privileged`` caller with a ``reason``;
        the event records the failing evidence. Promoting the version that already holds the
        target succeeds without recording a second move (``decision.changed`` is False).
        For stages, other versions in that stage are archived unless told otherwise.
        """
        target = _target(alias, stage)
        if target.kind == "stage" and target.name in (s.value for s in _UNGUARDED_STAGES):
            archive_existing_versions = False
        return self._move(name, version=version, target=target, reason=reason, override=override,
                          privileged=privileged, archive_existing_versions=archive_existing_versions,
                          actor=actor)

    # ================================================================ history
    def get_promotion_history(
        self, name: str, *, alias: str | None = None, stage: str | None = None, limit: int = 1000
    ) -> list[RegistryEvent]:
        """Every move and refused promotion of the model, oldest first: who, when, from and to
        which version, why, and the gate's evidence."""
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            stmt = select(EV).where(EV.c.model_id == model.id,
                                    EV.c.event_type.in_([t.value for t in MOVE_EVENT_TYPES]))
            if alias is not None:
                stmt = stmt.where(EV.c.alias == validate_alias(alias))
            if stage is not None:
                stmt = stmt.where(EV.c.stage == ModelVersionStage.parse(stage).value)
            rows = conn.execute(stmt.order_by(EV.c.id).limit(limit)).all()
        return [self._event_entity(r) for r in rows]

    def get_events(
        self,
        *,
        after_id: int = 0,
        model_name: str | None = None,
        types: Sequence[str | EventType] | None = None,
        limit: int = 1000,
    ) -> list[RegistryEvent]:
        """Events with ``id > after_id``, oldest first: the cursor orchestrator sensors poll."""
        if not isinstance(after_id, int) or after_id < 0:
            raise InvalidArgument(f"Invalid after_id {after_id!r}: expected a non-negative integer")
        if not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidArgument(f"Invalid limit {limit!r}: expected 1..10000")
        type_values: list[str] = []
        for t in types or []:
            try:
                type_values.append(EventType(t.upper() if isinstance(t, str) else t).value)
            except ValueError:
                raise InvalidArgument(
                    f"Unknown event type {t!r} (valid: {', '.join(e.value for e in EventType)})"
                ) from None
        stmt = select(EV).where(EV.c.id > after_id)
        with read_connection(self.engine) as conn:
            if model_name is not None:
                # Every model that ever bore the name, so renames and deletions keep their past.
                ids = select(EV.c.model_id).where(EV.c.model_name == model_name,
                                                  EV.c.model_id.is_not(None)).distinct()
                stmt = stmt.where(or_(EV.c.model_name == model_name, EV.c.model_id.in_(ids)))
            if type_values:
                stmt = stmt.where(EV.c.event_type.in_(type_values))
            rows = conn.execute(stmt.order_by(EV.c.id).limit(limit)).all()
        return [self._event_entity(r) for r in rows]

    # ==================================================================== URIs
    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names; its files are at ``.storage_location``."""
        ref = parse_model_uri(uri)
        if ref.alias is not None:
            return self.get_model_version_by_alias(ref.name, ref.alias)
        if ref.version is not None:
            return self.get_model_version(ref.name, ref.version)
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, ref.name)
            stmt = select(MV).where(MV.c.model_id == model.id, MV.c.deleted_time.is_(None))
            if ref.stage is not None:
                stmt = stmt.where(MV.c.current_stage == ref.stage.value)
            row = conn.execute(stmt.order_by(MV.c.version.desc()).limit(1)).first()
            if row is None:
                where = f"in stage {ref.stage.value}" if ref.stage is not None else "at all"
                raise NotFound(f"Registered model {ref.name!r} has no version {where} ({uri})")
            return self._versions(conn, [row], {model.id: ref.name})[0]

    # ============================================================ move engine
    def _holders(self, conn: Connection, model_id: int, target: GateTarget) -> tuple[int, ...]:
        if target.kind == "alias":
            row = conn.execute(_stmts()["alias_holder"], {"mid": model_id, "alias": target.name}).first()
            return (row.version,) if row else ()
        rows = conn.execute(_stmts()["stage_holders"], {"mid": model_id, "stage": target.name}).all()
        return tuple(r.version for r in rows)

    @staticmethod
    def _last_holder(conn: Connection, model_id: int, target: GateTarget, *, exclude: int) -> int | None:
        """The version other than ``exclude`` that most recently took the target (event log)."""
        if target.kind == "alias":
            where = [EV.c.alias == target.name, EV.c.event_type == EventType.ALIAS_SET.value]
        else:
            where = [EV.c.stage == target.name, EV.c.event_type == EventType.STAGE_CHANGED.value]
        return conn.execute(select(EV.c.version).where(
            EV.c.model_id == model_id, EV.c.version.is_not(None), EV.c.version != exclude, *where,
        ).order_by(EV.c.id.desc()).limit(1)).scalar()

    def _snapshot(self, name: str, number: int, target: GateTarget) -> _Snapshot:
        with read_connection(self.engine) as conn:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model.id, name, number)
            holders = self._holders(conn, model.id, target)
            others = [v for v in holders if v != number]
            champ_row = None
            last_holder = False
            if others:
                champ_row = conn.execute(_stmts()["version"], {"mid": model.id, "ver": max(others)}).first()
            elif not holders:
                # An empty target is judged against the version that held it last, so removing
                # the holder first cannot make a weaker candidate "beat" nobody.
                former = self._last_holder(conn, model.id, target, exclude=number)
                if former is not None:
                    champ_row = conn.execute(_stmts()["version"], {"mid": model.id, "ver": former}).first()
                    last_holder = champ_row is not None
            rows = [row] + ([champ_row] if champ_row is not None else [])
            entities = self._versions(conn, rows, {model.id: name})
            policy_row = self._policy_row(conn, model.id, target)
            policy = GatePolicy.from_document(json.loads(policy_row.policy)) if policy_row else None
            leaves = None
            current = row.current_stage
            if target.kind == "stage" and current != target.name and current not in (
                    s.value for s in _UNGUARDED_STAGES):
                current_guarded = bool(self._guarded(conn, model.id, [GateTarget(kind="stage", name=current)]))
                if leaves_guarded_stage(current, target, current_guarded=current_guarded,
                                        target_guarded=_has_rules(policy_row)):
                    leaves = current
            approvals: tuple[RegistryEvent, ...] = ()
            if policy is not None and any(r.type == "require_approvals" for r in policy.rules):
                approvals = tuple(self._event_entity(e) for e in conn.execute(select(EV).where(
                    EV.c.model_id == model.id, EV.c.version == number,
                    EV.c.event_type == EventType.VERSION_APPROVED.value).order_by(EV.c.id)))
        return _Snapshot(
            model_id=model.id, model_name=name, candidate=entities[0], holders=holders,
            champion=entities[1] if len(entities) > 1 else None, champion_is_last_holder=last_holder,
            leaves_guarded=leaves, policy=policy,
            policy_version=policy_row.policy_version if policy_row else None, approvals=approvals,
        )

    def _evaluate(self, snap: _Snapshot, target: GateTarget, actor: str) -> GateDecision:
        candidate_run = champion_run = None
        run_problem = None
        if snap.candidate.run_id:
            candidate_run, run_problem = self._get_run(snap.candidate.run_id)
        if snap.policy is not None and snap.champion is not None and snap.champion.run_id:
            champion_run, _ = self._get_run(snap.champion.run_id)
        ctx = GateContext(
            model_name=snap.model_name, target=target, candidate=snap.candidate,
            candidate_run=candidate_run, champion=snap.champion, champion_run=champion_run,
            champion_is_last_holder=snap.champion_is_last_holder,
            approvals=snap.approvals, actor=actor, run_problem=run_problem,
        )
        self._check_promotable(snap.candidate, candidate_run, target)
        return evaluate_policy(snap.policy, ctx, policy_version=snap.policy_version)

    @staticmethod
    def _check_promotable(mv: ModelVersion, run: Run | None, target: GateTarget) -> None:
        if target.kind == "stage" and target.name in (s.value for s in _UNGUARDED_STAGES):
            return
        if mv.status is not ModelVersionStatus.READY:
            raise InvalidArgument(
                f"Model version {mv.version} of {mv.name!r} is {mv.status.value}, not READY; "
                f"it cannot be moved to {target}"
            )
        if run is not None and run.info.status in (RunStatus.FAILED, RunStatus.KILLED):
            raise InvalidArgument(
                f"Model version {mv.version} of {mv.name!r} comes from run {run.info.run_id}, which "
                f"ended {run.info.status.value}; a failed run's model cannot be moved to {target}"
            )

    def _move(
        self,
        name: str,
        *,
        version: int | str,
        target: GateTarget,
        reason: str | None,
        override: bool,
        privileged: bool,
        archive_existing_versions: bool,
        actor: str,
    ) -> GateDecision:
        number = version_number(version)
        check_override(name, override=override, reason=reason, privileged=privileged, what=f"{target}")
        snap = self._snapshot(name, number, target)
        others = tuple(v for v in snap.holders if v != number)
        already = number in snap.holders and (target.kind == "alias" or not archive_existing_versions
                                              or not others)
        if already:
            return GateDecision(passed=True, model_name=name, version=number, target=target,
                                policy_version=snap.policy_version, previous_version=number,
                                changed=False)
        if snap.leaves_guarded is not None and not override:
            self._reject(_Refused(snap.model_id, [GateTarget(kind="stage", name=snap.leaves_guarded)], number),
                         name=name, what=f"moving version {number} from {snap.leaves_guarded} to {target.name}",
                         actor=actor, reason=reason)
        decision = self._evaluate(snap, target, actor)
        if snap.leaves_guarded is not None:
            decision = decision.model_copy(update={"passed": False, "results": [*decision.results, RuleResult(
                rule=GUARD_RULE, passed=False, observed=f"leaves {snap.leaves_guarded}",
                expected="override with a reason",
                message=f"version {number} leaves guarded stage {snap.leaves_guarded}")]})
        evidence = decision.model_dump(mode="json", include={"passed", "results", "policy_version"})
        target_fields = {"alias": target.name} if target.kind == "alias" else {"stage": target.name}
        if not decision.passed and not override:
            with write_connection(self.engine) as conn:
                self._append_events(conn, [{
                    "type": EventType.GATE_REJECTED, "model_id": snap.model_id, "model_name": name,
                    "version": number, "from_version": max(others) if others else None,
                    "to_version": number, "actor": actor, "reason": reason, "evidence": evidence,
                    **target_fields,
                }])
            failed = "; ".join(f"{r.rule}: {r.message}" for r in decision.failures)
            raise GateFailed(
                f"Gate for {name!r} {target} refused version {number}: {failed}",
                results=decision.results,
                details={"decision": decision.model_dump(mode="json")},
            )
        overridden = override and not decision.passed
        now = _now_ms()
        with write_connection(self.engine) as conn:
            model = self._model_row(conn, name, lock=True)
            if model.id != snap.model_id:
                raise Conflict(f"Registered model {name!r} was replaced during the promotion; retry")
            self._version_row(conn, model.id, name, number)
            holders = self._holders(conn, model.id, target)
            if holders != snap.holders:
                raise Conflict(
                    f"{target} of {name!r} changed from {_fmt(snap.holders)} to {_fmt(holders)} while "
                    f"version {number} was being evaluated; nothing was changed, promote again to "
                    "evaluate against the new holder",
                    details={"expected": list(snap.holders), "found": list(holders)},
                )
            events: list[dict[str, Any]] = []
            if target.kind == "alias":
                try:
                    if snap.holders:
                        conn.execute(update(AL).where(AL.c.model_id == model.id, AL.c.alias == target.name)
                                     .values(version=number, set_by=actor, set_time=now))
                    else:
                        conn.execute(insert(AL).values(model_id=model.id, alias=target.name, version=number,
                                                       set_by=actor, set_time=now))
                except IntegrityError:
                    raise Conflict(f"{target} of {name!r} was set concurrently; promote again") from None
                from_version = snap.holders[0] if snap.holders else None
                events.append({"type": EventType.ALIAS_SET, "alias": target.name})
            else:
                current = conn.execute(select(MV.c.current_stage).where(
                    MV.c.model_id == model.id, MV.c.version == number)).scalar_one()
                conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version == number)
                             .values(current_stage=target.name, last_updated_time=now))
                from_version = max(others) if others else None
                events.append({"type": EventType.STAGE_CHANGED, "stage": target.name,
                               "details": {"from_stage": current, "to_stage": target.name}})
                if archive_existing_versions and others:
                    conn.execute(update(MV).where(MV.c.model_id == model.id, MV.c.version.in_(others))
                                 .values(current_stage=ModelVersionStage.ARCHIVED.value, last_updated_time=now))
                    for v in others:
                        events.append({
                            "type": EventType.STAGE_CHANGED, "stage": ModelVersionStage.ARCHIVED.value,
                            "version": v, "from_version": None, "to_version": v, "evidence": None,
                            "override": False, "reason": f"archived by the move of version {number} to {target.name}",
                            "details": {"from_stage": target.name, "to_stage": ModelVersionStage.ARCHIVED.value},
                        })
            self._touch_model(conn, model.id, now)
            move = events[0]
            move.update({"version": number, "from_version": from_version, "to_version": number,
                         "reason": reason, "evidence": evidence if snap.policy is not None or override else None,
                         "override": overridden})
            for ev in events:
                ev.setdefault("version", number)
                ev.update({"model_id": model.id, "model_name": name, "actor": actor, "time": now})
            ids = self._append_events(conn, events)
        return decision.model_copy(update={"changed": True, "overridden": overridden, "event_id": ids[0],
                                           "previous_version": from_version})


def _has_rules(policy_row: Any) -> bool:
    return policy_row is not None and bool(json.loads(policy_row.policy).get("rules"))


def _fmt(holders: tuple[int, ...]) -> str:
    if not holders:
        return "no version"
    return "version " + ", ".join(str(v) for v in holders)


def _check_page_size(max_results: object, limit: int) -> None:
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= limit:
        raise InvalidArgument(f"Invalid max_results {max_results!r}: expected 1..{limit}")


def _order(sort: Sequence[OrderBy], columns: Mapping[str, Any], *, default: list[Any]) -> list[Any]:
    if not sort:
        return default
    return [sort_key(columns[o.key]).asc() if o.ascending else sort_key(columns[o.key]).desc() for o in sort]
