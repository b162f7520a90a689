"""Turn ``runs:/`` and ``models:/`` URIs into storage locations, and fetch them locally.

``runs:/<run_id>/<path>`` is the run's artifact root plus ``path``. ``models:/<name>/<version>``,
``models:/<name>@<alias>`` and ``models:/<name>/<stage>`` are resolved by the registry
(``client.resolve_model_uri``) to a model version whose ``source`` is resolved in turn. The
lookups go through the caller's client (``client.artifact_resolver``), never a global one.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from lockgate.errors import InvalidArgument

if TYPE_CHECKING:
    from lockgate.artifacts.resolver import ArtifactResolver, HasArtifactResolver

__all__ = [
    "download_artifact_uri",
    "is_local_uri",
    "local_path_of",
    "parse_runs_uri",
    "resolve_artifact_uri",
    "uri_scheme",
]

# RFC 3986 scheme; two characters at least, so "C:/models" stays a Windows path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def uri_scheme(uri: str) -> str:
    """The scheme of a URI (``s3``, ``mlflow-artifacts``, ``file`` ...); "" for a plain path."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else ""


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``(run_id, path)`` from ``runs:/<run_id>/<path>``; InvalidArgument when malformed."""
    if not uri.startswith("runs:/"):
        raise InvalidArgument(f"Not a runs:/ URI: {uri!r}.")
    rest = uri[len("runs:/"):].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidArgument(f"URI {uri!r} names no run: expected runs:/<run_id>/<path>.")
    return run_id, path.strip("/")


def _resolver(client: HasArtifactResolver | None) -> ArtifactResolver:
    from lockgate.artifacts.resolver import ArtifactResolver

    return client.artifact_resolver if client is not None else ArtifactResolver()


def resolve_artifact_uri(uri: str, *, client: HasArtifactResolver | None = None) -> str:
    """The storage URI (local path, ``s3://`` ...) that a ``runs:/`` or ``models:/`` URI names.

    ``client`` (a ``LockgateClient``) is the tracking server or database the run or model is
    on; without it only storage URIs, which need no lookup, are accepted.
    """
    return _resolver(client).resolve(uri)


def is_local_uri(uri: str) -> bool:
    """True for plain paths and ``file:`` URIs; any other scheme (``mlflow-artifacts:/`` with its
    single slash included) names remote storage."""
    return uri_scheme(uri) in ("", "file")


def local_path_of(uri: str) -> str:
    """The filesystem path of a plain path or ``file:`` URI."""
    if uri_scheme(uri) == "file":
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(uri).path)
    return uri


def download_artifact_uri(
    uri: str, *, dst_path: str | os.PathLike[str] | None = None, client: HasArtifactResolver | None = None
) -> str:
    """A local path holding what ``uri`` names; local URIs are used in place, others downloaded
    (through ``client``'s store, registry and artifact proxy: see ``resolve_artifact_uri``)."""
    return _resolver(client).download(uri, dst_path=dst_path)
