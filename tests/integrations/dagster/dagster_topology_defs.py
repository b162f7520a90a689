"""The example pipeline pointed at a shared Lockgate server, as a team deploys it.

The example's assets, checks, job and sensor, with resources that read the server's URL and
token from the environment of every process that loads this file (the daemon's code
server and each run worker): ``LOCKGATE_SERVER_URL`` and ``LOCKGATE_SERVER_TOKEN``.
"""

import importlib.util
from pathlib import Path

import dagster as dg
from lockgate_dagster import LockgateModelIOManager, LockgateResource

_EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "dagster" / "retrain_churn.py"
_spec = importlib.util.spec_from_file_location("retrain_churn", _EXAMPLE)
assert _spec is not None and _spec.loader is not None
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)

connection = {
    "tracking_uri": dg.EnvVar("LOCKGATE_SERVER_URL"),
    "token": dg.EnvVar("LOCKGATE_SERVER_TOKEN"),
}

defs = dg.Definitions(
    assets=[example.features, example.churn_model, example.scores],
    asset_checks=example.gate_checks,
    jobs=[example.retrain],
    sensors=[example.rescore_on_promotion],
    resources={
        "lockgate": LockgateResource(experiment="churn", **connection),
        "model_io": LockgateModelIOManager(experiment="churn", **connection),
    },
)
