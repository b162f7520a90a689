"""Triggers for deferrable Lockgate sensors."""

from lockgate_airflow.triggers.model_version import ModelVersionTrigger

__all__ = ["ModelVersionTrigger"]
