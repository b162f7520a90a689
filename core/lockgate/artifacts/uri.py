"""Turn ``runs:/`` and ``models:/`` URIs into storage locations, and fetch them locally.

``runs:/<run_id>/<path>`` is the run's artifact root plus ``path``. ``models:/<name>/<version>``,
``models:/<name>@<alias>`` and ``models:/<name>/<stage>`` are resolved by the registry
(``client.resolve_model_uri``) to a model version whose ``source`` is resolved in turn.
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any

from lockgate.errors import InvalidArgument, NotFound

__all__ = [
    "download_artifact_uri",
    "is_local_uri",
    "local_path_of",
    "parse_runs_uri",
    "resolve_artifact_uri",
    "uri_scheme",
]

_MAX_DEPTH = 8
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


def _client(client: Any | None) -> Any:
    if client is not None:
        return client
    from lockgate import fluent

    return fluent.get_client()


def resolve_artifact_uri(uri: str, *, client: Any | None = None, _depth: int = 0) -> str:
    """The storage URI (local path, ``s3://`` ...) that a ``runs:/`` or ``models:/`` URI names."""
    if _depth > _MAX_DEPTH:
        raise InvalidArgument(f"Model URI {uri!r} resolves through too many indirections.")
    if uri.startswith("runs:/"):
        from lockgate.artifacts.repository import clean_artifact_path

        run_id, path = parse_runs_uri(uri)
        run = _client(client).get_run(run_id)
        root = run.info.artifact_uri.rstrip("/")
        rel = clean_artifact_path(path)
        return f"{root}/{rel}" if rel else root
    if uri.startswith("models:/"):
        c = _client(client)
        resolver = getattr(c, "resolve_model_uri", None)
        if resolver is None:
            raise InvalidArgument(
                f"Cannot resolve {uri!r}: this Lockgate has no model registry "
                "(client.resolve_model_uri is missing)."
            )
        version = resolver(uri)
        source = getattr(version, "storage_location", None) or getattr(version, "source", None)
        if not source:
            raise NotFound(f"Model URI {uri!r} resolved to a version with no source.")
        return resolve_artifact_uri(source, client=c, _depth=_depth + 1)
    return uri


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


def download_artifact_uri(uri: str, *, dst_path: str | None = None, client: Any | None = None) -> str:
    """A local path holding what ``uri`` names; local URIs are used in place, others downloaded."""
    resolved = resolve_artifact_uri(uri, client=client)
    if is_local_uri(resolved) and dst_path is None:
        path = local_path_of(resolved)
        if not os.path.exists(path):
            raise NotFound(f"Nothing exists at {uri!r}" + (f" (resolved to {path!r})." if path != uri else "."))
        return os.path.abspath(path)
    from lockgate.artifacts.repository import get_artifact_repository

    parent, name = posixpath.split(resolved.rstrip("/"))
    if not name:
        raise InvalidArgument(f"URI {uri!r} names no file or directory.")
    repo = get_artifact_repository(parent)
    try:
        return repo.download_artifacts(name, dst_path)
    except NotFound:
        raise NotFound(f"Nothing exists at {uri!r} (resolved to {resolved!r}).") from None
