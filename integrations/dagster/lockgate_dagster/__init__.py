"""Lockgate for dagster: see the README section on dagster."""

__all__: list[str] = []
