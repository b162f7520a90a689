"""``LockgateWriter``: where imported records land, through the core store's import path.

The destination is Lockgate's configured tracking URI. Writes go through
``lockgate.store.sql.importing`` (runs and logged models keeping their ids) and
``RegistryService.import_model_version`` (versions keeping their numbers); artifacts go
through the destination's artifact repositories, file by file.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import IO

from lockgate import settings
from lockgate.entities import Dataset, DatasetInput, Experiment
from lockgate.errors import InvalidArgument
from lockgate.importers.mlflow.records import (
    SourceMetric,
    SourceModelVersion,
    SourceRun,
)
from lockgate.registry.entities import ModelVersion, RegisteredModel
from lockgate.registry.service import RegistryService
from lockgate.store.logged_models import LoggedModel
from lockgate.store.sql.importing import (
    IMPORT_SOURCE_TAG,
    ImportedRun,
    RunState,
    SqlImportRows,
)
from lockgate.store.sql.store import SqlStore

__all__ = ["IMPORT_ACTOR", "LockgateWriter"]

IMPORT_ACTOR = "lockgate-import"
_RUN_ARTIFACTS = re.compile(r"/([0-9a-f]{32})/artifacts(/.*)?$")
_MODEL_ARTIFACTS = re.compile(r"/models/(m-[0-9a-f]+)/artifacts(/.*)?$")
_RUNS_URI = re.compile(r"^runs:/([^/]+)(?:/(.*))?$")
_LOGGED_URI = re.compile(r"^models:/(m-[0-9a-f]+)(/.*)?$")


class LockgateWriter:
    """The destination store, registry and artifact repositories of one import."""

    def __init__(self, tracking_uri: str | None = None, *, source_label: str) -> None:
        from lockgate.client import LockgateClient
        from lockgate.store import get_model_registry

        self.tracking_uri = tracking_uri or settings.tracking_uri()
        if settings.is_http_uri(self.tracking_uri):
            raise InvalidArgument(
                f"The import writes into Lockgate's database, and {self.tracking_uri!r} is a server. Run "
                "`lockgate import mlflow` with --tracking-uri set to that server's --backend-store-uri "
                "(and LOCKGATE_ARTIFACT_ROOT to its artifact root), e.g. on the server's host."
            )
        self.client = LockgateClient(self.tracking_uri, user=IMPORT_ACTOR)
        store = self.client.store
        if not isinstance(store, SqlStore):  # pragma: no cover - non-http URIs are SQL
            raise InvalidArgument(f"Cannot import into {self.tracking_uri!r}: not a SQL tracking store.")
        self.store = store
        self.rows = SqlImportRows(store)
        registry = get_model_registry(self.tracking_uri, store)
        if not isinstance(registry, RegistryService):  # pragma: no cover - SQL URIs give the service
            raise InvalidArgument(f"Cannot import models into {self.tracking_uri!r}.")
        self.registry = registry
        self.source_label = source_label

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

    def adopt_experiment(self, name: str, *, tags: Mapping[str, str], existing: Experiment | None) -> str:
        """Create the experiment (or take the existing one) and give it the source's tags."""
        # A deleted experiment stays deleted while its runs are written (the import path does
        # not need it active), so a re-run does not touch its or its runs' deletion times.
        exp_id = existing.experiment_id if existing else self.store.create_experiment(name)
        self.rows.set_experiment_tags(exp_id, {**tags, IMPORT_SOURCE_TAG: self.source_label})
        return exp_id

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
        from lockgate.errors import NotFound

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
        """(source, storage location) of a version here: ``runs:/`` and ``models:/m-...`` URIs
        stay as they are (the ids are kept); absolute URIs into a run's or logged model's
        artifacts are moved to where those artifacts now live."""
        match = _RUNS_URI.match(source)
        if match:
            path = (match.group(2) or "").strip("/")
            model_root = self.rows.run_model_location(match.group(1), path) if path else None
            if model_root:
                return source, model_root
            root = self._run_root(match.group(1))
            return source, (f"{root}/{path}" if root and path else root or source)
        match = _LOGGED_URI.match(source)
        if match:
            root = self.rows.logged_model_location(match.group(1))
            return source, (root + (match.group(2) or "").rstrip("/") if root else source)
        for pattern, lookup in ((_RUN_ARTIFACTS, self._run_root), (_MODEL_ARTIFACTS, self.rows.logged_model_location)):
            match = pattern.search(source)
            if match:
                root = lookup(match.group(1))
                if root:
                    moved = root + (match.group(2) or "").rstrip("/")
                    return moved, moved
        return source, source

    def _run_root(self, run_id: str) -> str | None:
        from lockgate.errors import NotFound

        try:
            return self.store.get_run(run_id).info.artifact_uri.rstrip("/")
        except (NotFound, InvalidArgument):
            return None

    def import_version(self, version: SourceModelVersion) -> tuple[ModelVersion, bool]:
        source, location = self.locate(version.source)
        return self.registry.import_model_version(
            version.name, version=version.version, source=source, storage_location=location,
            run_id=version.run_id, status=version.status, stage=version.current_stage,
            description=version.description, user_id=version.user_id, run_link=version.run_link,
            tags=version.tags, creation_time=version.creation_time, last_updated_time=version.last_updated_time,
            imported_from=self.source_label,
        )

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
