"""``ArtifactResolver``: where one client's artifact URIs live, and the repository for each.

Every ``LockgateClient`` owns one (``client.artifact_resolver``): ``runs:/`` URIs resolve
through that client's tracking store, ``models:/`` URIs through its registry, and
``mlflow-artifacts:`` URIs through its server's artifact proxy with its credentials. Nothing is
registered process-wide, so clients for different servers in one process never cross.
A resolver built without sources (``ArtifactResolver()``) handles storage URIs only: paths,
``file:``, ``s3://`` and the other fsspec protocols.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from lockgate.artifacts.repository import ArtifactRepository, clean_artifact_path
from lockgate.artifacts.uri import is_local_uri, local_path_of, parse_runs_uri, uri_scheme
from lockgate.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from lockgate.artifacts.base import Repository
    from lockgate.entities import Run

__all__ = ["ArtifactResolver", "HasArtifactResolver", "RepositoryFactory", "RunSource"]

RepositoryFactory = Callable[[str], "Repository"]
_MAX_DEPTH = 8
# Schemes only a tracking server can serve; without its proxy they cannot be opened.
_SERVER_SCHEMES = ("mlflow-artifacts",)


class RunSource(Protocol):
    """Anything that looks runs up by id (a client or a tracking store)."""

    def get_run(self, run_id: str) -> Run: ...


class HasArtifactResolver(Protocol):
    """A caller that owns its artifact routing (``LockgateClient``)."""

    @property
    def artifact_resolver(self) -> ArtifactResolver: ...


class ArtifactResolver:
    """Turns artifact URIs into storage locations and repositories for one client.

    ``runs`` looks up ``runs:/`` URIs; ``resolve_model`` maps a ``models:/`` URI to the
    version's storage location (or source); ``schemes`` maps a URI scheme to the factory of
    its repository (a server client passes its artifact proxy for ``mlflow-artifacts``).
    """

    def __init__(
        self,
        runs: RunSource | None = None,
        *,
        resolve_model: Callable[[str], str] | None = None,
        schemes: Mapping[str, RepositoryFactory] | None = None,
    ) -> None:
        self._runs = runs
        self._resolve_model = resolve_model
        self._schemes = dict(schemes or {})

    def resolve(self, uri: str) -> str:
        """The storage URI (path, ``s3://``, ``mlflow-artifacts:/`` ...) a URI names."""
        return self._resolve(os.fspath(uri), uri, 0)

    def _resolve(self, uri: str, original: str, depth: int) -> str:
        if depth > _MAX_DEPTH:
            raise InvalidArgument(f"Model URI {original!r} resolves through too many indirections.")
        if uri.startswith("runs:/"):
            run_id, path = parse_runs_uri(uri)
            if self._runs is None:
                raise InvalidArgument(
                    f"Cannot resolve {uri!r} without a tracking client: use "
                    "client.artifact_repository(uri), or pass client= to name the server it is on."
                )
            root = self._runs.get_run(run_id).info.artifact_uri.rstrip("/")
            rel = clean_artifact_path(path)
            return f"{root}/{rel}" if rel else root
        if uri.startswith("models:/"):
            if self._resolve_model is None:
                raise InvalidArgument(
                    f"Cannot resolve {uri!r} without a model registry: use the LockgateClient of "
                    "the registry that holds the model (client=...)."
                )
            location = self._resolve_model(uri)
            if not location:
                raise NotFound(f"Model URI {original!r} resolved to a version with no source.")
            return self._resolve(location, original, depth + 1)
        return uri

    def repository(self, uri: str) -> Repository:
        """The repository rooted at what ``uri`` names (``runs:/`` and ``models:/`` resolved first)."""
        location = self.resolve(uri)
        scheme = uri_scheme(location)
        factory = self._schemes.get(scheme)
        if factory is not None:
            return factory(location)
        if scheme in _SERVER_SCHEMES:
            raise InvalidArgument(
                f"{location!r} is stored behind a tracking server's artifact proxy: open it with "
                "the LockgateClient of that server (client.artifact_repository(uri))."
            )
        return ArtifactRepository(location)

    def run_repository(self, run_id: str) -> Repository:
        """The repository rooted at the run's artifact URI."""
        if self._runs is None:
            raise InvalidArgument(f"Cannot find the artifacts of run {run_id!r} without a tracking client.")
        return self.repository(self._runs.get_run(run_id).info.artifact_uri)

    def download(self, uri: str, *, dst_path: str | os.PathLike[str] | None = None) -> str:
        """A local path holding what ``uri`` names; local files are used in place, others copied."""
        resolved = self.resolve(uri)
        if is_local_uri(resolved) and dst_path is None:
            path = local_path_of(resolved)
            if not os.path.exists(path):
                raise NotFound(f"Nothing exists at {uri!r}" + (f" (resolved to {path!r})." if path != uri else "."))
            return os.path.abspath(path)
        parent, name = posixpath.split(resolved.rstrip("/"))
        if not name:
            raise InvalidArgument(f"URI {uri!r} names no file or directory.")
        try:
            return self.repository(parent).download_artifacts(name, dst_path)
        except NotFound:
            raise NotFound(f"Nothing exists at {uri!r} (resolved to {resolved!r}).") from None
