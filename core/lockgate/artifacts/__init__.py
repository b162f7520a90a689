"""Artifact storage: an fsspec-backed repository, run artifacts and URI resolution."""

from __future__ import annotations

from lockgate.artifacts.repository import (
    ArtifactRepository,
    FileInfo,
    get_artifact_repository,
    register_artifact_scheme,
)
from lockgate.artifacts.run_artifacts import delete_run_artifacts
from lockgate.artifacts.uri import download_artifact_uri, resolve_artifact_uri

__all__ = [
    "ArtifactRepository",
    "FileInfo",
    "delete_run_artifacts",
    "download_artifact_uri",
    "get_artifact_repository",
    "register_artifact_scheme",
    "resolve_artifact_uri",
]
