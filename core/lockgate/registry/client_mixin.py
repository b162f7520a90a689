"""``RegistryClientMixin``: the registry methods of ``LockgateClient``, forwarded to the service.

The client mixes this in; it needs ``self._registry`` (a ``ModelRegistry``) and ``self.user``
(the acting user, recorded in the audit trail). ``self.privileged`` (default False) says
whether the user may override a failing gate; a local client is as privileged as its
database credentials, so the switch only guards against accidents there, while the server
maps it from the authenticated user's permissions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockgate.entities import PagedList
    from lockgate.registry.base import ModelRegistry
    from lockgate.registry.entities import (
        EventType,
        GateDecision,
        GatePolicyRecord,
        ModelVersion,
        ModelVersionLineage,
        RegisteredModel,
        RegistryEvent,
    )
    from lockgate.registry.gates import GatePolicy

__all__ = ["RegistryClientMixin"]


class RegistryClientMixin:
    """Registered models, versions, aliases, stages, gates and history on the client."""

    user: str

    if TYPE_CHECKING:

        @property
        def _registry(self) -> ModelRegistry: ...

    def _is_privileged(self) -> bool:
        return bool(getattr(self, "privileged", False))

    # ------------------------------------------------------- registered models
    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        exist_ok: bool = False,
    ) -> RegisteredModel:
        """A new, empty registered model; AlreadyExists if the name is taken (unless ``exist_ok``)."""
        return self._registry.create_registered_model(
            name, description=description, tags=tags, exist_ok=exist_ok, actor=self.user
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and latest version per stage."""
        return self._registry.get_registered_model(name)

    def rename_registered_model(
        self, name: str, new_name: str, *, reason: str | None = None, override: bool = False
    ) -> RegisteredModel:
        """The model under its new name; versions, aliases, policies and history follow.

        A model with gate policies needs ``override=True`` and a ``reason`` (privileged client).
        """
        return self._registry.rename_registered_model(
            name, new_name, actor=self.user, reason=reason, override=override, privileged=self._is_privileged()
        )

    def update_registered_model(self, name: str, *, description: str | None) -> RegisteredModel:
        """The model with its new description."""
        return self._registry.update_registered_model(name, description=description, actor=self.user)

    def delete_registered_model(self, name: str, *, reason: str | None = None, override: bool = False) -> None:
        """Delete the model and all its versions (the audit trail keeps its events).

        A model with gate policies needs ``override=True`` and a ``reason`` (privileged client).
        """
        self._registry.delete_registered_model(
            name, actor=self.user, reason=reason, override=override, privileged=self._is_privileged()
        )

    def search_registered_models(
        self,
        filter_string: str | None = None,
        *,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Models matching MLflow's registered-model filter, a page at a time."""
        return self._registry.search_registered_models(
            filter_string=filter_string, max_results=max_results, order_by=order_by, page_token=page_token
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set (or replace) a tag on the model."""
        self._registry.set_registered_model_tag(name, key, value, actor=self.user)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from the model."""
        self._registry.delete_registered_model_tag(name, key, actor=self.user)

    # ---------------------------------------------------------- model versions
    def create_model_version(
        self,
        name: str,
        *,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> ModelVersion:
        """A new version from ``source``, every call (as in MLflow); a retry that gives the same
        ``idempotency_key`` gets the version that key already made."""
        return self._registry.create_model_version(
            name, source=source, run_id=run_id, tags=tags, run_link=run_link, description=description,
            actor=self.user, idempotency_key=idempotency_key,
        )

    def register_model(
        self,
        name: str,
        *,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        model_description: str | None = None,
        idempotency_key: str | None = None,
    ) -> ModelVersion:
        """A new version of ``name`` from ``source``, creating the registered model if missing.

        The one "register, creating if needed" workflow: ``log_model(registered_model_name=)``,
        the Airflow operator, the Prefect task and the Dagster IO manager all call this. The
        pipelines pass the step's identity as ``idempotency_key``, so a retried step gets back
        the version it already made while a new pipeline run makes a new one.
        """
        self._registry.create_registered_model(
            name, description=model_description, exist_ok=True, actor=self.user
        )
        return self.create_model_version(
            name, source=source, run_id=run_id, tags=tags, run_link=run_link, description=description,
            idempotency_key=idempotency_key,
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version with its tags and aliases."""
        return self._registry.get_model_version(name, version)

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are."""
        return self._registry.get_model_version_download_uri(name, version)

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage:
        """The run, experiment, datasets and git commit behind a version."""
        return self._registry.get_model_version_lineage(name, version)

    def update_model_version(self, name: str, version: int | str, *, description: str | None) -> ModelVersion:
        """The version with its new description."""
        return self._registry.update_model_version(name, version, description=description, actor=self.user)

    def delete_model_version(
        self, name: str, version: int | str, *, reason: str | None = None, override: bool = False
    ) -> None:
        """Delete a version; its aliases go with it.

        The holder of a guarded alias or stage needs ``override=True`` and a ``reason``.
        """
        self._registry.delete_model_version(
            name, version, actor=self.user, reason=reason, override=override, privileged=self._is_privileged()
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        *,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions matching MLflow's model-version filter, a page at a time."""
        return self._registry.search_model_versions(
            filter_string=filter_string, max_results=max_results, order_by=order_by, page_token=page_token
        )

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage."""
        return self._registry.get_latest_versions(name, stages=stages)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set (or replace) a tag on one version."""
        self._registry.set_model_version_tag(name, version, key, value, actor=self.user)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from one version."""
        self._registry.delete_model_version_tag(name, version, key, actor=self.user)

    # ------------------------------------------------------- aliases and stages
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version`` (GateFailed if the alias is guarded and the gate fails)."""
        self._registry.set_registered_model_alias(
            name, alias, version, actor=self.user, privileged=self._is_privileged()
        )

    def delete_registered_model_alias(
        self, name: str, alias: str, *, reason: str | None = None, override: bool = False
    ) -> None:
        """Remove ``alias``; a guarded alias needs ``override=True`` and a ``reason``."""
        self._registry.delete_registered_model_alias(
            name, alias, actor=self.user, reason=reason, override=override, privileged=self._is_privileged()
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at."""
        return self._registry.get_model_version_by_alias(name, alias)

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        reason: str | None = None,
        override: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage (gated if the stage is guarded).

        Taking a version out of a guarded stage other than by promotion (Staging to Production)
        needs ``override=True`` and a ``reason``, as does forcing a failing gate.
        """
        return self._registry.transition_model_version_stage(
            name, version, stage, archive_existing_versions=archive_existing_versions, actor=self.user,
            reason=reason, override=override, privileged=self._is_privileged(),
        )

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names (``.storage_location`` is where its files are)."""
        return self._registry.resolve_model_uri(uri)

    # ------------------------------------------------------------------ gates
    def set_gate_policy(
        self,
        name: str,
        *,
        alias: str | None = None,
        stage: str | None = None,
        policy: GatePolicy | Mapping[str, Any] | str,
        reason: str | None = None,
        override: bool = False,
    ) -> GatePolicyRecord:
        """Guard an alias or stage with a policy; returns the stored, versioned record.

        Replacing a policy that has rules needs ``override=True`` and a ``reason``.
        """
        return self._registry.set_gate_policy(
            name, alias=alias, stage=stage, policy=policy, actor=self.user, reason=reason, override=override,
            privileged=self._is_privileged(),
        )

    def get_gate_policy(
        self, name: str, *, alias: str | None = None, stage: str | None = None,
        policy_version: int | None = None,
    ) -> GatePolicyRecord | None:
        """The policy guarding the target, or None if it is unguarded."""
        return self._registry.get_gate_policy(name, alias=alias, stage=stage, policy_version=policy_version)

    def evaluate_gate(
        self, name: str, *, version: int | str, alias: str | None = None, stage: str | None = None
    ) -> GateDecision:
        """Dry run of a promotion: every rule's verdict, nothing changed."""
        return self._registry.evaluate_gate(name, version=version, alias=alias, stage=stage, actor=self.user)

    def promote(
        self,
        name: str,
        *,
        version: int | str,
        alias: str | None = None,
        stage: str | None = None,
        reason: str | None = None,
        override: bool = False,
        archive_existing_versions: bool = True,
    ) -> GateDecision:
        """Move ``version`` to the alias or stage if its gate passes; GateFailed otherwise."""
        return self._registry.promote(
            name, version=version, alias=alias, stage=stage, reason=reason, override=override,
            archive_existing_versions=archive_existing_versions, actor=self.user,
            privileged=self._is_privileged(),
        )

    def approve_model_version(self, name: str, version: int | str, *, comment: str | None = None) -> RegistryEvent:
        """Record this user's approval of a version."""
        return self._registry.approve_model_version(name, version, comment=comment, actor=self.user)

    # ---------------------------------------------------------------- history
    def get_promotion_history(
        self, name: str, *, alias: str | None = None, stage: str | None = None
    ) -> list[RegistryEvent]:
        """Every move and refused promotion: who, when, from which version to which, evidence."""
        return self._registry.get_promotion_history(name, alias=alias, stage=stage)

    def get_events(
        self,
        *,
        after_id: int = 0,
        model_name: str | None = None,
        types: Sequence[str | EventType] | None = None,
        limit: int = 1000,
    ) -> list[RegistryEvent]:
        """Registry events after ``after_id``, oldest first (the cursor sensors poll)."""
        return self._registry.get_events(after_id=after_id, model_name=model_name, types=types, limit=limit)

    def iter_events(
        self,
        *,
        after_id: int = 0,
        model_name: str | None = None,
        types: Sequence[str | EventType] | None = None,
        page_size: int = 10_000,
    ) -> Iterator[RegistryEvent]:
        """Every registry event after ``after_id`` through the newest, oldest first, read a page at a time."""
        cursor = after_id
        while True:
            events = self._registry.get_events(after_id=cursor, model_name=model_name, types=types, limit=page_size)
            yield from events
            if len(events) < page_size:
                return
            cursor = int(events[-1].id)

    def get_latest_event(
        self, *, model_name: str | None = None, types: Sequence[str | EventType] | None = None,
        where: Callable[[RegistryEvent], bool] | None = None,
    ) -> RegistryEvent | None:
        """The newest registry event (of ``model_name``, of ``types``, for which ``where`` holds); None if none.

        Unlike ``get_promotion_history`` (the oldest 1000), this reads the log to its end.
        """
        latest = None
        for event in self.iter_events(model_name=model_name, types=types):
            if where is None or where(event):
                latest = event
        return latest

    def get_latest_event_id(self, *, model_name: str | None = None) -> int:
        """The id of the newest registry event (of ``model_name``), 0 if none: where a new cursor starts."""
        latest = self.get_latest_event(model_name=model_name)
        return int(latest.id) if latest is not None else 0
