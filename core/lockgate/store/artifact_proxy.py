"""``ProxyArtifactRepository``: artifacts behind a Lockgate (or MLflow) server's artifact proxy.

``mlflow-artifacts:/<experiment>/<run>/artifacts`` URIs (what a server with
``--serve-artifacts`` hands out) resolve here for a client whose tracking URI is that server:
uploads and downloads stream through ``/api/2.0/mlflow-artifacts/artifacts/<path>`` in 1 MiB
pieces. ``RestStore.artifact_repository`` builds them with the store's own credentials and
HTTP pool; a URI naming another server (``mlflow-artifacts://host:port/...``) is refused
rather than sent this server's credentials.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit

import httpx

from lockgate.artifacts.repository import FileInfo, clean_artifact_path
from lockgate.errors import InvalidArgument, NotFound, ServiceUnavailable, error_for_code

__all__ = ["PROXY_PATH", "ProxyArtifactRepository"]

PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts"
_CHUNK = 1024 * 1024


class ProxyArtifactRepository:
    """Files under one ``mlflow-artifacts:`` root, reached through a tracking server."""

    def __init__(self, root_uri: str, *, server: str, http: httpx.Client) -> None:
        if not root_uri.startswith("mlflow-artifacts:"):
            raise InvalidArgument(f"Not an artifact proxy URI: {root_uri!r}.")
        self.server = server.rstrip("/")
        rest = root_uri[len("mlflow-artifacts:"):]
        if rest.startswith("//"):
            parts = urlsplit("http:" + rest)
            if parts.netloc and parts.netloc != urlsplit(self.server).netloc:
                raise InvalidArgument(
                    f"{root_uri!r} is served by {parts.netloc}, but this client talks to "
                    f"{self.server}: use a LockgateClient for that server."
                )
            rest = parts.path
        self.root_uri = root_uri
        self._root = clean_artifact_path(rest.lstrip("/"))
        self._http = http

    def __repr__(self) -> str:
        return f"ProxyArtifactRepository({self.root_uri!r} via {self.server})"

    # ------------------------------------------------------------------ paths
    def _path(self, rel: str) -> str:
        return posixpath.join(self._root, rel) if rel else self._root

    def _url(self, rel: str) -> str:
        return f"{self.server}{PROXY_PATH}/{quote(self._path(rel))}"

    def uri_for(self, artifact_path: str | None = None) -> str:
        rel = clean_artifact_path(artifact_path)
        return f"{self.root_uri.rstrip('/')}/{rel}" if rel else self.root_uri

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        try:
            body = response.json()
            raise error_for_code(body["error_code"], body["message"])
        except (ValueError, KeyError, TypeError):
            raise error_for_code("INTERNAL_ERROR", f"Artifact proxy answered {response.status_code}") from None

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._check(self._http.request(method, url, **kwargs))
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Could not reach the artifact proxy at {self.server}: {exc}") from exc

    # ---------------------------------------------------------------- writing
    def _upload(self, local_file: Path, rel: str) -> None:
        with open(local_file, "rb") as handle:
            self._send("PUT", self._url(rel), content=iter(lambda: handle.read(_CHUNK), b""))

    def log_artifact(self, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        src = Path(local_path)
        if not src.is_file():
            raise NotFound(f"Cannot log artifact: local file {str(src)!r} does not exist.")
        rel = posixpath.join(clean_artifact_path(artifact_path), src.name).lstrip("/")
        self._upload(src, rel)
        return rel

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> list[str]:
        src = Path(local_dir)
        if not src.is_dir():
            raise NotFound(f"Cannot log artifacts: local directory {str(src)!r} does not exist.")
        base, logged = clean_artifact_path(artifact_path), []
        for dirpath, _dirs, files in os.walk(src):
            for name in sorted(files):
                file = Path(dirpath) / name
                rel = file.relative_to(src).as_posix()
                target = posixpath.join(base, rel) if base else rel
                self._upload(file, target)
                logged.append(target)
        return logged

    def write_bytes(self, data: bytes, artifact_file: str) -> str:
        rel = clean_artifact_path(artifact_file)
        if not rel:
            raise InvalidArgument("An artifact file name is required.")
        self._send("PUT", self._url(rel), content=data)
        return rel

    # ---------------------------------------------------------------- reading
    def _listing(self, rel: str) -> list[dict[str, Any]]:
        files = self._send("GET", self.server + PROXY_PATH, params={"path": self._path(rel)}).json().get("files", [])
        return list(files)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = clean_artifact_path(path)
        files = self._listing(rel)
        only = files[0] if len(files) == 1 else None
        if (only is not None and not only["is_dir"] and rel and posixpath.basename(rel) == only["path"]
                and not self._is_dir_listing(rel)):
            return []  # a file has no children
        return sorted(
            (FileInfo(posixpath.join(rel, f["path"]) if rel else f["path"], bool(f["is_dir"]),
                       None if f["is_dir"] else int(f.get("file_size") or 0)) for f in files),
            key=lambda i: i.path,
        )

    def _is_dir_listing(self, rel: str) -> bool:
        parent = posixpath.dirname(rel)
        name = posixpath.basename(rel)
        return any(f["path"] == name and f["is_dir"] for f in self._listing(parent))

    def exists(self, artifact_path: str | None = None) -> bool:
        rel = clean_artifact_path(artifact_path)
        if not rel:
            return bool(self._listing(""))
        return any(f["path"] == posixpath.basename(rel) for f in self._listing(posixpath.dirname(rel)))

    def is_dir(self, artifact_path: str | None = None) -> bool:
        rel = clean_artifact_path(artifact_path)
        return True if not rel else self._is_dir_listing(rel)

    def walk_files(self, path: str | None = None) -> list[FileInfo]:
        found: list[FileInfo] = []
        for info in self.list_artifacts(path):
            found.extend(self.walk_files(info.path) if info.is_dir else [info])
        return sorted(found, key=lambda i: i.path)

    def _download_file(self, rel: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._http.stream("GET", self._url(rel)) as response:
                if response.status_code >= 400:
                    response.read()
                    self._check(response)
                with open(dest, "wb") as out:
                    out.writelines(response.iter_bytes(_CHUNK))
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Could not reach the artifact proxy at {self.server}: {exc}") from exc

    def download_artifacts(self, artifact_path: str | None = None,
                           dst_path: str | os.PathLike[str] | None = None) -> str:
        rel = clean_artifact_path(artifact_path)
        dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="lockgate-"))
        dst.mkdir(parents=True, exist_ok=True)
        target = dst / rel if rel else dst
        if self.is_dir(rel):
            files = self.walk_files(rel)
            if rel and not files and not self.exists(rel):
                raise NotFound(f"No artifact at {rel!r} under {self.root_uri!r}.")
            target.mkdir(parents=True, exist_ok=True)
            for info in files:
                inner = info.path[len(rel):].lstrip("/") if rel else info.path
                self._download_file(info.path, target / inner)
        else:
            self._download_file(rel, target)
        return str(target)

    @contextmanager
    def open(self, artifact_path: str, mode: str = "rb") -> Iterator[IO[Any]]:
        if mode not in ("rb", "r"):
            raise InvalidArgument(f"Artifacts open read-only ('rb' or 'r'), not {mode!r}.")
        tmp = Path(tempfile.mkdtemp(prefix="lockgate-"))
        try:
            local = tmp / "artifact"
            self._download_file(clean_artifact_path(artifact_path), local)
            with open(local, mode) as handle:
                yield handle
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def read_bytes(self, artifact_path: str) -> bytes:
        return self._send("GET", self._url(clean_artifact_path(artifact_path))).content

    def read_text(self, artifact_path: str, *, encoding: str = "utf-8") -> str:
        return self.read_bytes(artifact_path).decode(encoding)

    # --------------------------------------------------------------- deleting
    def delete_artifacts(self, path: str | None = None) -> None:
        rel = clean_artifact_path(path)
        target = self._path(rel)
        if not target:
            raise InvalidArgument("Refusing to delete the proxy's whole artifact root.")
        self._send("DELETE", f"{self.server}{PROXY_PATH}/{quote(target)}")
