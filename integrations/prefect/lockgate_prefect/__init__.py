"""Lockgate for prefect: see the README section on prefect."""

__all__: list[str] = []
