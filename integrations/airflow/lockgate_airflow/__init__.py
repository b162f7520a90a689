"""Lockgate for Airflow: a provider with a hook, ``@task.lockgate``, registry operators and a tracking listener.

Import what you need from the sub-packages (``lockgate_airflow.operators``,
``lockgate_airflow.sensors``, ``lockgate_airflow.hooks``); importing this package loads nothing.
"""

__all__: list[str] = []
