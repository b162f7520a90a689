"""Hooks: ``LockgateHook`` turns an Airflow connection into a ``LockgateClient``."""

from lockgate_airflow.hooks.lockgate import LockgateHook

__all__ = ["LockgateHook"]
