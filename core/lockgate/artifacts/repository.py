"""Artifact storage on any fsspec filesystem: local directories, S3, GCS, Azure and the rest.

One class serves every protocol: ``fsspec.core.url_to_fs`` picks the filesystem from the URI.
Copies are streamed in fixed-size chunks, so files larger than memory upload and download;
transient errors are retried; a path that would leave the repository root is refused.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lockgate.artifacts.retry import with_retries
from lockgate.errors import InvalidArgument, NotFound

__all__ = [
    "ArtifactRepository",
    "FileInfo",
    "clean_artifact_path",
    "get_artifact_repository",
    "register_artifact_scheme",
    "storage_options_for",
]

CHUNK_SIZE = 1024 * 1024
READ_BLOCK_SIZE = 4 * 1024 * 1024
# S3 multipart parts must be >= 5 MiB; 6 MiB keeps memory per open file small.
WRITE_BLOCK_SIZE = 6 * 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    """One entry of an artifact listing: path relative to the root, kind and size in bytes."""

    path: str
    is_dir: bool
    file_size: int | None = None


def clean_artifact_path(path: str | os.PathLike[str] | None) -> str:
    """The normalized relative artifact path, or InvalidArgument when it escapes the root."""
    if path is None:
        return ""
    text = os.fspath(path).replace("\\", "/")
    if text in ("", ".", "/"):
        return "" if text != "/" else _refuse(text)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or "://" in text:
        _refuse(text)
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        _refuse(text)
    return "/".join(parts)


def _refuse(text: str) -> str:
    raise InvalidArgument(
        f"Artifact path {text!r} is not allowed: artifact paths are relative to the run's "
        "artifact root and may not be absolute or contain '..'."
    )


def storage_options_for(protocol: str) -> dict[str, Any]:
    """Filesystem options taken from the environment: S3 keys and endpoint for ``s3://``."""
    if protocol not in ("s3", "s3a"):
        return {}
    options: dict[str, Any] = {}
    endpoint = os.environ.get("LOCKGATE_S3_ENDPOINT_URL") or os.environ.get("MLFLOW_S3_ENDPOINT_URL")
    if endpoint:
        options["endpoint_url"] = endpoint
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        options["key"], options["secret"] = key, secret
        token = os.environ.get("AWS_SESSION_TOKEN")
        if token:
            options["token"] = token
    if os.environ.get("LOCKGATE_S3_IGNORE_TLS", "").lower() in ("1", "true", "yes"):
        options.setdefault("client_kwargs", {})["verify"] = False
    return options


class ArtifactRepository:
    """Files under one root URI: upload, list, download, stream and delete them."""

    def __init__(self, root_uri: str, *, storage_options: dict[str, Any] | None = None) -> None:
        import fsspec.core

        if not root_uri:
            raise InvalidArgument("An artifact repository needs a root URI; got an empty one.")
        self.root_uri = root_uri
        protocol = root_uri.split("://", 1)[0] if "://" in root_uri else "file"
        options = {**storage_options_for(protocol), **(storage_options or {})}
        try:
            self.fs, root = fsspec.core.url_to_fs(root_uri, **options)
        except (ImportError, ValueError) as exc:
            raise InvalidArgument(
                f"Cannot open artifact root {root_uri!r}: {exc}. For s3:// install "
                "'lockgate[s3]'; other protocols need their fsspec package (gcsfs, adlfs ...)."
            ) from exc
        self._root = root.rstrip("/") or "/"
        self._local = _is_local(self.fs)

    def __repr__(self) -> str:
        return f"ArtifactRepository({self.root_uri!r})"

    # -- paths ------------------------------------------------------------------------------
    def _full(self, artifact_path: str | None) -> str:
        rel = clean_artifact_path(artifact_path)
        return f"{self._root}/{rel}" if rel else self._root

    def _relative(self, full_path: str) -> str:
        full = full_path.rstrip("/")
        root = self._root.rstrip("/")
        if self._local:
            full, root = os.path.normpath(full), os.path.normpath(root)
        if full == root:
            return ""
        prefix = root + "/"
        if not full.startswith(prefix):
            # s3fs drops the protocol; some backends keep it. Match on the tail instead.
            idx = full.find(prefix.split("://")[-1])
            if idx < 0:
                raise InvalidArgument(f"Listed path {full_path!r} is outside root {self._root!r}.")
            return full[idx + len(prefix.split("://")[-1]):]
        return full[len(prefix):]

    def uri_for(self, artifact_path: str | None = None) -> str:
        """The full URI of an artifact under this root."""
        rel = clean_artifact_path(artifact_path)
        return f"{self.root_uri.rstrip('/')}/{rel}" if rel else self.root_uri

    # -- writing ----------------------------------------------------------------------------
    def _makedirs(self, full_dir: str) -> None:
        if self._local:
            os.makedirs(full_dir, exist_ok=True)

    def _upload_file(self, local_file: str, full_dest: str) -> None:
        def copy() -> None:
            self._makedirs(posixpath.dirname(full_dest))
            with open(local_file, "rb") as src, self._open_write(full_dest) as dst:
                shutil.copyfileobj(src, dst, CHUNK_SIZE)

        with_retries(copy, what=f"upload of {local_file}")

    def _open_write(self, full_dest: str) -> IO[bytes]:
        if self._local:
            return open(full_dest, "wb")
        return self.fs.open(full_dest, "wb", block_size=WRITE_BLOCK_SIZE)

    def _open_read(self, full_src: str, mode: str = "rb") -> IO[Any]:
        if self._local:
            return open(full_src, mode)
        return self.fs.open(full_src, mode, block_size=READ_BLOCK_SIZE)  # type: ignore[no-any-return]

    def log_artifact(self, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Upload one local file under ``artifact_path``; returns its path in the repository."""
        src = Path(local_path)
        if not src.is_file():
            raise NotFound(f"Cannot log artifact: local file {str(src)!r} does not exist.")
        rel = posixpath.join(clean_artifact_path(artifact_path), src.name).lstrip("/")
        self._upload_file(str(src), self._full(rel))
        return rel

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> list[str]:
        """Upload every file under a local directory, keeping its layout; returns their paths."""
        src = Path(local_dir)
        if not src.is_dir():
            raise NotFound(f"Cannot log artifacts: local directory {str(src)!r} does not exist.")
        base = clean_artifact_path(artifact_path)
        logged: list[str] = []
        for dirpath, _dirnames, filenames in os.walk(src):
            for filename in sorted(filenames):
                file = Path(dirpath) / filename
                rel = file.relative_to(src).as_posix()
                target = posixpath.join(base, rel) if base else rel
                self._upload_file(str(file), self._full(target))
                logged.append(target)
        return logged

    def write_bytes(self, data: bytes, artifact_file: str) -> str:
        """Store bytes as one artifact file (used for text, dicts and figures)."""
        rel = clean_artifact_path(artifact_file)
        if not rel:
            raise InvalidArgument("An artifact file name is required.")
        full = self._full(rel)

        def write() -> None:
            self._makedirs(posixpath.dirname(full))
            with self._open_write(full) as dst:
                dst.write(data)

        with_retries(write, what=f"write of {rel}")
        return rel

    # -- reading ----------------------------------------------------------------------------
    def exists(self, artifact_path: str | None = None) -> bool:
        """True when a file or directory exists at ``artifact_path``."""
        full = self._full(artifact_path)
        return bool(with_retries(lambda: self.fs.exists(full), what="exists"))

    def is_dir(self, artifact_path: str | None = None) -> bool:
        """True when ``artifact_path`` is a directory (a prefix, on object stores)."""
        full = self._full(artifact_path)
        return bool(with_retries(lambda: self.fs.isdir(full), what="isdir"))

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` (root by default), sorted; [] when there are none."""
        full = self._full(path)
        try:
            entries = with_retries(lambda: self.fs.ls(full, detail=True, refresh=True)
                                   if not self._local else self.fs.ls(full, detail=True),
                                   what="list")
        except FileNotFoundError:
            return []
        except TypeError:
            entries = with_retries(lambda: self.fs.ls(full, detail=True), what="list")
        infos: list[FileInfo] = []
        for entry in entries:
            if entry["name"].endswith("/"):
                continue  # a folder-marker object, not an artifact
            rel = self._relative(entry["name"])
            if rel == clean_artifact_path(path):
                # ls on a file returns the file itself: a file has no children.
                return []
            is_dir = entry.get("type") == "directory"
            infos.append(FileInfo(path=rel, is_dir=is_dir,
                                  file_size=None if is_dir else int(entry.get("size") or 0)))
        return sorted(infos, key=lambda i: i.path)

    def walk_files(self, path: str | None = None) -> list[FileInfo]:
        """Every file under ``path``, recursively, with sizes."""
        full = self._full(path)
        found = with_retries(lambda: self.fs.find(full, withdirs=False, detail=True), what="find")
        return sorted(
            (FileInfo(path=self._relative(name), is_dir=False, file_size=int(info.get("size") or 0))
             for name, info in found.items()),
            key=lambda i: i.path,
        )

    def _require(self, artifact_path: str | None) -> str:
        full = self._full(artifact_path)
        if not with_retries(lambda: self.fs.exists(full), what="exists"):
            raise NotFound(
                f"No artifact at {clean_artifact_path(artifact_path) or '.'!r} under {self.root_uri!r}."
            )
        return full

    def _download_file(self, full_src: str, local_dest: Path) -> None:
        def copy() -> None:
            local_dest.parent.mkdir(parents=True, exist_ok=True)
            with self._open_read(full_src) as src, open(local_dest, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_SIZE)

        with_retries(copy, what=f"download of {full_src}")

    def download_artifacts(
        self, artifact_path: str | None = None, dst_path: str | os.PathLike[str] | None = None
    ) -> str:
        """Copy a file or a whole tree to ``dst_path`` (a new temp dir by default).

        Returns the local path of what was downloaded: ``dst_path/artifact_path``.
        """
        rel = clean_artifact_path(artifact_path)
        full = self._require(rel)
        dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="lockgate-"))
        dst.mkdir(parents=True, exist_ok=True)
        target = dst / rel if rel else dst
        if with_retries(lambda: self.fs.isdir(full), what="isdir"):
            target.mkdir(parents=True, exist_ok=True)
            for info in self.walk_files(rel):
                inner = info.path[len(rel):].lstrip("/") if rel else info.path
                self._download_file(self._full(info.path), target / inner)
        else:
            self._download_file(full, target)
        return str(target)

    @contextmanager
    def open(self, artifact_path: str, mode: str = "rb") -> Iterator[IO[Any]]:
        """Open one artifact for streaming reads (``rb`` or ``r``)."""
        if mode not in ("rb", "r"):
            raise InvalidArgument(f"Artifacts open read-only ('rb' or 'r'), not {mode!r}.")
        full = self._require(artifact_path)
        with self._open_read(full, mode) as handle:
            yield handle

    def read_bytes(self, artifact_path: str) -> bytes:
        """The whole content of a small artifact."""
        full = self._require(artifact_path)
        return bytes(with_retries(lambda: self.fs.cat_file(full), what="read"))

    def read_text(self, artifact_path: str, *, encoding: str = "utf-8") -> str:
        """The content of a small text artifact."""
        return self.read_bytes(artifact_path).decode(encoding)

    # -- deleting ---------------------------------------------------------------------------
    def delete_artifacts(self, path: str | None = None) -> None:
        """Delete a file or tree (the whole root by default); missing paths are a no-op."""
        full = self._full(path)

        def remove() -> None:
            try:
                if not self.fs.exists(full):
                    return
                if self._local:
                    self.fs.rm(full, recursive=True)
                    return
                found = self.fs.find(full, withdirs=True, detail=True)
                folders = [name for name, info in found.items() if info.get("type") == "directory"]
                self.fs.rm(full, recursive=True)
                # Some stores (SeaweedFS, consoles' "folder" objects) keep empty-folder markers.
                for folder in sorted({*folders, full}, key=len, reverse=True):
                    try:
                        self.fs.rm_file(folder.rstrip("/") + "/")
                    except (FileNotFoundError, OSError):
                        pass
                self.fs.invalidate_cache(full)
            except FileNotFoundError:
                pass

        with_retries(remove, what="delete")


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


# Scheme -> factory; the server helper registers "mlflow-artifacts", "http" and "https" here
# to route through the tracking server's artifact proxy instead of a filesystem.
_SCHEMES: dict[str, Callable[[str], Any]] = {}


def register_artifact_scheme(scheme: str, factory: Callable[[str], Any]) -> None:
    """Route URIs of ``scheme`` to a custom repository class (e.g. the server proxy)."""
    _SCHEMES[scheme] = factory


def get_artifact_repository(uri: str) -> ArtifactRepository:
    """The repository for an artifact URI: a registered scheme's handler, else fsspec.

    ``runs:/`` and ``models:/`` URIs are resolved to their storage location first.
    """
    if uri.startswith(("runs:/", "models:/")):
        from lockgate.artifacts.uri import resolve_artifact_uri

        uri = resolve_artifact_uri(uri)
    from lockgate.artifacts.uri import uri_scheme

    scheme = uri_scheme(uri)
    if scheme in _SCHEMES:
        return _SCHEMES[scheme](uri)  # type: ignore[no-any-return]
    return ArtifactRepository(uri)
