"""``LockgatePlugin``: registers the tracking listener with Airflow (``airflow.plugins`` entry point).

It is registered through the entry point only, not also through the provider info: Airflow
stops loading further plugins when it meets a plugin name twice.
"""

from __future__ import annotations

from lockgate_airflow import listeners
from lockgate_airflow.version_compat import AirflowPlugin

__all__ = ["LockgatePlugin"]


class LockgatePlugin(AirflowPlugin):
    """Adds the Lockgate listener; it tracks tasks only when ``[lockgate] auto_track`` is on."""

    name = "lockgate"
    listeners = [listeners]  # noqa: RUF012 - AirflowPlugin declares it as a plain attribute
