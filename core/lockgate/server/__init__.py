"""Lockgate's tracking server: ``create_app()`` builds the FastAPI app (imported lazily)."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from lockgate.server.app import create_app

        return create_app
    raise AttributeError(f"module 'lockgate.server' has no attribute {name!r}")
