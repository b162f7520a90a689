"""Lockgate for airflow: see the README section on airflow."""

__all__: list[str] = []
