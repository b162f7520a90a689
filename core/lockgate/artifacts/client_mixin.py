"""Artifact methods for ``LockgateClient``; the client mixes this in and provides ``artifact_resolver``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lockgate.artifacts import run_artifacts as _ra
from lockgate.artifacts.repository import FileInfo

if TYPE_CHECKING:
    from lockgate.artifacts.base import Repository
    from lockgate.artifacts.resolver import ArtifactResolver

__all__ = ["ArtifactsClientMixin"]


class ArtifactsClientMixin:
    """Log, list and download run artifacts, routed through this client's own resolver."""

    @property
    def artifact_resolver(self) -> ArtifactResolver:
        """How this client reaches artifacts (its store, registry and server proxy)."""
        raise NotImplementedError  # the host class builds it

    def artifact_repository(self, uri: str) -> Repository:
        """The repository at an artifact URI (``runs:/``, ``models:/``, ``mlflow-artifacts:``,
        ``s3://``, a path ...), reached through this client's store, registry and server."""
        return self.artifact_resolver.repository(uri)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str],
                     artifact_path: str | None = None) -> None:
        """Upload a local file into the run's artifacts."""
        _ra.log_artifact(self, run_id, local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str],
                      artifact_path: str | None = None) -> None:
        """Upload a local directory tree into the run's artifacts."""
        _ra.log_artifacts(self, run_id, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Store a string as a text artifact."""
        _ra.log_text(self, run_id, text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Store a dict as a JSON or YAML artifact (chosen by extension)."""
        _ra.log_dict(self, run_id, dictionary, artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str, *,
                   save_kwargs: dict[str, Any] | None = None) -> None:
        """Store a matplotlib or plotly figure as an artifact."""
        _ra.log_figure(self, run_id, figure, artifact_file, save_kwargs=save_kwargs)

    def log_image(self, run_id: str, image: Any, artifact_file: str) -> None:
        """Store a numpy array or PIL image as an image artifact."""
        _ra.log_image(self, run_id, image, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` in the run's artifacts."""
        return _ra.list_artifacts(self, run_id, path)

    def download_artifacts(self, run_id: str, path: str = "",
                           dst_path: str | os.PathLike[str] | None = None) -> str:
        """Copy a run artifact locally; returns the local path."""
        return _ra.download_artifacts(self, run_id, path, dst_path)
