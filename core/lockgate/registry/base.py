"""``ModelRegistry``: the registry service protocol every backend (SQL, REST) implements.

Method names and keyword-only arguments match ``LockgateClient``'s registry methods, so the
client (and later the REST server) only forwards. ``actor`` is the user the audit trail
records; ``privileged`` says whether that user may override a failing gate or a guarded
change (removing a guarded holder, replacing a policy): being privileged is never enough by
itself, an override also needs ``override=True`` and a ``reason``, and is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from lockgate.entities import PagedList
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

__all__ = ["ModelRegistry"]


@runtime_checkable
class ModelRegistry(Protocol):
    """Registered models, versions, aliases, stages, gates and the audit trail."""

    # registered models
    def create_registered_model(
        self, name: str, *, description: str | None = None, tags: Mapping[str, Any] | None = None,
        exist_ok: bool = False, actor: str = "",
    ) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def rename_registered_model(
        self, name: str, new_name: str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> RegisteredModel: ...
    def update_registered_model(
        self, name: str, *, description: str | None, actor: str = ""
    ) -> RegisteredModel: ...
    def delete_registered_model(
        self, name: str, *, actor: str = "", reason: str | None = None, override: bool = False,
        privileged: bool = False,
    ) -> None: ...
    def search_registered_models(
        self, *, filter_string: str | None = None, max_results: int = 100,
        order_by: Sequence[str] | None = None, page_token: str | None = None,
    ) -> PagedList[RegisteredModel]: ...
    def set_registered_model_tag(self, name: str, key: str, value: Any, *, actor: str = "") -> None: ...
    def delete_registered_model_tag(self, name: str, key: str, *, actor: str = "") -> None: ...

    # model versions
    def create_model_version(
        self, name: str, *, source: str, run_id: str | None = None,
        tags: Mapping[str, Any] | None = None, run_link: str | None = None,
        description: str | None = None, actor: str = "",
    ) -> ModelVersion: ...
    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...
    def get_model_version_download_uri(self, name: str, version: int | str) -> str: ...
    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage: ...
    def update_model_version(
        self, name: str, version: int | str, *, description: str | None, actor: str = ""
    ) -> ModelVersion: ...
    def delete_model_version(
        self, name: str, version: int | str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> None: ...
    def search_model_versions(
        self, *, filter_string: str | None = None, max_results: int = 1000,
        order_by: Sequence[str] | None = None, page_token: str | None = None,
    ) -> PagedList[ModelVersion]: ...
    def get_latest_versions(self, name: str, *, stages: Sequence[str] | None = None) -> list[ModelVersion]: ...
    def set_model_version_tag(
        self, name: str, version: int | str, key: str, value: Any, *, actor: str = ""
    ) -> None: ...
    def delete_model_version_tag(self, name: str, version: int | str, key: str, *, actor: str = "") -> None: ...

    # aliases and stages
    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, actor: str = "", privileged: bool = False
    ) -> None: ...
    def delete_registered_model_alias(
        self, name: str, alias: str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, *, archive_existing_versions: bool = False,
        actor: str = "", reason: str | None = None, override: bool = False, privileged: bool = False,
    ) -> ModelVersion: ...
    def resolve_model_uri(self, uri: str) -> ModelVersion: ...

    # gates
    def set_gate_policy(
        self, name: str, *, alias: str | None = None, stage: str | None = None,
        policy: GatePolicy | Mapping[str, Any] | str, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> GatePolicyRecord: ...
    def get_gate_policy(
        self, name: str, *, alias: str | None = None, stage: str | None = None,
        policy_version: int | None = None,
    ) -> GatePolicyRecord | None: ...
    def list_gate_policies(self, name: str) -> list[GatePolicyRecord]: ...
    def evaluate_gate(
        self, name: str, *, version: int | str, alias: str | None = None, stage: str | None = None,
        actor: str = "",
    ) -> GateDecision: ...
    def promote(
        self, name: str, *, version: int | str, alias: str | None = None, stage: str | None = None,
        reason: str | None = None, override: bool = False, archive_existing_versions: bool = True,
        actor: str = "", privileged: bool = False,
    ) -> GateDecision: ...
    def approve_model_version(
        self, name: str, version: int | str, *, comment: str | None = None, actor: str = ""
    ) -> RegistryEvent: ...

    # audit trail
    def get_promotion_history(
        self, name: str, *, alias: str | None = None, stage: str | None = None, limit: int = 1000
    ) -> list[RegistryEvent]: ...
    def get_events(
        self, *, after_id: int = 0, model_name: str | None = None,
        types: Sequence[str | EventType] | None = None, limit: int = 1000,
    ) -> list[RegistryEvent]: ...
