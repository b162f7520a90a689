"""Artifact storage: an fsspec-backed repository, run artifacts and URI resolution.

Routing belongs to a client: ``client.artifact_repository(uri)`` (or ``client=`` on the
functions here) resolves ``runs:/``, ``models:/`` and ``mlflow-artifacts:`` URIs through that
client's store, registry and server. Nothing here reads a global client.
"""

from __future__ import annotations

from lockgate.artifacts.base import Repository
from lockgate.artifacts.repository import (
    ArtifactRepository,
    FileInfo,
    get_artifact_repository,
)
from lockgate.artifacts.resolver import ArtifactResolver
from lockgate.artifacts.run_artifacts import delete_run_artifacts
from lockgate.artifacts.uri import download_artifact_uri, resolve_artifact_uri

__all__ = [
    "ArtifactRepository",
    "ArtifactResolver",
    "FileInfo",
    "Repository",
    "delete_run_artifacts",
    "download_artifact_uri",
    "get_artifact_repository",
    "resolve_artifact_uri",
]
