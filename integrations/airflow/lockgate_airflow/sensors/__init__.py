"""Sensors: wait for registry changes."""

from lockgate_airflow.sensors.model_version import ModelVersionSensor

__all__ = ["ModelVersionSensor"]
