"""The ``MLmodel`` file: which flavors can load a model, its signature, example and identity.

The YAML layout is MLflow's, key for key, so the same directory loads with
``lockgate.pyfunc.load_model`` and ``mlflow.pyfunc.load_model``. Keys this class does not know
(written by newer MLflow versions) are kept and written back unchanged.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from lockgate.errors import InvalidArgument, NotFound
from lockgate.models.signature import ModelSignature, Schema

__all__ = ["MLMODEL_FILE", "PYFUNC_FLAVOR", "Model", "ModelInfo"]

MLMODEL_FILE = "MLmodel"
PYFUNC_FLAVOR = "python_function"

_KNOWN = {
    "artifact_path", "run_id", "flavors", "signature", "saved_input_example_info", "model_uuid",
    "utc_time_created", "mlflow_version", "lockgate_version", "metadata", "model_size_bytes",
}


def _lockgate_version() -> str:
    from lockgate import __version__

    return __version__


class Model:
    """An in-memory ``MLmodel`` file."""

    def __init__(
        self,
        *,
        artifact_path: str | None = None,
        run_id: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        utc_time_created: str | None = None,
        mlflow_version: str | None = None,
        lockgate_version: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        **extra: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.flavors: dict[str, dict[str, Any]] = dict(flavors or {})
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.utc_time_created = utc_time_created or str(datetime.now(timezone.utc).replace(tzinfo=None))
        self.mlflow_version = mlflow_version
        self.lockgate_version = lockgate_version if lockgate_version is not None else _lockgate_version()
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.extra = extra

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Declare that flavor ``name`` can load this model, with its settings."""
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature else None

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping, in MLflow's key layout; unset optional keys are left out."""
        data: dict[str, Any] = {}
        if self.artifact_path is not None:
            data["artifact_path"] = self.artifact_path
        data["flavors"] = self.flavors
        if self.lockgate_version:
            data["lockgate_version"] = self.lockgate_version
        if self.metadata:
            data["metadata"] = self.metadata
        if self.mlflow_version:
            data["mlflow_version"] = self.mlflow_version
        if self.model_size_bytes is not None:
            data["model_size_bytes"] = self.model_size_bytes
        data["model_uuid"] = self.model_uuid
        if self.run_id is not None:
            data["run_id"] = self.run_id
        if self.saved_input_example_info:
            data["saved_input_example_info"] = self.saved_input_example_info
        if self.signature is not None:
            data["signature"] = self.signature.to_dict()
        data["utc_time_created"] = self.utc_time_created
        data.update(self.extra)
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=True)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the MLmodel file into directory ``path`` (or to ``path`` if it names the file)."""
        target = Path(path)
        if target.is_dir() or target.name != MLMODEL_FILE:
            target = target / MLMODEL_FILE
        target.write_text(self.to_yaml())
        return target

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        data = dict(data)
        signature = data.pop("signature", None)
        flavors = data.get("flavors")
        if not isinstance(flavors, dict) or not flavors:
            raise InvalidArgument("The MLmodel file declares no flavors.")
        for name, conf in flavors.items():
            if not isinstance(conf, dict):
                raise InvalidArgument(f"Flavor {name!r} in the MLmodel file is not a mapping.")
        if isinstance(signature, dict):
            try:
                data["signature"] = ModelSignature.from_dict(signature)
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidArgument(f"The MLmodel signature is malformed: {exc}.") from exc
        # MLflow's flags about type-hint signatures are kept verbatim.
        known = {k: v for k, v in data.items() if k in _KNOWN}
        known.setdefault("lockgate_version", "")  # read, not written by us: don't stamp ours
        return cls(**known, **{k: v for k, v in data.items() if k not in _KNOWN})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read the MLmodel file in directory ``path`` (or the file itself).

        NotFound when it is missing, InvalidArgument when it is not a valid MLmodel file.
        """
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL_FILE
        if not target.is_file():
            raise NotFound(f"No MLmodel file at {str(target)!r}: this is not a model directory.")
        try:
            data = yaml.safe_load(target.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"The MLmodel file {str(target)!r} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"The MLmodel file {str(target)!r} is not a YAML mapping.")
        try:
            return cls.from_dict(data)
        except InvalidArgument as exc:
            raise InvalidArgument(f"{exc.message} (file {str(target)!r})") from None
        except TypeError as exc:
            raise InvalidArgument(f"The MLmodel file {str(target)!r} is malformed: {exc}") from None


@dataclass
class ModelInfo:
    """What ``log_model`` returns: where the model went and how to load it."""

    artifact_path: str
    model_uri: str
    run_id: str | None
    flavors: dict[str, dict[str, Any]]
    model_uuid: str
    utc_time_created: str
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    registered_model_version: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.artifact_path

    @classmethod
    def from_model(cls, model: Model, *, model_uri: str, registered_model_version: int | None = None) -> ModelInfo:
        return cls(
            artifact_path=model.artifact_path or "",
            model_uri=model_uri,
            run_id=model.run_id,
            flavors=model.flavors,
            model_uuid=model.model_uuid,
            utc_time_created=model.utc_time_created,
            signature=model.signature,
            saved_input_example_info=model.saved_input_example_info,
            registered_model_version=registered_model_version,
            metadata=model.metadata or {},
        )
