"""Logging a saved model into a run, and registering it, shared by every flavor."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lockgate.errors import InvalidArgument
from lockgate.models.model import Model, ModelInfo

__all__ = ["log_flavor_model", "log_saved_model", "register_model_version"]

_log = logging.getLogger(__name__)


def _run_for_logging(run_id: str | None, client: Any | None) -> tuple[Any, str]:
    from lockgate import fluent

    client = client or fluent.get_client()
    if run_id is not None:
        return client, run_id

    run = fluent.active_run()
    if run is None:
        # As MLflow does: logging a model outside a run starts one, which stays active.
        run = fluent.start_run()
    return client, run.info.run_id


def register_model_version(client: Any, name: str, *, source: str, run_id: str | None) -> Any:
    """Create model version ``source`` under registered model ``name`` (created if missing)."""
    if not hasattr(client, "register_model"):
        raise InvalidArgument(
            "registered_model_name needs the model registry, which this Lockgate lacks."
        )
    return client.register_model(name, source=source, run_id=run_id)


def log_saved_model(
    save: Callable[[Path], None],
    *,
    name: str | None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    client: Any | None = None,
) -> ModelInfo:
    """Save with ``save(path)`` into a temp dir, upload under the run's ``name``, maybe register."""
    from lockgate.artifacts.repository import clean_artifact_path

    name = clean_artifact_path(name or artifact_path or "model")
    if not name:
        raise InvalidArgument("A logged model needs a name (its path under the run's artifacts).")
    client, run_id = _run_for_logging(run_id, client)
    run = client.get_run(run_id)
    with tempfile.TemporaryDirectory(prefix="lockgate-model-") as tmp:
        local = Path(tmp) / "model"
        save(local)
        model = Model.load(local)
        model.artifact_path = name
        model.run_id = run_id
        model.save(local)
        client.artifact_repository(run.info.artifact_uri).log_artifacts(local, name)
    model_uri = f"runs:/{run_id}/{name}"
    version_number: int | None = None
    if registered_model_name:
        version = register_model_version(client, registered_model_name, source=model_uri, run_id=run_id)
        raw = getattr(version, "version", None)
        version_number = int(raw) if raw is not None else None
    return ModelInfo.from_model(model, model_uri=model_uri, registered_model_version=version_number)


def log_flavor_model(
    save_model: Callable[..., Any],
    flavor_model: Any,
    *,
    name: str | None,
    artifact_path: str | None,
    registered_model_name: str | None,
    run_id: str | None,
    client: Any | None,
    **save_options: Any,
) -> ModelInfo:
    """A flavor's ``log_model``: ``flavor_model`` saved by ``save_model(flavor_model, path,
    **save_options)``, then logged and maybe registered as ``log_saved_model`` does."""

    def save(path: Path) -> None:
        save_model(flavor_model, path, **save_options)

    return log_saved_model(save, name=name, artifact_path=artifact_path,
                           registered_model_name=registered_model_name, run_id=run_id, client=client)
