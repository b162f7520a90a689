"""``MlflowSource``: the one protocol both readers (REST, database) implement.

Every method streams: runs come page by page, a metric history comes in pages, artifacts
come file by file, so no experiment or history is ever held in memory whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import IO, Literal, Protocol

from lockgate.errors import LockgateError
from lockgate.importers.mlflow.records import (
    SourceExperiment,
    SourceMetric,
    SourceModelVersion,
    SourceRegisteredModel,
    SourceRun,
)
from lockgate.store.logged_models import LoggedModel

__all__ = ["ArtifactOwner", "MlflowSource", "SourceArtifactMissing", "SourceUnavailable", "open_source"]

#: Whose artifacts: a run's (by run id) or a logged model's (by model id).
ArtifactOwner = Literal["run", "logged_model"]


class SourceUnavailable(LockgateError):
    """The MLflow source cannot be reached or stopped answering; re-run the import to resume."""

    code = "SOURCE_UNAVAILABLE"


class SourceArtifactMissing(LockgateError):
    """An artifact the source lists cannot be read from it."""

    code = "RESOURCE_DOES_NOT_EXIST"


class MlflowSource(Protocol):
    """Read-only access to an MLflow deployment."""

    label: str

    def check(self) -> None:
        """Raise ``SourceUnavailable`` naming the source if it cannot be read."""
        ...
    def experiments(self) -> Iterator[SourceExperiment]: ...
    def runs(self, experiment_id: str) -> Iterator[SourceRun]: ...
    def metric_history(self, run_id: str, key: str) -> Iterator[list[SourceMetric]]: ...
    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]: ...
    def registered_models(self) -> Iterator[SourceRegisteredModel]: ...
    def model_versions(self, name: str) -> Iterator[SourceModelVersion]: ...
    def artifact_files(
        self, owner: ArtifactOwner, owner_id: str, root_uri: str
    ) -> Iterator[str | SourceArtifactMissing]:
        """Every file path under the owner's artifacts; a folder that cannot be listed comes as
        a ``SourceArtifactMissing`` in the stream, so the rest still copies."""
        ...
    def open_artifact(
        self, owner: ArtifactOwner, owner_id: str, root_uri: str, path: str
    ) -> AbstractContextManager[IO[bytes]]: ...
    def close(self) -> None: ...


def open_source(url: str, *, artifacts_root: str | None = None) -> MlflowSource:
    """The reader for ``url``: ``http(s)://`` is an MLflow server, anything else a database URL.

    ``artifacts_root`` (database sources only) is the old server's ``--artifacts-destination``,
    where ``mlflow-artifacts:/`` URIs point.
    """
    if url.startswith(("http://", "https://")):
        from lockgate.importers.mlflow.rest_source import RestSource

        return RestSource(url)
    if "://" not in url:
        from lockgate.errors import InvalidArgument

        raise InvalidArgument(
            f"Unsupported MLflow source {url!r}: give an MLflow server (http://host:5000) or its "
            "database (sqlite:///mlflow.db, postgresql://user@host/db)."
        )
    from lockgate.importers.mlflow.db_source import DatabaseSource

    return DatabaseSource(url, artifacts_root=artifacts_root)
