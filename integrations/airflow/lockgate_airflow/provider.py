"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point.

Kept free of imports so Airflow can list the provider without loading hooks or operators.
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_provider_info"]

_PKG = "lockgate_airflow"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow shows and uses to find hooks and decorators."""
    from lockgate import __version__

    return {
        "package-name": "lockgate",
        "name": "Lockgate",
        "description": "Experiment tracking, model registry and gated promotion for Airflow.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": "Lockgate", "external-doc-url": "https://github.com/lockgate/lockgate",
             "tags": ["software"]},
        ],
        "hooks": [{"integration-name": "Lockgate", "python-modules": [f"{_PKG}.hooks.lockgate"]}],
        "operators": [
            {"integration-name": "Lockgate",
             "python-modules": [f"{_PKG}.operators.registry", f"{_PKG}.operators.predict",
                                f"{_PKG}.operators.project"]},
        ],
        "sensors": [{"integration-name": "Lockgate", "python-modules": [f"{_PKG}.sensors.model_version"]}],
        "triggers": [{"integration-name": "Lockgate",
                      "python-modules": [f"{_PKG}.triggers.model_version", f"{_PKG}.triggers.model_alias"]}],
        "extra-links": [
            f"{_PKG}.links.LockgateRunLink",
            f"{_PKG}.links.LockgateModelVersionLink",
        ],
        "hook-class-names": [f"{_PKG}.hooks.lockgate.LockgateHook"],
        "connection-types": [
            {
                "hook-class-name": f"{_PKG}.hooks.lockgate.LockgateHook",
                "hook-name": "Lockgate",
                "connection-type": "lockgate",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "Server URL", "password": "API token"},
                    "placeholders": {
                        "host": "http://lockgate:5000 (or leave empty and set Tracking URI)",
                        "password": "an API token issued by the Lockgate server",
                    },
                },
                "conn-fields": {
                    "tracking_uri": {
                        "label": "Tracking URI",
                        "description": "A Lockgate server (http://...) or a database URL "
                        "(postgresql+psycopg://..., sqlite:////path/lockgate.db). Overrides Server URL.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "retries": {
                        "label": "Retries",
                        "description": "How often to retry an unreachable server before failing.",
                        "schema": {"type": ["integer", "null"]},
                    },
                },
            }
        ],
        "task-decorators": [
            {"name": "lockgate", "class-name": f"{_PKG}.decorators.lockgate.lockgate_task"},
        ],
        "config": {
            "lockgate": {
                "description": "Automatic tracking of task instances as Lockgate runs.",
                "options": {
                    "auto_track": {
                        "description": "Make every DAG run a Lockgate run and every task instance a "
                        "nested run (the listener plugin).",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "True",
                        "default": "False",
                    },
                    "conn_id": {
                        "description": "The Airflow connection automatic tracking writes through.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "lockgate_default",
                        "default": "lockgate_default",
                    },
                    "experiment": {
                        "description": "Experiment for automatically tracked runs; empty means one "
                        "experiment per DAG, named after the dag_id.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "pipelines",
                        "default": "",
                    },
                },
            }
        },
    }
