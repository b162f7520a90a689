"""Read-only ``/api/v1`` registry endpoints behind the web UI's registry pages (usable by any
client): a model's timeline (its event log newest first, filtered, paged on the log's index),
its export as CSV or JSON, its gate policies in words with their history and each version's
last verdict, and a summary of many models at once (last promotion, guarded targets).

Thin: the queries live in ``lockgate.store.sql.registry_views``; nothing here changes data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response, StreamingResponse

from lockgate.errors import InvalidArgument, NotFound
from lockgate.server import view_schemas as s
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import AuthzDep, RegistryDep
from lockgate.server.native_schemas import Cursor
from lockgate.server.responses import json_response
from lockgate.store.sql.registry_views import MAX_TIMELINE_PAGE

__all__ = ["EXPORT_COLUMNS", "build_router"]

EXPORT_COLUMNS = ("id", "time", "type", "model_name", "version", "alias", "stage", "from_version", "to_version",
                  "actor", "override", "reason", "evidence", "details")

TypesQuery = Annotated[list[str] | None, Query(description="Only these event types (repeat the parameter)")]
ActorQuery = Annotated[str | None, Query(max_length=256, description="Only events by this user")]
SinceQuery = Annotated[int | None, Query(ge=0, le=2**62, description="Only events at or after (ms since epoch)")]
UntilQuery = Annotated[int | None, Query(ge=0, le=2**62, description="Only events at or before (ms since epoch)")]


def _engine(reg: Any) -> Any:
    engine = getattr(reg, "engine", None)
    if engine is None:
        raise NotFound("This server's registry is not on a SQL database.")
    return engine


def _types(types: list[str] | None) -> list[Any]:
    from lockgate.registry.entities import EventType

    out = []
    for t in types or []:
        for part in filter(None, (p.strip() for p in t.split(","))):
            try:
                out.append(EventType(part.upper()))
            except ValueError:
                raise InvalidArgument(
                    f"Unknown event type {part!r} (valid: {', '.join(e.value for e in EventType)})") from None
    return out


def _in_words(document: dict[str, Any]) -> dict[str, Any]:
    """A stored policy's description and its rules as the short labels verdicts use."""
    from lockgate.registry.gates import GatePolicy

    policy = GatePolicy.from_document(document)
    return {"description": policy.description, "rules": [rule.describe() for rule in policy.rules]}


def _csv_row(event: dict[str, Any]) -> list[Any]:
    row = dict(event)
    row["time"] = datetime.fromtimestamp(event["timestamp"] / 1000, tz=timezone.utc).isoformat()
    row["evidence"] = json.dumps(event["evidence"]) if event["evidence"] is not None else ""
    row["details"] = json.dumps(event["details"]) if event["details"] else ""
    return ["" if row[c] is None else row[c] for c in EXPORT_COLUMNS]


def build_router(prefix: str = "") -> APIRouter:
    """The registry view endpoints under ``prefix`` (the server uses /api/v1)."""
    from lockgate.store.sql.registry_views import last_verdicts, model_summaries, model_timeline

    router = APIRouter(prefix=prefix)
    tag: list[str | Enum] = ["views"]

    @router.get("/registered-models/{name}/timeline", tags=tag, response_model=s.TimelinePublic,
                summary="A model's events newest first, filtered, one page below ?before_id=")
    def timeline(
        name: str, reg: RegistryDep, authz: AuthzDep, types: TypesQuery = None, actor: ActorQuery = None,
        since: SinceQuery = None, until: UntilQuery = None, before_id: Annotated[Cursor | None, Query()] = None,
        version: Annotated[int | None, Query(ge=1, le=2**31, description="Only events of this version")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_TIMELINE_PAGE)] = 100,
    ) -> Response:
        authz.require(Op.GET_MODEL_HISTORY, name)
        page = model_timeline(_engine(reg), name, before_id=before_id, types=_types(types), actor=actor,
                              since=since, until=until, version=version, limit=limit)
        return json_response({"events": [e.model_dump(mode="json") for e in page.events],
                              "next_before_id": page.next_before_id})

    @router.get("/registered-models/{name}/timeline/export", tags=tag, summary="Every event of the timeline's "
                "filter as a CSV or JSON download (for audits)",
                responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
    def export(
        name: str, reg: RegistryDep, authz: AuthzDep, format: Literal["csv", "json"] = "csv",
        types: TypesQuery = None, actor: ActorQuery = None, since: SinceQuery = None, until: UntilQuery = None,
    ) -> Response:
        authz.require(Op.GET_MODEL_HISTORY, name)
        engine, kinds = _engine(reg), _types(types)
        first = model_timeline(engine, name, types=kinds, actor=actor, since=since, until=until,
                               limit=MAX_TIMELINE_PAGE)

        def pages() -> Iterator[list[dict[str, Any]]]:
            page = first
            while True:
                yield [e.model_dump(mode="json") for e in page.events]
                if page.next_before_id is None:
                    return
                page = model_timeline(engine, name, before_id=page.next_before_id, types=kinds, actor=actor,
                                      since=since, until=until, limit=MAX_TIMELINE_PAGE)

        def as_csv() -> Iterator[str]:
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(EXPORT_COLUMNS)
            for events in pages():
                writer.writerows(_csv_row(e) for e in events)
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()

        def as_json() -> Iterator[str]:
            yield "["
            sep = ""
            for events in pages():
                for e in events:
                    yield sep + json.dumps(e)
                    sep = ","
            yield "]"

        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100] or "model"
        headers = {"Content-Disposition": f'attachment; filename="{safe}-history.{format}"',
                   "X-Content-Type-Options": "nosniff"}
        media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
        return StreamingResponse(as_csv() if format == "csv" else as_json(), media_type=media, headers=headers)

    @router.get("/registered-models/{name}/gates/overview", tags=tag, response_model=s.GateOverviewPublic,
                summary="A model's gate policies in words with their history, and each version's last verdict")
    def gate_overview(name: str, reg: RegistryDep, authz: AuthzDep) -> Response:
        authz.require(Op.GET_GATE_POLICY, name)
        gates = []
        for current in reg.list_gate_policies(name):
            t = current.target
            history = []
            for number in range(current.policy_version, 0, -1):
                record = reg.get_gate_policy(name, alias=t.name if t.kind == "alias" else None,
                                             stage=t.name if t.kind == "stage" else None, policy_version=number)
                if record is not None:
                    history.append({"policy_version": number, "created_by": record.created_by,
                                    "created_at": record.created_at, **_in_words(record.policy)})
            gates.append({"kind": t.kind, "name": t.name, "history": history})
        verdicts = [v.__dict__ for v in last_verdicts(_engine(reg), name)]
        return json_response({"gates": gates, "verdicts": verdicts})

    @router.post("/registered-models/summaries", tags=tag, response_model=s.ModelSummariesPage,
                 summary="For each named model: its newest move and each guarded target's rules and latest verdict")
    def summaries(body: s.ModelSummariesRequest, reg: RegistryDep, authz: AuthzDep) -> Response:
        policies: dict[str, dict[str, list[str]]] = {}
        targets: dict[str, list[Any]] = {}
        for name in dict.fromkeys(body.names):
            authz.require(Op.GET_MODEL_HISTORY, name)
            try:
                records = reg.list_gate_policies(name)
            except NotFound:
                continue
            guarded = {str(r.target): (r.target, _in_words(r.policy)["rules"]) for r in records}
            guarded = {k: v for k, v in guarded.items() if v[1]}
            policies[name] = {k: v[1] for k, v in guarded.items()}
            targets[name] = [v[0] for v in guarded.values()]

        def event(e: Any) -> Any:
            return e.model_dump(mode="json") if e is not None else None

        return json_response({"items": [
            {"name": x.name, "last_promotion": event(x.last_promotion),
             "gates": [{"target": label, "rules": rules, "last": event(x.last_judged.get(label))}
                       for label, rules in policies[x.name].items()]}
            for x in model_summaries(_engine(reg), targets)]})

    return router
