"""Read-only aggregates of the registry for the web UI (and any API user): a model's event
log newest first in pages, the gate verdict each version last got per target, and a summary
of many models at once (last promotion, latest verdict on each guarded target).

Every query walks an index of ``registry_events`` from the top: ``(model_name, id)`` and
``(model_id, id)``, so the first page of a model with millions of events costs the page,
not the history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from lockgate.errors import NotFound
from lockgate.registry.entities import EventType, GateTarget, RegistryEvent
from lockgate.store.sql.engine import read_connection
from lockgate.store.sql.registry_rows import EV, RM, event_entity

__all__ = ["MAX_TIMELINE_PAGE", "ModelSummary", "TimelinePage", "VersionVerdict", "last_verdicts",
           "model_summaries", "model_timeline"]

MAX_TIMELINE_PAGE = 1000
#: Events that record a gate's verdict on a version for a target.
_VERDICT_TYPES = (EventType.ALIAS_SET.value, EventType.STAGE_CHANGED.value, EventType.GATE_REJECTED.value)
_VERDICT_SCAN = 5000


@dataclass
class TimelinePage:
    """One page of a model's events, newest first; ``next_before_id`` continues it (None: the end)."""

    events: list[RegistryEvent]
    next_before_id: int | None


@dataclass
class VersionVerdict:
    """The last gate verdict a version got for a target: passed, refused or overridden."""

    version: int
    target: str
    verdict: str
    event_id: int
    timestamp: int
    actor: str


def _model_id(conn: Any, name: str) -> int | None:
    found = conn.execute(select(RM.c.id).where(RM.c.name == name)).scalar()
    return int(found) if found is not None else None


def model_timeline(
    engine: Engine, name: str, *, before_id: int | None = None, types: Sequence[EventType] = (),
    actor: str | None = None, since: int | None = None, until: int | None = None, version: int | None = None,
    limit: int = 100,
) -> TimelinePage:
    """The events of the model named ``name`` (under this name, and of the model that bears it
    now under any earlier name), newest first, ``limit`` at a time below ``before_id``,
    optionally only some types, one actor, one version, and times in [``since``, ``until``] (ms)."""
    filters: list[Any] = []
    if before_id is not None:
        filters.append(EV.c.id < before_id)
    if types:
        filters.append(EV.c.event_type.in_([t.value for t in types]))
    if actor:
        filters.append(EV.c.actor == actor)
    if version is not None:
        filters.append(EV.c.version == version)
    if since is not None:
        filters.append(EV.c.time >= since)
    if until is not None:
        filters.append(EV.c.time <= until)
    with read_connection(engine) as conn:
        model_id = _model_id(conn, name)
        # Two index walks, each stopping after limit + 1 rows, merged: an OR would sort every match.
        keys = [EV.c.model_name == name] + ([EV.c.model_id == model_id] if model_id is not None else [])
        rows: dict[int, Any] = {}
        for key in keys:
            stmt = select(EV).where(key, *filters).order_by(EV.c.id.desc()).limit(limit + 1)
            rows.update((r.id, r) for r in conn.execute(stmt))
        if model_id is None and not rows and before_id is None:
            exists = conn.execute(select(EV.c.id).where(EV.c.model_name == name).limit(1)).first()
            if exists is None:
                raise NotFound(f"Registered model {name!r} not found and has no history.")
    ordered = [rows[i] for i in sorted(rows, reverse=True)]
    page = ordered[:limit]
    more = len(ordered) > limit
    return TimelinePage(events=[event_entity(r) for r in page], next_before_id=page[-1].id if more else None)


def last_verdicts(engine: Engine, name: str) -> list[VersionVerdict]:
    """For each (version, alias or stage) a gate judged, its latest verdict, from the newest
    5,000 gate-bearing events of the model: ``passed``, ``refused`` or ``overridden``."""
    with read_connection(engine) as conn:
        model_id = _model_id(conn, name)
        if model_id is None:
            raise NotFound(f"Registered model {name!r} not found.")
        rows = conn.execute(select(EV).where(EV.c.model_id == model_id, EV.c.event_type.in_(_VERDICT_TYPES))
                            .order_by(EV.c.id.desc()).limit(_VERDICT_SCAN)).all()
    seen: dict[tuple[int, str], VersionVerdict] = {}
    for row in rows:
        if row.evidence is None or row.version is None:
            continue  # an ungated move: no verdict to show
        target = f"@{row.alias}" if row.alias else str(row.stage)
        key = (int(row.version), target)
        if key in seen:
            continue
        verdict = ("refused" if row.event_type == EventType.GATE_REJECTED.value
                   else "overridden" if row.override else "passed")
        seen[key] = VersionVerdict(version=key[0], target=target, verdict=verdict, event_id=row.id,
                                   timestamp=row.time, actor=row.actor)
    return sorted(seen.values(), key=lambda v: (v.version, v.target))


@dataclass
class ModelSummary:
    """A model's newest alias or stage move and the newest gate-judged event of each target."""

    name: str
    last_promotion: RegistryEvent | None
    last_judged: dict[str, RegistryEvent] = field(default_factory=dict)


def model_summaries(engine: Engine, targets: dict[str, list[GateTarget]]) -> list[ModelSummary]:
    """For each model named in ``targets`` that exists: its newest move, and for each of its
    given targets the newest move or refusal that carried a gate's evidence (``@alias`` or
    stage name as key)."""
    moves = (EventType.ALIAS_SET.value, EventType.STAGE_CHANGED.value)
    out: list[ModelSummary] = []
    with read_connection(engine) as conn:
        for name, guarded in targets.items():
            model_id = _model_id(conn, name)
            if model_id is None:
                continue
            row = conn.execute(select(EV).where(EV.c.model_id == model_id, EV.c.event_type.in_(moves))
                               .order_by(EV.c.id.desc()).limit(1)).first()
            summary = ModelSummary(name=name, last_promotion=event_entity(row) if row is not None else None)
            for target in guarded:
                column = EV.c.alias if target.kind == "alias" else EV.c.stage
                last = conn.execute(select(EV).where(
                    EV.c.model_id == model_id, column == target.name, EV.c.evidence.is_not(None),
                    EV.c.event_type.in_(_VERDICT_TYPES)).order_by(EV.c.id.desc()).limit(1)).first()
                if last is not None:
                    summary.last_judged[str(target)] = event_entity(last)
            out.append(summary)
    return out
