"""``RegistryStore``: the narrow persistence seam under the registry service.

The service (``lockgate.registry.service``) validates, evaluates gates and decides what a
change does and which events record it; a store only keeps rows. Three shapes of call:

- plain CRUD and queries (models, versions, tags, policies, events);
- a ``MoveSnapshot`` of what a move to an alias or stage would replace, and
  ``apply_move``, which applies the move only if the target still has the holders the
  snapshot saw (``Conflict`` otherwise);
- guarded changes (``delete_alias``, ``delete_version``, ``delete_model``, ``rename_model``,
  ``put_policy``) take a ``decide`` callback: the store calls it inside its transaction with
  the model's ``ModelHolders`` and records the events it returns, or rolls back when it
  raises ``Refused``; so the decision and the change see the same state.

Events are plain dicts (``type``, ``version``, ``alias``, ``stage``, ``from_version``,
``to_version``, ``actor``, ``reason``, ``evidence``, ``override``, ``details``); the store
adds the model's id, name and the time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lockgate.registry.entities import (
    EventType,
    GatePolicyRecord,
    GateTarget,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
)
from lockgate.registry.gates import GatePolicy
from lockgate.search.grammar import Comparison, OrderBy

__all__ = [
    "AppliedMove",
    "Decide",
    "EventRecord",
    "ModelHolders",
    "MoveSnapshot",
    "PolicyDecide",
    "Refused",
    "RegistryStore",
]

EventRecord = dict[str, Any]


@dataclass(frozen=True)
class ModelHolders:
    """One model's guarded state at one moment: who holds which alias and stage, and which
    targets have a policy with rules."""

    model_id: int
    name: str
    aliases: Mapping[str, int]
    stages: Mapping[int, str]
    guarded: frozenset[tuple[str, str]]
    live_versions: int = 0

    def is_guarded(self, target: GateTarget) -> bool:
        """Whether ``target``'s policy in force has at least one rule."""
        return (target.kind, target.name) in self.guarded

    def guarded_targets(self) -> list[GateTarget]:
        """Every guarded target, aliases first, sorted by name."""
        return [GateTarget(kind=k, name=n) for k, n in sorted(self.guarded)]  # type: ignore[arg-type]


@dataclass(frozen=True)
class MoveSnapshot:
    """What the read phase of a move saw; ``apply_move`` re-checks ``holders``."""

    model_id: int
    model_name: str
    candidate: ModelVersion
    holders: tuple[int, ...]
    champion: ModelVersion | None
    champion_is_last_holder: bool
    policy: GatePolicy | None
    policy_version: int | None
    current_stage_guarded: bool
    approvals: tuple[RegistryEvent, ...] = field(default=())
    #: The candidate's run status (None: no such run), when the store read it beside the
    #: version because no rule needs the whole run; ``run_status_read`` says it did.
    candidate_run_status: str | None = None
    run_status_read: bool = False
    #: For a move to an alias: the model's aliases whose policy has rules (the look-alike check).
    guarded_aliases: frozenset[str] = field(default=frozenset())


@dataclass(frozen=True)
class AppliedMove:
    """What ``apply_move`` did: the ids of the events it appended, and the candidate as the
    move left it (read under the move's lock, so a caller needs no second read)."""

    event_ids: list[int]
    candidate: ModelVersion


class Refused(Exception):
    """Raised by a ``decide`` callback to refuse a guarded change; the store rolls back."""

    def __init__(self, model_id: int, targets: Sequence[GateTarget], version: int | None = None) -> None:
        super().__init__(model_id)
        self.model_id, self.targets, self.version = model_id, list(targets), version


Decide = Callable[[ModelHolders], list[EventRecord]]
#: Called with the policy in force (or None) and the holders; returns None for "no change"
#: (the current record is returned) or the events of the new policy version.
PolicyDecide = Callable[[GatePolicyRecord | None, ModelHolders], list[EventRecord] | None]


class RegistryStore(Protocol):
    """Rows of registered models, versions, aliases, stages, policies and events."""

    # models
    def create_model(self, name: str, *, description: str | None, tags: Sequence[tuple[str, str]],
                     now: int, event: EventRecord) -> None: ...
    def get_model(self, name: str) -> RegisteredModel: ...
    def model_holders(self, name: str) -> ModelHolders: ...
    def guarded_aliases(self, name: str) -> frozenset[str]: ...
    def rename_model(self, name: str, new_name: str, *, now: int, decide: Decide) -> None: ...
    def update_model(self, name: str, *, description: str | None, now: int, event: EventRecord) -> None: ...
    def delete_model(self, name: str, *, decide: Decide) -> None: ...
    def search_models(self, comparisons: Sequence[Comparison], sort: Sequence[OrderBy], *, offset: int,
                      limit: int) -> tuple[list[RegisteredModel], bool]: ...
    def set_model_tag(self, name: str, key: str, value: str, *, now: int, event: EventRecord) -> None: ...
    def delete_model_tag(self, name: str, key: str, *, event: EventRecord) -> None: ...

    # versions
    def create_version(
        self, name: str, *, source: str, run_id: str | None, run_path: str | None,
        run_info: tuple[str, str] | None, read_run: bool, tags: Sequence[tuple[str, str]],
        run_link: str | None, description: str | None, actor: str, now: int, idempotency_key: str | None,
    ) -> ModelVersion: ...
    def get_version(self, name: str, version: int) -> ModelVersion: ...
    def update_version(self, name: str, version: int, *, description: str | None, now: int,
                       event: EventRecord) -> None: ...
    def delete_version(self, name: str, version: int, *, now: int, decide: Decide) -> None: ...
    def search_versions(self, comparisons: Sequence[Comparison], sort: Sequence[OrderBy], *, offset: int,
                        limit: int) -> tuple[list[ModelVersion], bool]: ...
    def latest_version(self, name: str, *, stage: str | None) -> ModelVersion | None: ...
    def set_version_tag(self, name: str, version: int, key: str, value: str, *, now: int,
                        event: EventRecord) -> None: ...
    def delete_version_tag(self, name: str, version: int, key: str, *, event: EventRecord) -> None: ...
    def shares_database_with(self, tracking_store: object) -> bool: ...

    # aliases, moves
    def get_alias(self, name: str, alias: str) -> ModelVersion: ...
    def delete_alias(self, name: str, alias: str, *, now: int, decide: Decide) -> None: ...
    def move_snapshot(self, name: str, version: int, target: GateTarget) -> MoveSnapshot: ...
    def apply_move(self, snap: MoveSnapshot, target: GateTarget, *, archive: Sequence[int], now: int,
                   events: list[EventRecord]) -> AppliedMove: ...

    # policies, approvals, events
    def get_policy(self, name: str, target: GateTarget, *, policy_version: int | None) -> GatePolicyRecord | None: ...
    def list_policies(self, name: str) -> list[GatePolicyRecord]: ...
    def put_policy(self, name: str, target: GateTarget, document: dict[str, Any], *, actor: str, now: int,
                   decide: PolicyDecide) -> GatePolicyRecord: ...
    def approve_version(self, name: str, version: int, *, actor: str, details: dict[str, Any]) -> RegistryEvent: ...
    def append_events(self, model_id: int, name: str, events: list[EventRecord]) -> list[int]: ...
    def history(self, name: str, *, alias: str | None, stage: str | None, limit: int) -> list[RegistryEvent]: ...
    def events(self, *, after_id: int, model_name: str | None, types: Sequence[EventType],
               limit: int) -> list[RegistryEvent]: ...
