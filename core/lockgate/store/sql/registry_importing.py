"""The registry half of the import path: versions keeping the numbers they had elsewhere.

Ordinary registrations take the next number; an import must keep MLflow's so that
``models:/name/N`` URIs keep working, and must be safely repeatable. Only the import path
(``store/sql/importing.py``, in-process or behind the server's ``/api/v1/import`` routes)
calls this.
"""

from __future__ import annotations

from lockgate.errors import Conflict, InvalidArgument
from lockgate.registry.entities import EventType, ModelVersion, ModelVersionStage
from lockgate.registry.validation import validate_model_name, validate_tag
from lockgate.store.importing import ImportedVersion
from lockgate.store.sql.engine import write_connection
from lockgate.store.sql.registry_rows import now_ms, stmts, version_entities
from lockgate.store.sql.registry_store import SqlRegistryStore

__all__ = ["import_version"]


def import_version(registry: SqlRegistryStore, version: ImportedVersion, *, storage_location: str,
                   imported_from: str) -> tuple[ModelVersion, bool]:
    """Version ``version.version`` exactly as another registry had it; (the version, whether it
    was made now). A version already holding the number is kept as it is (the caller compares
    sources); a deleted one is reported, since its number stays retired."""
    name, number = validate_model_name(version.name), version.version
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise InvalidArgument(f"Invalid version number {number!r}: a positive integer")
    stage = ModelVersionStage.parse(version.stage).value
    tags = [validate_tag(k, v) for k, v in version.tags.items()]
    created = version.creation_time or now_ms()
    q = stmts()
    with write_connection(registry.engine) as conn:
        model = registry._model_row(conn, name, lock=True)
        row = conn.execute(q["version"], {"mid": model.id, "ver": number}).first()
        if row is not None:
            if row.deleted_time is not None:
                raise Conflict(f"Version {number} of {name!r} was deleted here; its number is retired")
            return version_entities(conn, [row], {model.id: name})[0], False
        experiment_id = None
        if version.run_id is not None:
            run = conn.execute(q["run_info"], {"run_id": version.run_id}).first()
            experiment_id = str(run.experiment_id) if run is not None else None
        conn.execute(q["insert_version"], {
            "model_id": model.id, "version": number, "source": version.source,
            "storage_location": storage_location, "run_id": version.run_id, "experiment_id": experiment_id,
            "run_link": version.run_link, "status": version.status, "status_message": None,
            "current_stage": stage, "description": version.description, "user_id": version.user_id,
            "creation_time": created, "last_updated_time": version.last_updated_time or created,
            "deleted_time": None, "idempotency_key": None,
        })
        if tags:
            conn.execute(q["insert_version_tags"], [
                {"model_id": model.id, "version": number, "key": k, "value": v} for k, v in tags])
        registry._append(conn, model.id, name, [{
            "type": EventType.VERSION_CREATED, "version": number, "actor": version.user_id, "time": created,
            "stage": None if stage == "None" else stage,
            "details": {"source": version.source, "run_id": version.run_id, "imported_from": imported_from},
        }], returning=False)
        row = conn.execute(q["version"], {"mid": model.id, "ver": number}).one()
        return version_entities(conn, [row], {model.id: name})[0], True
