"""``LockgateWriter``: where imported records land, through the core store's import path.

The destination is Lockgate's tracking URI: its database (``SqlImportRows``, in-process) or
a running ``lockgate server`` (``RestImportRows``, over ``/api/v1/import``, whose routes run
the same ``SqlImportRows``). Runs, logged models and versions keep their ids and numbers;
experiments keep theirs when free. Registered models, their tags and aliases go through the
ordinary registry API; artifacts through the destination's artifact repositories (the
server's proxy for ``mlflow-artifacts:`` roots), file by file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import IO

from lockgate import settings
from lockgate.entities import Dataset, DatasetInput, Experiment
from lockgate.errors import InvalidArgument, NotFound
from lockgate.importers.mlflow.records import (
    SourceMetric,
    SourceModelVersion,
    SourceRun,
)
from lockgate.registry.entities import ModelVersion, RegisteredModel
from lockgate.store.importing import (
    IMPORT_SOURCE_TAG,
    ImportedRun,
    ImportedVersion,
    ImportRows,
    RunState,
)
from lockgate.store.logged_models import LoggedModel

__all__ = ["IMPORT_ACTOR", "LockgateWriter"]

IMPORT_ACTOR = "lockgate-import"


def _import_rows(store: object, uri: str) -> ImportRows:
    from lockgate.store.rest import RestStore

    if isinstance(store, RestStore):
        from lockgate.store.rest_importing import RestImportRows

        return RestImportRows(store)
    from lockgate.store.sql.store import SqlStore

    if isinstance(store, SqlStore):
        from lockgate.store.sql.importing import SqlImportRows

        return SqlImportRows(store)
    raise InvalidArgument(f"Cannot import into {uri!r}: neither a Lockgate database nor a Lockgate server.")


class LockgateWriter:
    """The destination store, registry and artifact repositories of one import.

    ``tracking_uri`` is a database URL or a running server's ``http(s)://`` URL (credentials
    from ``LOCKGATE_TRACKING_TOKEN`` or ``..._USERNAME``/``..._PASSWORD``; an admin when the
    server has auth on).
    """

    def __init__(self, tracking_uri: str | None = None, *, source_label: str) -> None:
        from lockgate.client import LockgateClient
        from lockgate.store import get_model_registry

        self.tracking_uri = tracking_uri or settings.tracking_uri()
        self.client = LockgateClient(self.tracking_uri, user=IMPORT_ACTOR)
        self.store = self.client.store
        self.rows = _import_rows(self.store, self.tracking_uri)
        self.registry = get_model_registry(self.tracking_uri, self.store)
        self.source_label = source_label

    def check(self) -> None:
        """Raise before anything is read or written if this caller may not import here."""
        self.rows.check()

    # -------------------------------------------------------------- experiments
    def experiment(self, name: str) -> Experiment | None:
        """The destination experiment of that name (any lifecycle)."""
        return self.store.get_experiment_by_name(name)

    @staticmethod
    def is_imported(tags: Mapping[str, str]) -> bool:
        """Whether an earlier import made (or adopted) the experiment or model with these tags."""
        return IMPORT_SOURCE_TAG in tags

    def native_run_count(self, experiment: Experiment) -> int:
        """Runs of the experiment that Lockgate users made (not imported)."""
        return self.rows.native_run_count(experiment.experiment_id)

    def adopt_experiment(self, name: str, *, source_id: str, tags: Mapping[str, str],
                         existing: Experiment | None) -> str:
        """Create the experiment (under the source's id when it is free here) or take the
        existing one, and give it the source's tags."""
        # A deleted experiment stays deleted while its runs are written (the import path does
        # not need it active), so a re-run does not touch its or its runs' deletion times.
        return self.rows.adopt_experiment(
            name, source_id=source_id, tags={**tags, IMPORT_SOURCE_TAG: self.source_label},
            existing_id=existing.experiment_id if existing else None)

    def finish_experiment(self, experiment_id: str, *, lifecycle_stage: str, creation_time: int | None) -> None:
        self.rows.set_experiment_lifecycle(experiment_id, lifecycle_stage, creation_time=creation_time)

    # --------------------------------------------------------------------- runs
    def run_state(self, run_id: str) -> RunState:
        return self.rows.run_state(run_id)

    def begin_run(self, run: SourceRun, *, experiment_id: str) -> str:
        """Write the run (id kept) without its metric points; returns its artifact URI here."""
        return self.rows.begin_run(ImportedRun(
            run_id=run.run_id, experiment_id=experiment_id, name=run.run_name, user_id=run.user_id,
            status=run.status, start_time=run.start_time, end_time=run.end_time,
            lifecycle_stage=run.lifecycle_stage, parent_run_id=run.parent_run_id, params=run.params,
            tags=run.tags, inputs=[
                DatasetInput(dataset=Dataset(name=i.name, digest=i.digest, source_type=i.source_type,
                                             source=i.source, schema=i.schema, profile=i.profile), tags=i.tags)
                for i in run.inputs
            ],
        ))

    def add_metrics(self, run_id: str, points: Sequence[SourceMetric]) -> None:
        self.rows.add_metrics(run_id, points)

    def finish_run(self, run: SourceRun) -> None:
        self.rows.finish_run(run.run_id, lifecycle_stage=run.lifecycle_stage, source=self.source_label,
                             outputs=run.outputs)

    # ----------------------------------------------------------- logged models
    def put_logged_model(self, model: LoggedModel, *, experiment_id: str) -> tuple[str, bool]:
        return self.rows.put_logged_model(model.model_copy(update={"experiment_id": experiment_id}))

    # ---------------------------------------------------------------- registry
    def registered_model(self, name: str) -> RegisteredModel | None:
        try:
            return self.registry.get_registered_model(name)
        except NotFound:
            return None

    def create_registered_model(self, name: str, *, description: str | None, tags: Mapping[str, str]) -> None:
        self.registry.create_registered_model(
            name, description=description, tags={**tags, IMPORT_SOURCE_TAG: self.source_label},
            exist_ok=True, actor=IMPORT_ACTOR)

    def set_model_tags(self, name: str, tags: Mapping[str, str], *, current: Mapping[str, str]) -> None:
        for key, value in tags.items():
            if current.get(key) != value:
                self.registry.set_registered_model_tag(name, key, value, actor=IMPORT_ACTOR)

    def locate(self, source: str) -> tuple[str, str]:
        """(source, storage location) a version with this source gets here (``ImportRows.locate``)."""
        return self.rows.locate(source)

    def import_version(self, version: SourceModelVersion) -> tuple[ModelVersion, bool]:
        return self.rows.import_version(ImportedVersion(
            name=version.name, version=version.version, source=version.source, run_id=version.run_id,
            status=version.status, stage=version.current_stage, description=version.description,
            user_id=version.user_id, run_link=version.run_link, tags=version.tags,
            creation_time=version.creation_time, last_updated_time=version.last_updated_time,
        ), imported_from=self.source_label)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.registry.set_registered_model_alias(name, alias, version, actor=IMPORT_ACTOR, privileged=True)

    # -------------------------------------------------------------- artifacts
    def write_artifact(self, root_uri: str, path: str, handle: IO[bytes]) -> int:
        """Stream one file to ``root_uri/path``; returns its size in bytes."""
        repo = self.client.artifact_repository(root_uri)
        directory, base = os.path.split(path)
        with tempfile.TemporaryDirectory(prefix="lockgate-import-") as tmp:
            local = os.path.join(tmp, base)
            with open(local, "wb") as out:
                shutil.copyfileobj(handle, out, 1 << 20)
            size = os.path.getsize(local)
            repo.log_artifact(local, directory or None)
        return size
