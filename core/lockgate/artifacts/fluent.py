"""Artifact calls for the active run: ``lockgate.log_artifact("report.html")`` and friends."""

from __future__ import annotations

import os
from typing import Any

from lockgate.artifacts import run_artifacts as _ra
from lockgate.artifacts.repository import FileInfo
from lockgate.errors import InvalidArgument

__all__ = [
    "download_artifacts",
    "get_artifact_uri",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_text",
]


def _active() -> tuple[Any, str]:
    from lockgate import fluent

    run = fluent.active_run()
    if run is None:
        raise InvalidArgument("No active run: call lockgate.start_run() first.")
    return fluent.get_client(), run.info.run_id


def _client_and_run(run_id: str | None) -> tuple[Any, str]:
    if run_id is not None:
        from lockgate import fluent

        return fluent.get_client(), run_id
    return _active()


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Upload a local file into the active run's artifacts."""
    _ra.log_artifact(*_active(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Upload a local directory tree into the active run's artifacts."""
    _ra.log_artifacts(*_active(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    """Store a string as a text artifact of the active run."""
    _ra.log_text(*_active(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    """Store a dict as JSON or YAML in the active run's artifacts."""
    _ra.log_dict(*_active(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None) -> None:
    """Store a matplotlib or plotly figure in the active run's artifacts."""
    _ra.log_figure(*_active(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(image: Any, artifact_file: str) -> None:
    """Store a numpy array or PIL image in the active run's artifacts."""
    _ra.log_image(*_active(), image, artifact_file)


def list_artifacts(path: str | None = None, *, run_id: str | None = None) -> list[FileInfo]:
    """The artifacts of the active run (or ``run_id``) under ``path``."""
    return _ra.list_artifacts(*_client_and_run(run_id), path)


def download_artifacts(path: str = "", *, run_id: str | None = None,
                       dst_path: str | os.PathLike[str] | None = None) -> str:
    """Copy an artifact of the active run (or ``run_id``) locally; returns the local path."""
    return _ra.download_artifacts(*_client_and_run(run_id), path, dst_path)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The full URI of the active run's artifact root, or of a path under it."""
    client, run_id = _active()
    return _ra.run_artifact_repository(client, run_id).uri_for(artifact_path)
