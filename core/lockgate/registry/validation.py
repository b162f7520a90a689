"""Input checks of the registry: model names, versions, aliases, tags and gate targets.

Backend-independent, so the service, the SQL store and the REST client agree on what is valid.
"""

from __future__ import annotations

import re

from lockgate.errors import InvalidArgument
from lockgate.registry.alias_rules import alias_script_problem
from lockgate.registry.entities import GateTarget, ModelVersionStage

__all__ = [
    "MAX_ALIAS_LENGTH",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_MODELS_PAGE",
    "MAX_NAME_LENGTH",
    "MAX_SOURCE_LENGTH",
    "MAX_TAG_KEY_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "MAX_VERSIONS_PAGE",
    "UNGUARDED_STAGES",
    "check_page_size",
    "gate_target",
    "validate_alias",
    "validate_idempotency_key",
    "validate_model_name",
    "validate_tag",
    "version_number",
]

MAX_NAME_LENGTH = 256
MAX_SOURCE_LENGTH = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_ALIAS_LENGTH = 255
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 100_000  # MLflow's limit for registered-model and version tags
MAX_MODELS_PAGE = 1000
MAX_VERSIONS_PAGE = 200_000
UNGUARDED_STAGES = (ModelVersionStage.NONE.value, ModelVersionStage.ARCHIVED.value)
_ALIAS_RE = re.compile(r"^[\w\-]+$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


def version_number(version: int | str) -> int:
    """``version`` as a positive int; ``"3"`` is accepted, anything else is InvalidArgument."""
    if isinstance(version, bool):
        raise InvalidArgument(f"Invalid model version {version!r}: expected a positive integer")
    if isinstance(version, int):
        value = version
    elif isinstance(version, str) and version.strip().isascii() and version.strip().isdigit():
        # isdigit alone accepts '¹' and other digits int() cannot read
        value = int(version.strip())
    else:
        raise InvalidArgument(f"Invalid model version {version!r}: expected a positive integer")
    if value < 1:
        raise InvalidArgument(f"Invalid model version {version!r}: versions start at 1")
    return value


def validate_model_name(name: object) -> str:
    """The name, if it can be a registered model's (and a ``models:/`` URI's) name."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"Invalid registered model name {name!r}: it must be a non-empty string")
    if name != name.strip():
        raise InvalidArgument(f"Invalid registered model name {name!r}: leading or trailing whitespace")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"Invalid registered model name {name[:40]!r}...: longer than {MAX_NAME_LENGTH} characters"
        )
    if "/" in name or "@" in name or ":" in name:
        raise InvalidArgument(
            f"Invalid registered model name {name!r}: '/', '@' and ':' are not allowed "
            "(they would make models:/ URIs ambiguous)"
        )
    return name


def validate_alias(alias: object) -> str:
    """The alias, if MLflow's rules allow it (word characters and dashes, not latest or v<N>)
    and it cannot pass for another (one script, NFKC form; see ``alias_rules``)."""
    if not isinstance(alias, str) or not alias:
        raise InvalidArgument(f"Invalid alias {alias!r}: it must be a non-empty string")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidArgument(f"Invalid alias {alias[:40]!r}...: longer than {MAX_ALIAS_LENGTH} characters")
    if not _ALIAS_RE.match(alias):
        raise InvalidArgument(
            f"Invalid alias {alias!r}: only letters, digits, underscores and dashes are allowed"
        )
    if _RESERVED_ALIAS.match(alias):
        raise InvalidArgument(
            f"Invalid alias {alias!r}: 'latest' and 'v<number>' are reserved for model URIs"
        )
    problem = alias_script_problem(alias)
    if problem:
        raise InvalidArgument(f"Invalid alias {alias!r}: {problem}; use one script per alias")
    return alias


def validate_tag(key: object, value: object) -> tuple[str, str]:
    """``(key, value as text)`` if MLflow would take them as a registered-model or version tag:
    the key by the run-tag key rules (characters, a normalized relative path) and at most 250
    characters, the value at most 100,000 characters."""
    from lockgate.store.validation import validate_key

    if not isinstance(key, str) or not key.strip():
        raise InvalidArgument(f"Invalid tag key {key!r}: it must be a non-empty string")
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise InvalidArgument(f"Invalid tag key {key[:40]!r}...: longer than {MAX_TAG_KEY_LENGTH} characters")
    validate_key("tag", key)
    text_value = value if isinstance(value, str) else str(value)
    if len(text_value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidArgument(
            f"Tag {key!r} has a value of {len(text_value)} characters; the limit is {MAX_TAG_VALUE_LENGTH}"
        )
    return key, text_value


def gate_target(alias: str | None, stage: str | ModelVersionStage | None) -> GateTarget:
    """The one alias or stage named; InvalidArgument unless exactly one is given."""
    if (alias is None) == (stage is None):
        raise InvalidArgument("Name exactly one target: alias=... or stage=...")
    if alias is not None:
        return GateTarget(kind="alias", name=validate_alias(alias))
    return GateTarget(kind="stage", name=ModelVersionStage.parse(stage).value)  # type: ignore[arg-type]


def validate_idempotency_key(key: object) -> str | None:
    """``key`` if it can name a retried registration: None, or 1..255 printable characters."""
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH \
            or not key.isprintable():
        raise InvalidArgument(
            f"Invalid idempotency_key {str(key)[:60]!r}: expected 1..{MAX_IDEMPOTENCY_KEY_LENGTH} "
            "printable characters"
        )
    return key


def check_page_size(max_results: object, limit: int) -> None:
    """InvalidArgument unless ``max_results`` is an int in 1..limit."""
    if not isinstance(max_results, int) or isinstance(max_results, bool) or not 1 <= max_results <= limit:
        raise InvalidArgument(f"Invalid max_results {max_results!r}: expected 1..{limit}")
