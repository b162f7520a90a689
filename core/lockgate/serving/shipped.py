"""A model packed on the driver and loaded once per worker process of a distributed engine.

Spark executors and Dask workers may not reach the tracking server or the artifact store, so
the driver resolves the model URI once, zips the model directory, and the engine ships those
bytes (Spark broadcasts a large UDF; Dask keeps one task result per worker). Each worker
unpacks and loads the model the first time and reuses it for every later partition.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.models.pyfunc import PyFuncModel

__all__ = ["ShippedModel", "check_columns", "ship_model"]

_LOADED: dict[str, PyFuncModel] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ShippedModel:
    """The zipped model directory and its identity; ``load()`` is cached per process."""

    key: str
    payload: bytes

    def load(self) -> PyFuncModel:
        """The model, unpacked and loaded on first use in this process, then reused."""
        model = _LOADED.get(self.key)
        if model is not None:
            return model
        with _LOCK:
            model = _LOADED.get(self.key)
            if model is None:
                from lockgate.models.pyfunc import load_model

                target = tempfile.mkdtemp(prefix="lockgate-shipped-")
                with zipfile.ZipFile(io.BytesIO(self.payload)) as archive:
                    archive.extractall(target)
                model = load_model(target, suppress_warnings=True)
                _LOADED[self.key] = model
        return model


def ship_model(model_uri: str | os.PathLike[str], *,
               client: LockgateClient | None = None) -> tuple[PyFuncModel, ShippedModel]:
    """Resolve and load ``model_uri`` on the driver, and pack it for the workers.

    The driver's copy checks the URI, the flavor and the signature before any job starts.
    """
    from lockgate.models.pyfunc import load_model

    model = load_model(model_uri, client=client)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _dirs, files in os.walk(model.model_dir):
            for name in files:
                path = os.path.join(root, name)
                archive.write(path, os.path.relpath(path, model.model_dir))
    key = f"{model.metadata.model_uuid}:{os.path.realpath(model.model_dir)}"
    _LOADED[key] = model  # the driver (and in-process schedulers) reuse this copy
    return model, ShippedModel(key=key, payload=buffer.getvalue())


def check_columns(model: PyFuncModel, columns: list[str], *, engine: str) -> None:
    """Raise InvalidArgument naming the signature's columns that ``columns`` lacks."""
    from lockgate.errors import InvalidArgument

    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_names:
        return
    missing = [spec.name for spec in schema.inputs if spec.name not in columns and getattr(spec, "required", True)]
    if missing:
        raise InvalidArgument(
            f"The {engine} data lacks column(s) {missing} that the model's signature requires; "
            f"it has {columns}.",
            details={"missing_columns": missing},
        )


