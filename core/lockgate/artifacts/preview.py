"""What an artifact looks like at a glance: ``preview_artifact`` reads the head of one file
and says how to show it (text, JSON/YAML, table head of CSV/Parquet, MLmodel summary, image).

A preview is always data, never markup to render: HTML, SVG and scripts come back as their
source text, and only raster image types may be shown as images.
"""

from __future__ import annotations

import csv
import io
import posixpath
from dataclasses import dataclass, field
from typing import Any, Literal

from lockgate.errors import InvalidArgument

__all__ = ["PREVIEW_BYTES", "PREVIEW_ROWS", "ArtifactPreview", "inline_media_type", "preview_artifact"]

PREVIEW_BYTES = 256 * 1024
PREVIEW_ROWS = 100
PreviewKind = Literal["text", "json", "yaml", "table", "mlmodel", "image", "binary", "directory"]

# Raster formats a browser cannot execute; SVG is deliberately absent (it can hold script).
_IMAGE_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".bmp": "image/bmp",
}
_PARQUET = (".parquet", ".pq")


@dataclass
class ArtifactPreview:
    """The head of one artifact and how to show it."""

    path: str
    kind: PreviewKind
    size: int | None = None
    truncated: bool = False
    text: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    media_type: str | None = None
    message: str | None = None


def inline_media_type(path: str) -> str | None:
    """The media type under which ``path`` may be shown inline (raster images only), else None."""
    return _IMAGE_TYPES.get(posixpath.splitext(path)[1].lower())


def _read_head(repo: Any, rel: str, limit: int) -> tuple[bytes, bool]:
    with repo.open(rel, "rb") as handle:
        data = handle.read(limit + 1)
    return data[:limit], len(data) > limit


def _decode(data: bytes) -> str | None:
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the byte limit is not a binary file.
        if exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8")
        return None


def _csv_head(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    for row in reader:
        rows.append(row)
        if len(rows) > PREVIEW_ROWS:
            break
    if not rows:
        return [], []
    return rows[0], rows[1:PREVIEW_ROWS + 1]


def _parquet_head(repo: Any, rel: str) -> tuple[list[str], list[list[str]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InvalidArgument("Previewing Parquet needs pyarrow: pip install 'lockgate[models]'") from exc
    with repo.open(rel, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        columns = [str(name) for name in parquet.schema_arrow.names]
        batch = next(parquet.iter_batches(batch_size=PREVIEW_ROWS), None)
        if batch is None:
            return columns, []
        data = batch.to_pydict()
    count = len(next(iter(data.values()), []))
    return columns, [["" if data[c][i] is None else str(data[c][i]) for c in data] for i in range(count)]


def _mlmodel_summary(text: str) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    if not isinstance(doc, dict):
        return {}
    flavors: dict[str, Any] = doc["flavors"] if isinstance(doc.get("flavors"), dict) else {}
    signature: dict[str, Any] = doc["signature"] if isinstance(doc.get("signature"), dict) else {}
    found = flavors.get("python_function")
    pyfunc: dict[str, Any] = found if isinstance(found, dict) else {}
    env: dict[str, Any] = pyfunc["env"] if isinstance(pyfunc.get("env"), dict) else {}
    return {
        "flavors": sorted(str(name) for name in flavors),
        "run_id": str(doc.get("run_id", "")),
        "created": str(doc.get("utc_time_created", "")),
        "signature_inputs": str(signature.get("inputs", "")),
        "signature_outputs": str(signature.get("outputs", "")),
        "python_version": str(pyfunc.get("python_version", "")),
        "environment": ", ".join(f"{kind}: {path}" for kind, path in sorted(env.items())),
    }


def preview_artifact(repo: Any, rel: str, *, size: int | None = None) -> ArtifactPreview:
    """The preview of the file ``rel`` in ``repo`` (an ArtifactRepository)."""
    name = posixpath.basename(rel)
    ext = posixpath.splitext(name)[1].lower()
    media = inline_media_type(rel)
    if media:
        return ArtifactPreview(rel, "image", size=size, media_type=media)
    if ext in _PARQUET:
        columns, rows = _parquet_head(repo, rel)
        return ArtifactPreview(rel, "table", size=size, columns=columns, rows=rows,
                               truncated=len(rows) >= PREVIEW_ROWS)
    data, truncated = _read_head(repo, rel, PREVIEW_BYTES)
    text = _decode(data)
    if text is None:
        return ArtifactPreview(rel, "binary", size=size, truncated=truncated,
                               message="Binary file: download it to open it.")
    if ext in (".csv", ".tsv"):
        columns, rows = _csv_head(text, "\t" if ext == ".tsv" else ",")
        return ArtifactPreview(rel, "table", size=size, columns=columns, rows=rows, truncated=truncated)
    if name == "MLmodel":
        return ArtifactPreview(rel, "mlmodel", size=size, text=text, truncated=truncated,
                               summary=_mlmodel_summary(text))
    kind: PreviewKind = "json" if ext == ".json" else "yaml" if ext in (".yaml", ".yml") else "text"
    return ArtifactPreview(rel, kind, size=size, text=text, truncated=truncated)
