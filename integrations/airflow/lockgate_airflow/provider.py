"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

__all__ = ["get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow shows and uses to find hooks and decorators."""
    return {
        "package-name": "lockgate",
        "name": "Lockgate",
        "description": "Experiment tracking, model registry and gated promotion for Airflow.",
        "versions": ["0.1.0"],
    }
