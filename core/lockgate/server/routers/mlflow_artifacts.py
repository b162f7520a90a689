"""The artifact proxy (``/api/2.0/mlflow-artifacts/artifacts/<path>``): MLflow's wire format.

Clients holding an ``mlflow-artifacts:/<experiment>/<run>/artifacts/...`` URI upload with PUT,
download with GET, list with ``GET ...?path=`` and delete with DELETE; the server stores the
bytes under its ``--artifacts-destination`` (a directory or an object store). Bodies stream
in both directions in 1 MiB pieces, so multi-GiB files never sit in memory, and a path that
could leave the destination (``..``, absolute, percent-encoded traversal) is refused.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lockgate.artifacts import ArtifactRepository
from lockgate.errors import InvalidArgument, NotFound, NotImplementedFeature
from lockgate.server.auth.policy import Operation as Op
from lockgate.server.deps import ArtifactsDep, AuthzDep
from lockgate.server.responses import EMPTY, json_response

__all__ = ["CHUNK_SIZE", "MULTIPART_UNSUPPORTED", "build_router", "confined_path", "safe_artifact_path"]

CHUNK_SIZE = 1024 * 1024
# The stock client matches this prefix to fall back to a plain PUT (mlflow/exceptions.py).
MULTIPART_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"
# What every file system here can hold: NAME_MAX is 255 bytes, and a path deeper than a few
# hundred levels only exists to exhaust the recursion in makedirs.
MAX_SEGMENT_BYTES = 255
MAX_PATH_DEPTH = 100
MAX_PATH_CHARS = 2048


def safe_artifact_path(path: str | None) -> str:
    """The normalized relative path, or InvalidArgument for anything that escapes the root."""
    if path is None or path in ("", "."):
        return ""
    # Decode repeatedly: "%252e%252e" must not survive as a disguised "..".
    decoded = path
    for _ in range(3):
        again = unquote(decoded)
        if again == decoded:
            break
        decoded = again
    for candidate in (path, decoded):
        text = candidate.replace("\\", "/")
        if (
            text.startswith("/")
            or (len(text) > 1 and text[1] == ":")
            or "://" in text
            or "\x00" in text
            or any(part == ".." for part in text.split("/"))
        ):
            raise InvalidArgument(
                f"Artifact path {path!r} is not allowed: paths are relative to the artifact root "
                "and may not be absolute or contain '..'."
            )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if len(path) > MAX_PATH_CHARS or len(parts) > MAX_PATH_DEPTH:
        raise InvalidArgument(
            f"Artifact path {path[:60]!r}... is too long: at most {MAX_PATH_CHARS} characters "
            f"and {MAX_PATH_DEPTH} levels (got {len(path)} characters, {len(parts)} levels)."
        )
    for part in parts:
        if len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise InvalidArgument(
                f"Artifact path segment {part[:40]!r}... is {len(part.encode('utf-8', 'surrogatepass'))} "
                f"bytes; a file or folder name may be at most {MAX_SEGMENT_BYTES} bytes."
            )
    return "/".join(parts)


def confined_path(repo: Any, rel: str) -> str:
    """``rel``'s full path, after checking that symlinks do not lead it out of the root.

    A link inside the artifacts folder (made by anyone with shell access there, or by an
    earlier bug) must not let the proxy read, write or delete outside the destination.
    """
    full: str = repo._full(rel)
    if not repo._local:
        return full  # object stores have no symlinks
    root = os.path.realpath(repo._full(""))
    resolved = os.path.realpath(full)
    if resolved != root and not resolved.startswith(root.rstrip("/") + "/"):
        raise InvalidArgument(
            f"Artifact path {rel!r} is not allowed: it resolves outside the artifact root "
            "(through a symbolic link)."
        )
    return full


def _delete(repo: Any, rel: str) -> None:
    confined_path(repo, rel)
    repo.delete_artifacts(rel)


class _Upload:
    """One file being written: local files go to a temp name and are renamed on success,
    object-store files are committed by close() and discarded on failure."""

    def __init__(self, repo: ArtifactRepository, rel: str) -> None:
        self.repo = repo
        self.full = confined_path(repo, rel)
        self.local = bool(repo._local)
        if self.local:
            try:
                os.makedirs(posixpath.dirname(self.full) or "/", exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise InvalidArgument(
                    f"Artifact path {rel!r} is not allowed: a folder on the way to it is an existing file."
                ) from None
            if os.path.isdir(self.full):
                raise InvalidArgument(f"Artifact path {rel!r} is a directory; upload to a file path.")
            # A short temp name beside the target: the target's own name may already be 255 bytes.
            self.target = posixpath.join(posixpath.dirname(self.full), f".upload-{uuid.uuid4().hex}")
            self.handle: Any = open(self.target, "wb")  # noqa: SIM115 - written chunk by chunk, closed by finish()
        else:
            self.target = self.full
            self.handle = repo.fs.open(self.full, "wb", block_size=6 * CHUNK_SIZE)

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def commit(self) -> None:
        self.handle.close()
        if self.local:
            os.replace(self.target, self.full)

    def abort(self) -> None:
        try:
            if hasattr(self.handle, "discard"):
                self.handle.discard()
            else:
                self.handle.close()
        finally:
            if self.local and os.path.exists(self.target):
                os.unlink(self.target)


def _list(repo: ArtifactRepository, rel: str) -> list[dict[str, Any]]:
    confined_path(repo, rel)
    if rel and not repo.exists(rel):
        return []
    if rel and not repo.is_dir(rel):
        # MLflow answers a listing of a file with the file itself.
        full = repo._full(rel)
        size = os.path.getsize(full) if repo._local else int(repo.fs.info(full).get("size") or 0)
        return [{"path": posixpath.basename(rel), "is_dir": False, "file_size": size}]
    files = []
    for info in repo.list_artifacts(rel or None):
        entry: dict[str, Any] = {"path": posixpath.basename(info.path), "is_dir": info.is_dir}
        if not info.is_dir:
            entry["file_size"] = info.file_size or 0
        files.append(entry)
    return files


def _open_download(repo: ArtifactRepository, rel: str) -> tuple[str | None, Any]:
    """(local file path, None) for local storage, else (None, an open binary handle)."""
    if not rel or not repo.exists(rel) or repo.is_dir(rel):
        raise NotFound(f"No artifact file at {rel!r}.")
    full = confined_path(repo, rel)
    if repo._local:
        return full, None
    return None, repo.fs.open(full, "rb", block_size=4 * CHUNK_SIZE)


def _iter_handle(handle: Any) -> Any:
    try:
        while True:
            chunk = handle.read(CHUNK_SIZE)
            if not chunk:
                break
            yield chunk
    finally:
        handle.close()


def build_router(prefix: str = "") -> APIRouter:
    """The proxy endpoints under ``prefix`` (the server uses /api/2.0/mlflow-artifacts)."""
    router = APIRouter(prefix=prefix, tags=["artifacts"])

    @router.get("/artifacts", summary="List the files and folders directly under ?path=")
    def list_artifacts(repo: ArtifactsDep, authz: AuthzDep, path: Annotated[str | None, Query()] = None) -> Response:
        rel = safe_artifact_path(path)
        authz.require(Op.READ_ARTIFACTS, rel)
        return json_response({"files": _list(repo, rel)})

    @router.put("/artifacts/{artifact_path:path}", summary="Upload one file (the raw request body)")
    async def upload_artifact(artifact_path: str, request: Request, repo: ArtifactsDep, authz: AuthzDep) -> Response:
        rel = safe_artifact_path(artifact_path)
        if not rel:
            raise InvalidArgument("An upload needs a file path after /artifacts/.")
        if authz.auth_enabled:  # the check reads the database: keep it off the event loop
            await run_in_threadpool(authz.require, Op.WRITE_ARTIFACTS, rel)
        upload = await run_in_threadpool(_Upload, repo, rel)
        try:
            buffer = bytearray()
            async for chunk in request.stream():
                buffer += chunk
                if len(buffer) >= CHUNK_SIZE:
                    await run_in_threadpool(upload.write, bytes(buffer))
                    buffer.clear()
            if buffer:
                await run_in_threadpool(upload.write, bytes(buffer))
            await run_in_threadpool(upload.commit)
        except BaseException:
            await run_in_threadpool(upload.abort)
            raise
        return json_response(EMPTY)

    @router.get("/artifacts/{artifact_path:path}", summary="Download one file, streamed")
    def download_artifact(artifact_path: str, repo: ArtifactsDep, authz: AuthzDep) -> Response:
        from starlette.responses import FileResponse, StreamingResponse

        rel = safe_artifact_path(artifact_path)
        authz.require(Op.READ_ARTIFACTS, rel)
        local, handle = _open_download(repo, rel)
        if local is not None:
            return FileResponse(local, media_type="application/octet-stream", filename=posixpath.basename(rel),
                                content_disposition_type="attachment")
        return StreamingResponse(_iter_handle(handle), media_type="application/octet-stream")

    @router.delete("/artifacts/{artifact_path:path}", summary="Delete a file or folder")
    def delete_artifact(artifact_path: str, repo: ArtifactsDep, authz: AuthzDep) -> Response:
        rel = safe_artifact_path(artifact_path)
        authz.require(Op.DELETE_ARTIFACTS, rel)
        if not rel:
            raise InvalidArgument("Refusing to delete the whole artifact root; name a path.")
        _delete(repo, rel)
        return json_response(EMPTY)

    # Presigned multipart uploads (PUT parts straight to the object store) are not offered:
    # every upload streams through the proxy. The answers are MLflow's own for a destination
    # without multipart support, so the stock client falls back to one streamed PUT, and
    # ``/api/3.0/mlflow/server-info`` advertises ``multipart_uploads_enabled: false``.
    for action in ("create", "complete", "abort"):
        @router.post(f"/mpu/{action}/{{artifact_path:path}}", summary=f"Multipart upload ({action}): not supported")
        def multipart(artifact_path: str, authz: AuthzDep) -> Response:
            rel = safe_artifact_path(artifact_path)
            authz.require(Op.WRITE_ARTIFACTS, rel)
            raise NotImplementedFeature(MULTIPART_UNSUPPORTED)

    return router
