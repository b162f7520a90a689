"""Triggers: for deferrable Lockgate sensors, and the asset watcher that follows a model alias."""

from lockgate_airflow.triggers.model_alias import ModelAliasEventTrigger
from lockgate_airflow.triggers.model_version import ModelVersionTrigger

__all__ = ["ModelAliasEventTrigger", "ModelVersionTrigger"]
