"""Parsing ``models:/`` URIs: by version, alias, stage, or ``latest``."""

from __future__ import annotations

from dataclasses import dataclass

from lockgate.errors import InvalidArgument
from lockgate.registry.entities import ModelVersionStage

__all__ = ["ModelUriRef", "parse_model_uri"]

_SCHEME = "models:/"


@dataclass(frozen=True)
class ModelUriRef:
    """What a ``models:/`` URI points at; exactly one of version/alias/stage/latest is set."""

    name: str
    version: int | None = None
    alias: str | None = None
    stage: ModelVersionStage | None = None
    latest: bool = False


def parse_model_uri(uri: str) -> ModelUriRef:
    """``models:/churn/3``, ``models:/churn@champion``, ``models:/churn/Production`` or
    ``models:/churn/latest`` as a reference; InvalidArgument for anything else."""
    if not isinstance(uri, str) or not uri.startswith(_SCHEME):
        raise InvalidArgument(f"Not a model URI: {uri!r} (expected models:/<name>/<version|stage|latest> "
                              "or models:/<name>@<alias>)")
    rest = uri[len(_SCHEME):].lstrip("/").rstrip("/")
    if "/" not in rest and "@" in rest:
        name, alias = rest.rsplit("@", 1)
        if not name or not alias:
            raise InvalidArgument(f"Model URI {uri!r} needs both a name and an alias")
        return ModelUriRef(name=name, alias=alias)
    if "/" not in rest:
        raise InvalidArgument(
            f"Model URI {uri!r} names no version: use models:/{rest}/<version>, "
            f"models:/{rest}/<stage>, models:/{rest}/latest or models:/{rest}@<alias>"
        )
    name, suffix = rest.rsplit("/", 1)
    if not name or "/" in name:
        raise InvalidArgument(f"Model URI {uri!r} is malformed: expected models:/<name>/<suffix>")
    if suffix.isdigit():
        return ModelUriRef(name=name, version=int(suffix))
    if suffix.lower() == "latest":
        return ModelUriRef(name=name, latest=True)
    try:
        return ModelUriRef(name=name, stage=ModelVersionStage.parse(suffix))
    except InvalidArgument:
        raise InvalidArgument(
            f"Model URI {uri!r}: {suffix!r} is not a version number, a stage "
            "(None, Staging, Production, Archived) or 'latest'"
        ) from None
