"""Artifacts of one run: log files, text, dicts and figures under the run's artifact root.

Every function takes a client (one that owns an ``artifact_resolver``: ``LockgateClient``)
and a run id; the client facade and the fluent API are thin wrappers over these.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
from typing import TYPE_CHECKING, Any

from lockgate.artifacts.repository import FileInfo, clean_artifact_path
from lockgate.errors import InvalidArgument

if TYPE_CHECKING:
    from lockgate.artifacts.base import Repository
    from lockgate.artifacts.resolver import HasArtifactResolver

__all__ = [
    "delete_run_artifacts",
    "download_artifacts",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_text",
    "run_artifact_repository",
]


def run_artifact_repository(client: HasArtifactResolver, run_id: str) -> Repository:
    """The repository rooted at the run's artifact URI, reached through ``client``."""
    return client.artifact_resolver.run_repository(run_id)


def log_artifact(client: HasArtifactResolver, run_id: str, local_path: str | os.PathLike[str],
                 artifact_path: str | None = None) -> str:
    """Upload a local file into the run's artifacts; returns its artifact path."""
    return run_artifact_repository(client, run_id).log_artifact(local_path, artifact_path)


def log_artifacts(client: HasArtifactResolver, run_id: str, local_dir: str | os.PathLike[str],
                  artifact_path: str | None = None) -> list[str]:
    """Upload a local directory tree into the run's artifacts; returns the file paths."""
    return run_artifact_repository(client, run_id).log_artifacts(local_dir, artifact_path)


def log_text(client: HasArtifactResolver, run_id: str, text: str, artifact_file: str) -> str:
    """Store a string as a text file artifact."""
    return run_artifact_repository(client, run_id).write_bytes(text.encode("utf-8"), artifact_file)


def log_dict(client: HasArtifactResolver, run_id: str, dictionary: Any, artifact_file: str) -> str:
    """Store a dict as JSON, or as YAML when the file name ends in .yaml/.yml."""
    ext = posixpath.splitext(artifact_file)[1].lower()
    if ext in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(dictionary, sort_keys=False, default_flow_style=False)
    else:
        text = json.dumps(dictionary, indent=2, default=str)
    return log_text(client, run_id, text, artifact_file)


def log_figure(client: HasArtifactResolver, run_id: str, figure: Any, artifact_file: str, *,
               save_kwargs: dict[str, Any] | None = None) -> str:
    """Store a matplotlib figure (any image format it writes) or a plotly figure (.html/.png)."""
    clean_artifact_path(artifact_file)
    ext = posixpath.splitext(artifact_file)[1].lower().lstrip(".")
    buffer = io.BytesIO()
    module = type(figure).__module__
    if module.startswith("matplotlib"):
        figure.savefig(buffer, format=ext or "png", **(save_kwargs or {}))
    elif module.startswith("plotly"):
        if ext == "html":
            buffer.write(figure.to_html(**(save_kwargs or {})).encode("utf-8"))
        else:
            buffer.write(figure.to_image(format=ext or "png", **(save_kwargs or {})))
    else:
        raise InvalidArgument(
            f"log_figure takes a matplotlib or plotly figure, not {type(figure).__name__}."
        )
    return run_artifact_repository(client, run_id).write_bytes(buffer.getvalue(), artifact_file)


def log_image(client: HasArtifactResolver, run_id: str, image: Any, artifact_file: str) -> str:
    """Store a numpy array (HxW, HxWx3, HxWx4; uint8 or floats in [0, 1]) or PIL image."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise InvalidArgument("log_image needs Pillow: pip install pillow") from exc
    if not isinstance(image, Image.Image):
        import numpy as np

        array = np.asarray(image)
        if array.dtype.kind == "f":
            if array.min() < 0 or array.max() > 1:
                raise InvalidArgument("Float images must hold values in [0, 1].")
            array = (array * 255).round().astype("uint8")
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise InvalidArgument(f"Cannot make an image from an array of shape {array.shape}.")
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        image = Image.fromarray(array.astype("uint8"))
    ext = posixpath.splitext(artifact_file)[1].lstrip(".") or "png"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if ext.lower() in ("jpg", "jpeg") else ext.upper())
    return run_artifact_repository(client, run_id).write_bytes(buffer.getvalue(), artifact_file)


def list_artifacts(client: HasArtifactResolver, run_id: str, path: str | None = None) -> list[FileInfo]:
    """The direct children of ``path`` in the run's artifacts."""
    return list(run_artifact_repository(client, run_id).list_artifacts(path))


def download_artifacts(client: HasArtifactResolver, run_id: str, path: str = "",
                       dst_path: str | os.PathLike[str] | None = None) -> str:
    """Copy a run artifact (file or directory) locally; returns the local path."""
    return run_artifact_repository(client, run_id).download_artifacts(path, dst_path)


def delete_run_artifacts(client: HasArtifactResolver, artifact_uri: str) -> None:
    """Delete everything under a run's artifact root (used by ``lockgate gc``)."""
    if not artifact_uri:
        return
    client.artifact_resolver.repository(artifact_uri).delete_artifacts()
