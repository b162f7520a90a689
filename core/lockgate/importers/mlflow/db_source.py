"""``DatabaseSource``: reads an MLflow database directly, read-only, with SQLAlchemy Core.

The tables are named here with lightweight ``table()``/``column()`` constructs on MLflow's
schema (no reflection, no ORM, nothing created), and results are read with server-side
batches, so a run with a million metric points streams in pages like the REST source.
Artifacts are read from where the runs' ``artifact_uri`` points (any fsspec URL);
``mlflow-artifacts:/`` URIs need ``artifacts_root``, the old server's
``--artifacts-destination``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from sqlalchemy import Engine, and_, column, create_engine, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from lockgate.errors import InvalidArgument, NotFound
from lockgate.importers.mlflow.records import (
    SourceDatasetInput,
    SourceExperiment,
    SourceMetric,
    SourceModelVersion,
    SourceRegisteredModel,
    SourceRun,
)
from lockgate.importers.mlflow.source import ArtifactOwner, SourceArtifactMissing, SourceUnavailable
from lockgate.store.logged_models import LoggedModel, LoggedModelStatus

__all__ = ["DatabaseSource"]


def _t(name: str, *cols: str) -> Any:
    return table(name, *(column(c) for c in cols))


EXPERIMENTS = _t("experiments", "experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time")
EXPERIMENT_TAGS = _t("experiment_tags", "experiment_id", "key", "value")
RUNS = _t("runs", "run_uuid", "name", "user_id", "status", "start_time", "end_time", "lifecycle_stage",
          "artifact_uri", "experiment_id")
PARAMS = _t("params", "run_uuid", "key", "value")
TAGS = _t("tags", "run_uuid", "key", "value")
METRICS = _t("metrics", "run_uuid", "key", "value", "timestamp", "step", "is_nan")
LATEST = _t("latest_metrics", "run_uuid", "key")
DATASETS = _t("datasets", "dataset_uuid", "name", "digest", "dataset_source_type", "dataset_source",
              "dataset_schema", "dataset_profile")
INPUTS = _t("inputs", "input_uuid", "source_type", "source_id", "destination_type", "destination_id", "step")
INPUT_TAGS = _t("input_tags", "input_uuid", "name", "value")
LOGGED = _t("logged_models", "model_id", "experiment_id", "name", "artifact_location", "creation_timestamp_ms",
            "last_updated_timestamp_ms", "status", "lifecycle_stage", "model_type", "source_run_id",
            "status_message")
LOGGED_TAGS = _t("logged_model_tags", "model_id", "tag_key", "tag_value")
LOGGED_PARAMS = _t("logged_model_params", "model_id", "param_key", "param_value")
MODELS = _t("registered_models", "name", "creation_time", "last_updated_time", "description")
MODEL_TAGS = _t("registered_model_tags", "name", "key", "value")
ALIASES = _t("registered_model_aliases", "name", "alias", "version")
VERSIONS = _t("model_versions", "name", "version", "creation_time", "last_updated_time", "description",
              "user_id", "current_stage", "source", "run_id", "run_link", "status")
VERSION_TAGS = _t("model_version_tags", "name", "version", "key", "value")

RUN_PAGE = 500
HISTORY_PAGE = 25_000
_LOGGED_STATUS = {0: "LOGGED_MODEL_PENDING", 1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY",
                  3: "LOGGED_MODEL_UPLOAD_FAILED"}


def _readonly_engine(url: str) -> Engine:
    from lockgate.store.sql.engine import _normalize

    parsed = make_url(_normalize(url))
    if parsed.get_backend_name() == "sqlite":
        from pathlib import Path

        path = Path(parsed.database or "").expanduser()
        if not path.is_file():
            raise SourceUnavailable(f"MLflow database {url!r} does not exist (no file at {path}).")
        # mode=ro: SQLite itself refuses any write, whatever this code does.
        return create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    try:
        return create_engine(parsed, execution_options={"postgresql_readonly": True}
                             if parsed.get_backend_name() == "postgresql" else {})
    except ModuleNotFoundError as exc:
        raise InvalidArgument(f"The database driver for {url!r} is not installed ({exc.name}).") from None


class DatabaseSource:
    """MLflow's backend store at ``url`` (``sqlite:///mlflow.db``, ``postgresql://...``)."""

    def __init__(self, url: str, *, artifacts_root: str | None = None) -> None:
        self.label = make_url(url).render_as_string(hide_password=True)
        self.engine = _readonly_engine(url)
        self.artifacts_root = artifacts_root.rstrip("/") if artifacts_root else None

    def close(self) -> None:
        self.engine.dispose()

    # ----------------------------------------------------------------- plumbing
    def _rows(self, stmt: Any, *, batch: int = 1000) -> Iterator[Any]:
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
                yield from result
        except SQLAlchemyError as exc:
            raise SourceUnavailable(
                f"MLflow database {self.label} could not be read: {str(exc).splitlines()[0]}. "
                "Is it an MLflow backend store? Once it is readable, re-run the same command to resume."
            ) from None

    def _pairs(self, stmt: Any) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        for owner, key, value in self._rows(stmt):
            out[str(owner)][str(key)] = "" if value is None else str(value)
        return out

    def check(self) -> None:
        list(self._rows(select(EXPERIMENTS.c.experiment_id).limit(1)))

    # ---------------------------------------------------------------- reading
    def experiments(self) -> Iterator[SourceExperiment]:
        tags = self._pairs(select(EXPERIMENT_TAGS.c.experiment_id, EXPERIMENT_TAGS.c.key, EXPERIMENT_TAGS.c.value))
        for row in list(self._rows(select(EXPERIMENTS).order_by(EXPERIMENTS.c.experiment_id))):
            yield SourceExperiment(
                experiment_id=str(row.experiment_id), name=row.name, lifecycle_stage=row.lifecycle_stage or "active",
                tags=tags.get(str(row.experiment_id), {}), creation_time=row.creation_time,
            )

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        exp = int(experiment_id)
        last: tuple[int, str] | None = None
        while True:
            stmt = select(RUNS).where(RUNS.c.experiment_id == exp)
            if last is not None:
                stmt = stmt.where((RUNS.c.start_time > last[0])
                                  | and_(RUNS.c.start_time == last[0], RUNS.c.run_uuid > last[1]))
            page = list(self._rows(stmt.order_by(RUNS.c.start_time, RUNS.c.run_uuid).limit(RUN_PAGE)))
            if not page:
                return
            yield from self._load_runs(page)
            last = (page[-1].start_time, page[-1].run_uuid)

    def _load_runs(self, rows: list[Any]) -> Iterator[SourceRun]:
        ids = [r.run_uuid for r in rows]
        params = self._pairs(select(PARAMS.c.run_uuid, PARAMS.c.key, PARAMS.c.value).where(PARAMS.c.run_uuid.in_(ids)))
        tags = self._pairs(select(TAGS.c.run_uuid, TAGS.c.key, TAGS.c.value).where(TAGS.c.run_uuid.in_(ids)))
        keys: dict[str, set[str]] = defaultdict(set)
        for run_uuid, key in self._rows(select(LATEST.c.run_uuid, LATEST.c.key).where(LATEST.c.run_uuid.in_(ids))):
            keys[run_uuid].add(key)
        inputs: dict[str, list[SourceDatasetInput]] = defaultdict(list)
        outputs: dict[str, list[tuple[str, int]]] = defaultdict(list)
        joined = select(INPUTS, DATASETS).join(DATASETS, DATASETS.c.dataset_uuid == INPUTS.c.source_id).where(
            INPUTS.c.source_type == "DATASET", INPUTS.c.destination_type == "RUN", INPUTS.c.destination_id.in_(ids))
        found = list(self._rows(joined))
        input_tags = self._pairs(select(INPUT_TAGS.c.input_uuid, INPUT_TAGS.c.name, INPUT_TAGS.c.value).where(
            INPUT_TAGS.c.input_uuid.in_([r.input_uuid for r in found]))) if found else {}
        for r in found:
            inputs[r.destination_id].append(SourceDatasetInput(
                name=r.name, digest=r.digest, source_type=r.dataset_source_type or "", source=r.dataset_source or "",
                schema=r.dataset_schema, profile=r.dataset_profile, tags=input_tags.get(r.input_uuid, {})))
        for r in self._rows(select(INPUTS).where(INPUTS.c.source_type == "RUN_OUTPUT",
                                                 INPUTS.c.destination_type == "MODEL_OUTPUT",
                                                 INPUTS.c.source_id.in_(ids))):
            outputs[r.source_id].append((r.destination_id, int(r.step or 0)))
        for r in rows:
            run_tags = tags.get(r.run_uuid, {})
            yield SourceRun(
                run_id=r.run_uuid, experiment_id=str(r.experiment_id),
                run_name=r.name or run_tags.get("mlflow.runName") or r.run_uuid, user_id=r.user_id or "",
                status=r.status or "FINISHED", start_time=int(r.start_time or 0),
                end_time=int(r.end_time) if r.end_time is not None else None,
                lifecycle_stage=r.lifecycle_stage or "active", artifact_uri=r.artifact_uri or "",
                params=params.get(r.run_uuid, {}), tags=run_tags, metric_keys=tuple(sorted(keys[r.run_uuid])),
                inputs=tuple(inputs[r.run_uuid]), outputs=tuple(outputs[r.run_uuid]),
            )

    def metric_history(self, run_id: str, key: str) -> Iterator[list[SourceMetric]]:
        stmt = (select(METRICS.c.value, METRICS.c.timestamp, METRICS.c.step, METRICS.c.is_nan)
                .where(METRICS.c.run_uuid == run_id, METRICS.c.key == key)
                .order_by(METRICS.c.step, METRICS.c.timestamp))
        page: list[SourceMetric] = []
        for value, ts, step, is_nan in self._rows(stmt, batch=HISTORY_PAGE):
            page.append(SourceMetric(key=key, value=math.nan if is_nan else float(value),
                                     timestamp=int(ts), step=int(step or 0)))
            if len(page) >= HISTORY_PAGE:
                yield page
                page = []
        yield page

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]:
        rows = list(self._rows(select(LOGGED).where(LOGGED.c.experiment_id == int(experiment_id),
                                                    LOGGED.c.lifecycle_stage != "deleted")))
        ids = [r.model_id for r in rows]
        tags = self._pairs(select(LOGGED_TAGS.c.model_id, LOGGED_TAGS.c.tag_key, LOGGED_TAGS.c.tag_value)
                           .where(LOGGED_TAGS.c.model_id.in_(ids)))
        params = self._pairs(select(LOGGED_PARAMS.c.model_id, LOGGED_PARAMS.c.param_key, LOGGED_PARAMS.c.param_value)
                             .where(LOGGED_PARAMS.c.model_id.in_(ids)))
        for r in rows:
            yield LoggedModel(
                model_id=r.model_id, experiment_id=str(r.experiment_id), name=r.name,
                artifact_location=r.artifact_location, creation_timestamp=int(r.creation_timestamp_ms or 0),
                last_updated_timestamp=int(r.last_updated_timestamp_ms or 0),
                status=LoggedModelStatus(_LOGGED_STATUS.get(int(r.status or 0), "LOGGED_MODEL_READY")),
                status_message=r.status_message, source_run_id=r.source_run_id, model_type=r.model_type,
                tags=tags.get(r.model_id, {}), params=params.get(r.model_id, {}),
            )

    def registered_models(self) -> Iterator[SourceRegisteredModel]:
        tags = self._pairs(select(MODEL_TAGS.c.name, MODEL_TAGS.c.key, MODEL_TAGS.c.value))
        aliases: dict[str, dict[str, int]] = defaultdict(dict)
        for name, alias, version in self._rows(select(ALIASES.c.name, ALIASES.c.alias, ALIASES.c.version)):
            aliases[name][alias] = int(version)
        for r in list(self._rows(select(MODELS).order_by(MODELS.c.name))):
            yield SourceRegisteredModel(
                name=r.name, description=r.description, creation_time=int(r.creation_time or 0),
                last_updated_time=int(r.last_updated_time or r.creation_time or 0),
                tags=tags.get(r.name, {}), aliases=aliases.get(r.name, {}),
            )

    def model_versions(self, name: str) -> Iterator[SourceModelVersion]:
        tags: dict[int, dict[str, str]] = defaultdict(dict)
        for version, key, value in self._rows(select(VERSION_TAGS.c.version, VERSION_TAGS.c.key, VERSION_TAGS.c.value)
                                              .where(VERSION_TAGS.c.name == name)):
            tags[int(version)][key] = value or ""
        # MLflow keeps deleted versions as rows with current_stage "Deleted_Internal".
        stmt = select(VERSIONS).where(VERSIONS.c.name == name, VERSIONS.c.current_stage != "Deleted_Internal")
        for r in list(self._rows(stmt.order_by(VERSIONS.c.version))):
            yield SourceModelVersion(
                name=name, version=int(r.version), source=r.source or "", run_id=r.run_id or None,
                status=r.status or "READY", current_stage=r.current_stage or "None", description=r.description,
                user_id=r.user_id or "", creation_time=int(r.creation_time or 0),
                last_updated_time=int(r.last_updated_time or r.creation_time or 0), run_link=r.run_link or None,
                tags=tags.get(int(r.version), {}),
            )

    # -------------------------------------------------------------- artifacts
    def _root(self, root_uri: str) -> str:
        if root_uri.startswith("mlflow-artifacts:"):
            if not self.artifacts_root:
                raise SourceArtifactMissing(
                    f"Artifacts at {root_uri!r} live behind the old server's artifact proxy; pass its "
                    "--artifacts-destination as --source-artifacts to copy them from a database source."
                )
            rest = root_uri.split(":", 1)[1].lstrip("/")
            if "//" in root_uri[:len("mlflow-artifacts://")]:
                rest = rest.split("/", 1)[1] if "/" in rest else ""  # mlflow-artifacts://host:port/path
            return f"{self.artifacts_root}/{rest}"
        return root_uri

    def artifact_files(
        self, owner: ArtifactOwner, owner_id: str, root_uri: str
    ) -> Iterator[str | SourceArtifactMissing]:
        from lockgate.artifacts.repository import ArtifactRepository

        try:
            repo = ArtifactRepository(self._root(root_uri))
            if not repo.exists():
                return
            files = repo.walk_files()
        except SourceArtifactMissing as exc:
            yield exc
            return
        except OSError as exc:
            yield SourceArtifactMissing(f"{owner.replace('_', ' ')} {owner_id}: artifacts at {root_uri!r} "
                                        f"cannot be listed: {exc}")
            return
        for info in files:
            yield info.path

    @contextmanager
    def open_artifact(self, owner: ArtifactOwner, owner_id: str, root_uri: str, path: str) -> Iterator[IO[bytes]]:
        from lockgate.artifacts.repository import ArtifactRepository

        try:
            with ArtifactRepository(self._root(root_uri)).open(path, "rb") as handle:
                yield handle
        except (NotFound, OSError) as exc:
            raise SourceArtifactMissing(f"{owner.replace('_', ' ')} {owner_id}: artifact {path!r} "
                                        f"cannot be read: {exc}") from None
