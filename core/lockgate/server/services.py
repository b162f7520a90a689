"""``Services``: the registry, logged-model store, artifact destination and auth store one
server worker shares between its requests, each created on first use."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from lockgate.artifacts import ArtifactRepository
    from lockgate.registry.base import ModelRegistry
    from lockgate.server.auth.store import AuthStore
    from lockgate.store.base import TrackingStore
    from lockgate.store.sql.logged_models import SqlLoggedModels
    from lockgate.webhooks.service import WebhookService

__all__ = ["Services"]

_RUN_CACHE_LIMIT = 100_000


class Services:
    """Lazily built services of one worker; thread-safe (requests run in a thread pool)."""

    def __init__(self, *, backend_store_uri: str, artifacts_destination: str, store: TrackingStore) -> None:
        self.backend_store_uri = backend_store_uri
        self.artifacts_destination = artifacts_destination
        self.store = store
        self.auth: AuthStore | None = None
        self._lock = threading.Lock()
        self._registry: ModelRegistry | None = None
        self._logged_models: SqlLoggedModels | None = None
        self._artifacts: ArtifactRepository | None = None
        self._webhooks: WebhookService | None = None
        self._run_experiment: dict[str, str] = {}

    def registry(self) -> ModelRegistry:
        """The registry service on the server's database."""
        with self._lock:
            if self._registry is None:
                from lockgate.store import get_model_registry

                self._registry = cast("ModelRegistry", get_model_registry(self.backend_store_uri, self.store))
            return self._registry

    def webhooks(self) -> WebhookService:
        """Webhook subscriptions and their delivery log on the server's database."""
        registry = self.registry()
        with self._lock:
            if self._webhooks is None:
                from lockgate.registry.sql import SqlRegistry
                from lockgate.webhooks.service import WebhookService

                self._webhooks = WebhookService(cast(SqlRegistry, registry))
            return self._webhooks

    def logged_models(self) -> SqlLoggedModels:
        """MLflow 3 logged models on the server's database."""
        with self._lock:
            if self._logged_models is None:
                from lockgate.store.sql.logged_models import SqlLoggedModels

                self._logged_models = SqlLoggedModels(self.backend_store_uri)
            return self._logged_models

    def artifacts(self) -> ArtifactRepository:
        """The artifact proxy's destination."""
        with self._lock:
            if self._artifacts is None:
                from lockgate.artifacts import get_artifact_repository

                # The proxy's destination is a storage URL, so this is always a file-system repository.
                self._artifacts = cast("ArtifactRepository", get_artifact_repository(self.artifacts_destination))
            return self._artifacts

    def run_experiment(self, run_id: str) -> str:
        """The experiment id a run belongs to."""
        experiment_id = self._run_experiment.get(run_id)
        if experiment_id is None:
            # A run never changes experiment, so the answer can be cached for the process' life.
            experiment_id = str(self.store.get_run(run_id).info.experiment_id)
            with self._lock:
                if len(self._run_experiment) > _RUN_CACHE_LIMIT:
                    self._run_experiment.clear()
                self._run_experiment[run_id] = experiment_id
        return experiment_id
