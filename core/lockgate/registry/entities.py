"""Value objects of the registry: registered models, versions, policies and audit events.

They follow MLflow's shapes (``creation_timestamp``, ``current_stage``, ``aliases`` ...) so
code written for MLflow's registry reads the same. One deliberate difference: ``version`` is
an ``int`` (MLflow's REST API sends a string); every method also accepts ``"3"``.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from lockgate.registry.gates import GateRule

__all__ = [
    "MOVE_EVENT_TYPES",
    "EventType",
    "GateDecision",
    "GatePolicyRecord",
    "GateTarget",
    "ModelVersion",
    "ModelVersionLineage",
    "ModelVersionStage",
    "ModelVersionStatus",
    "RegisteredModel",
    "RegistryEvent",
    "RuleResult",
]


class ModelVersionStage(str, Enum):
    """The classic stages; ``NONE`` is spelled "None" as in MLflow."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, value: str | ModelVersionStage) -> ModelVersionStage:
        """The stage named by ``value``, case-insensitively; InvalidArgument otherwise."""
        if isinstance(value, ModelVersionStage):
            return value
        for stage in cls:
            if isinstance(value, str) and value.strip().lower() == stage.value.lower():
                return stage
        from lockgate.errors import InvalidArgument

        raise InvalidArgument(
            f"Invalid stage {value!r}: expected one of {', '.join(s.value for s in cls)}"
        )


class ModelVersionStatus(str, Enum):
    """Registration status; Lockgate registers synchronously, so versions are READY at once."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


class EventType(str, Enum):
    """Kinds of entry in the registry's append-only event log."""

    MODEL_CREATED = "MODEL_CREATED"
    MODEL_RENAMED = "MODEL_RENAMED"
    MODEL_UPDATED = "MODEL_UPDATED"
    MODEL_DELETED = "MODEL_DELETED"
    MODEL_TAG_SET = "MODEL_TAG_SET"
    MODEL_TAG_DELETED = "MODEL_TAG_DELETED"
    VERSION_CREATED = "VERSION_CREATED"
    VERSION_UPDATED = "VERSION_UPDATED"
    VERSION_DELETED = "VERSION_DELETED"
    VERSION_TAG_SET = "VERSION_TAG_SET"
    VERSION_TAG_DELETED = "VERSION_TAG_DELETED"
    VERSION_APPROVED = "VERSION_APPROVED"
    ALIAS_SET = "ALIAS_SET"
    ALIAS_DELETED = "ALIAS_DELETED"
    STAGE_CHANGED = "STAGE_CHANGED"
    GATE_POLICY_SET = "GATE_POLICY_SET"
    GATE_REJECTED = "GATE_REJECTED"


#: Event types that make up a model's promotion history.
MOVE_EVENT_TYPES: tuple[EventType, ...] = (
    EventType.ALIAS_SET,
    EventType.ALIAS_DELETED,
    EventType.STAGE_CHANGED,
    EventType.GATE_REJECTED,
)


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class ModelVersion(_Entity):
    """One version of a registered model: where it came from, where it is, what it holds."""

    name: str
    version: int
    source: str
    storage_location: str = ""
    run_id: str | None = None
    run_link: str | None = None
    experiment_id: str | None = None
    status: ModelVersionStatus = ModelVersionStatus.READY
    status_message: str | None = None
    current_stage: str = ModelVersionStage.NONE.value
    description: str | None = None
    user_id: str = ""
    creation_timestamp: int = 0
    last_updated_timestamp: int = 0
    aliases: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    #: The key a retried registration gave (``create_model_version(idempotency_key=...)``).
    idempotency_key: str | None = None

    @property
    def model_uri(self) -> str:
        """``models:/<name>/<version>``, the stable URI of this exact version."""
        return f"models:/{self.name}/{self.version}"


class RegisteredModel(_Entity):
    """A named model with its versions' aliases and the latest version per stage."""

    name: str
    description: str | None = None
    creation_timestamp: int = 0
    last_updated_timestamp: int = 0
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, int] = Field(default_factory=dict)
    latest_versions: list[ModelVersion] = Field(default_factory=list)


class ModelVersionLineage(_Entity):
    """Where a version came from: its run, experiment, datasets and source commit."""

    name: str
    version: int
    source: str
    run_id: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    run_status: str | None = None
    source_commit: str | None = None
    datasets: list[dict[str, Any]] = Field(default_factory=list)


class GateTarget(_Entity):
    """What a gate guards: an alias (``champion``) or a stage (``Production``)."""

    kind: Literal["alias", "stage"]
    name: str

    def __str__(self) -> str:
        return f"@{self.name}" if self.kind == "alias" else f"stage {self.name}"

    @classmethod
    def of(cls, *, alias: str | None = None, stage: str | ModelVersionStage | None = None) -> GateTarget:
        """The target named by exactly one of ``alias`` or ``stage``; InvalidArgument otherwise.

        Every surface (client, CLI, REST, operators, tasks, assets) checks its arguments
        with this, so "name exactly one target" reads the same everywhere.
        """
        if (alias is None or alias == "") == (stage is None or stage == ""):
            from lockgate.errors import InvalidArgument

            raise InvalidArgument("Name exactly one target: alias=... or stage=...")
        if alias:
            return cls(kind="alias", name=str(alias))
        return cls(kind="stage", name=ModelVersionStage.parse(stage).value)  # type: ignore[arg-type]


class GatePolicyRecord(_Entity):
    """A stored gate policy: the target it guards, its version, author and the rules."""

    model_name: str
    target: GateTarget
    policy_version: int
    policy: dict[str, Any]
    created_by: str = ""
    created_at: int = 0

    @property
    def rules(self) -> list[GateRule]:
        """The policy's rules as typed objects (``policy["rules"]`` holds the same as dicts)."""
        from lockgate.registry.gates import GatePolicy

        return list(GatePolicy.from_document(self.policy).rules)


class RegistryEvent(_Entity):
    """One entry of the audit trail; ``id`` grows monotonically and is the sensor cursor."""

    id: int
    type: EventType
    model_name: str
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    from_version: int | None = None
    to_version: int | None = None
    actor: str = ""
    timestamp: int = 0
    reason: str | None = None
    evidence: dict[str, Any] | None = None
    override: bool = False
    details: dict[str, Any] = Field(default_factory=dict)


class RuleResult(_Entity):
    """One rule's verdict: what it saw, what it wanted, and why it passed or failed."""

    rule: str
    passed: bool
    observed: Any = None
    expected: Any = None
    message: str = ""


class GateDecision(_Entity):
    """The outcome of a gate: ``passed`` and every rule's verdict.

    ``changed`` says whether the move was applied (False for a dry run, a refusal, or a
    version that already held the target); ``overridden`` marks a forced promotion.
    """

    passed: bool
    results: list[RuleResult] = Field(default_factory=list)
    model_name: str = ""
    version: int | None = None
    target: GateTarget | None = None
    policy_version: int | None = None
    previous_version: int | None = None
    changed: bool = False
    overridden: bool = False
    event_id: int | None = None

    @property
    def failures(self) -> list[RuleResult]:
        """The rules that failed."""
        return [r for r in self.results if not r.passed]
