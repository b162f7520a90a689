"""Wait for the next version of ``churn`` without holding a worker slot, then report it.

The deferrable ``ModelVersionSensor`` hands the wait to Airflow's triggerer, which polls the
registry's event log; when ``retrain_churn`` registers a new version the task resumes on a
worker and returns the version number. Trigger it by hand (it has no schedule) once the
model exists.
"""

from __future__ import annotations

import datetime

from airflow.sdk import dag, task
from lockgate_airflow.sensors import ModelVersionSensor


@dag(
    dag_id="watch_churn",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    tags=["lockgate", "example"],
)
def watch_churn():
    new_version = ModelVersionSensor(
        task_id="wait_for_version", model_name="churn", deferrable=True, poke_interval=5, timeout=3600
    )

    @task
    def report(version: int) -> str:
        """What a downstream team would do with the new version: here, say which it is."""
        from lockgate_airflow.hooks import LockgateHook

        model = LockgateHook().get_conn().get_model_version("churn", version)
        return f"churn version {model.version} from run {model.run_id}"

    report(new_version.output)


dag_object = watch_churn()
