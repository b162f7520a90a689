"""Read-only ``/api/v1`` endpoints behind the web UI (usable by any client): experiment stats,
the distinct keys of an experiment's runs, downsampled metric histories of many runs at once,
the caller's permission, and a run's artifacts (listing, preview, file).

Thin: the work lives in ``lockgate.store.sql.views``, ``lockgate.store.sql.sampling`` and ``lockgate.artifacts.preview``.
Artifacts obey the proxy's rules: the same path cleaning, READ on the run's experiment, and
only files inside the server's artifact destination. A file is never served as active content.
"""

from __future__ import annotations

import dataclasses
import posixpath
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from lockgate.errors import InvalidArgument, NotFound
from lockgate.server import view_schemas as s
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.auth.policy import Scope
from lockgate.server.deps import AuthzDep, StateDep
from lockgate.server.responses import json_response, wire_float
from lockgate.server.routers.mlflow_artifacts import safe_artifact_path

__all__ = ["FILE_HEADERS", "build_router", "run_artifact_root"]

# Whatever a browser makes of a served file, it may not run it or sniff it into HTML.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, max-age=0",
}
MAX_SERIES = 20_000


def _series_public(series: Any) -> dict[str, Any]:
    return {
        "run_id": series.run_id,
        "key": series.key,
        "total": series.total,
        "sampled": series.sampled,
        "points": [{"step": p.step, "timestamp": p.timestamp, "value": wire_float(p.value)} for p in series.points],
    }


def _local(uri: str) -> str:
    """``file:///a/b`` and ``/a/b`` name the same folder; other URIs stay as they are."""
    return uri[len("file://"):] if uri.startswith("file:///") else uri


def run_artifact_root(state: Any, artifact_uri: str) -> tuple[Any, str]:
    """(repository, prefix) holding a run's artifacts on this server, or InvalidArgument when
    they live outside its artifact destination (the server never reads arbitrary locations)."""
    if artifact_uri.startswith("mlflow-artifacts:"):
        rest = artifact_uri[len("mlflow-artifacts:"):]
        if rest.startswith("//"):
            rest = rest[2:].split("/", 1)[1] if "/" in rest[2:] else ""
        return state.services.artifacts(), safe_artifact_path(rest.strip("/"))
    destination = _local(state.artifacts_destination).rstrip("/")
    location = _local(artifact_uri).rstrip("/")
    if location == destination or location.startswith(destination + "/"):
        return state.services.artifacts(), safe_artifact_path(location[len(destination):].strip("/"))
    raise InvalidArgument(
        f"This run's artifacts are stored at {artifact_uri!r}, outside the server's artifact "
        "destination; read them with the Lockgate client instead."
    )


def _join(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if prefix and rel else prefix or rel


def build_router(prefix: str = "") -> APIRouter:
    """The UI data endpoints under ``prefix`` (the server uses /api/v1)."""
    router = APIRouter(prefix=prefix)
    ui_tag: list[str | Enum] = ["views"]

    @router.post("/experiments/stats", tags=ui_tag, response_model=s.ExperimentStatsPage,
                 summary="Active run count and last activity of each experiment")
    def experiment_stats(body: s.ExperimentStatsRequest, state: StateDep, authz: AuthzDep) -> Response:
        from lockgate.store.sql.views import experiment_stats as stats

        for experiment_id in body.experiment_ids:
            authz.require(Op.GET_EXPERIMENT, experiment_id)
        items = [dataclasses.asdict(item) for item in stats(state.store, body.experiment_ids)]
        return json_response({"items": items})

    @router.get("/experiments/{experiment_id}/keys", tags=ui_tag, response_model=s.RunKeysPublic,
                summary="Distinct param, metric and tag keys of an experiment's runs (searchable)")
    def run_keys(
        experiment_id: str,
        state: StateDep,
        authz: AuthzDep,
        contains: Annotated[str, Query(max_length=250)] = "",
        max_results: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> Response:
        from lockgate.store.sql.views import list_run_keys

        authz.require(Op.GET_EXPERIMENT, experiment_id)
        state.store.get_experiment(experiment_id)
        keys = list_run_keys(state.store, [experiment_id], contains=contains, max_results=max_results)
        return json_response(dataclasses.asdict(keys))

    @router.post("/metrics/sampled", tags=ui_tag, response_model=s.SampledHistoryPublic,
                 summary="Metric histories of many runs and keys, min/max-downsampled per x bucket")
    def sampled_history(body: s.SampledHistoryRequest, state: StateDep, authz: AuthzDep) -> Response:
        from lockgate.store.sql.sampling import sample_metric_histories

        if len(body.run_ids) * len(body.keys) > MAX_SERIES:
            raise InvalidArgument(f"At most {MAX_SERIES} (run, key) series per request; "
                                  f"got {len(body.run_ids) * len(body.keys)}.")
        for run_id in body.run_ids:
            authz.require(Op.GET_METRIC_HISTORY, run_id)
        series = sample_metric_histories(state.store, body.run_ids, body.keys, x=body.x, start=body.start,
                                         end=body.end, max_points=body.max_points)
        return json_response({"series": [_series_public(item) for item in series]})

    @router.get("/permissions", tags=ui_tag, response_model=s.PermissionPublic,
                summary="Who the caller is and what they may do on an experiment")
    def permissions(authz: AuthzDep,
                    experiment_id: Annotated[str | None, Query(max_length=32)] = None) -> Response:
        if not authz.auth_enabled:
            return json_response({"auth": False, "user": None, "admin": False, "permission": "MANAGE"})
        level = authz.permission(Scope.EXPERIMENT, experiment_id) if experiment_id is not None else None
        user = authz.user
        return json_response({"auth": True, "user": user.name if user else None,
                              "admin": bool(user and user.is_admin),
                              "permission": level.value if level else None})

    def _run_files(state: Any, authz: Any, run_id: str, path: str | None) -> tuple[Any, str, str]:
        authz.require(Op.GET_RUN, run_id)
        run = state.store.get_run(run_id)
        repo, prefix = run_artifact_root(state, run.info.artifact_uri)
        rel = safe_artifact_path(path)
        return repo, prefix, rel

    @router.get("/runs/{run_id}/artifacts", tags=ui_tag, response_model=s.ArtifactListPublic,
                summary="The files and folders directly under ?path= in a run's artifacts")
    def list_artifacts(run_id: str, state: StateDep, authz: AuthzDep,
                       path: Annotated[str | None, Query(max_length=1000)] = None) -> Response:
        repo, prefix, rel = _run_files(state, authz, run_id, path)
        full = _join(prefix, rel)
        files = []
        for info in repo.list_artifacts(full or None):
            child = info.path[len(prefix):].lstrip("/") if prefix else info.path
            files.append({"path": child, "is_dir": info.is_dir, "file_size": info.file_size})
        return json_response({"files": files})

    @router.get("/runs/{run_id}/artifacts/preview", tags=ui_tag, response_model=s.ArtifactPreviewPublic,
                summary="The head of one artifact file and how to show it (never as active content)")
    def preview(run_id: str, state: StateDep, authz: AuthzDep,
                path: Annotated[str, Query(max_length=1000)]) -> Response:
        from lockgate.artifacts.preview import preview_artifact

        repo, prefix, rel = _run_files(state, authz, run_id, path)
        if not rel:
            raise InvalidArgument("Name a file to preview with ?path=.")
        full = _join(prefix, rel)
        if not repo.exists(full):
            raise NotFound(f"No artifact {rel!r} in run {run_id!r}.")
        if repo.is_dir(full):
            return json_response({"path": rel, "kind": "directory"})
        result = preview_artifact(repo, full)
        result.path = rel
        return json_response(dataclasses.asdict(result))

    @router.get("/runs/{run_id}/artifacts/file", tags=ui_tag, summary="One artifact file: raster images "
                "inline, anything else as a download",
                responses={200: {"content": {"application/octet-stream": {}}}})
    def artifact_file(run_id: str, state: StateDep, authz: AuthzDep,
                      path: Annotated[str, Query(max_length=1000)], download: bool = False) -> Response:
        from starlette.responses import FileResponse, StreamingResponse

        from lockgate.artifacts.preview import inline_media_type
        from lockgate.server.routers.mlflow_artifacts import _iter_handle, _open_download

        repo, prefix, rel = _run_files(state, authz, run_id, path)
        if not rel:
            raise InvalidArgument("Name a file with ?path=.")
        local, handle = _open_download(repo, _join(prefix, rel))
        media = None if download else inline_media_type(rel)
        disposition = "inline" if media else "attachment"
        name = posixpath.basename(rel)
        if local is not None:
            return FileResponse(local, media_type=media or "application/octet-stream", filename=name,
                                content_disposition_type=disposition, headers=FILE_HEADERS)
        from urllib.parse import quote

        headers = {**FILE_HEADERS, "Content-Disposition": f"{disposition}; filename*=utf-8''{quote(name)}"}
        return StreamingResponse(_iter_handle(handle), media_type=media or "application/octet-stream",
                                 headers=headers)

    return router
