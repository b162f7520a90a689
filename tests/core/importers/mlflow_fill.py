"""Fill a live ``mlflow server`` with the stock client: what the import tests move.

Run as a script (its own process, so MLflow's global state stays out of the tests):
``python mlflow_fill.py URL MANIFEST.json [HISTORY_POINTS]``. The manifest names the ids the tests check.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HISTORY_POINTS = 100_000


@dataclass(frozen=True)
class FilledMlflow:
    """The live source server, its files, and the ids ``fill`` created."""

    url: str
    port: int
    db_uri: str
    artifacts_dir: Path
    manifest: dict[str, Any]


def fill(url: str, history_points: int = HISTORY_POINTS) -> dict[str, object]:
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    churn = client.create_experiment("churn", tags={"team": "retention", "mlflow.note.content": "churn models"})
    fraud = client.create_experiment("fraud", tags={"team": "risk"})
    retired = client.create_experiment("retired")
    base = int(time.time() * 1000) - 3_600_000

    # A nested tree: parent -> two children -> one grandchild.
    parent = client.create_run(churn, run_name="sweep", start_time=base)
    pid = parent.info.run_id
    children = []
    for i in range(2):
        child = client.create_run(churn, run_name=f"trial-{i}", start_time=base + 10 + i,
                                  tags={"mlflow.parentRunId": pid})
        children.append(child.info.run_id)
    grandchild = client.create_run(churn, run_name="refit", start_time=base + 20,
                                   tags={"mlflow.parentRunId": children[0]})
    gid = grandchild.info.run_id
    client.log_batch(pid, params=[mlflow.entities.Param("lr", "0.01"), mlflow.entities.Param("depth", "6")],
                     tags=[mlflow.entities.RunTag("stage", "tuning")])
    client.log_metric(pid, "special", math.nan, timestamp=base, step=0)
    client.log_metric(pid, "special", math.inf, timestamp=base, step=1)
    client.log_metric(pid, "special", -math.inf, timestamp=base, step=2)
    client.log_metric(pid, "special", 0.25, timestamp=base, step=3)
    for i, cid in enumerate(children):
        client.log_metric(cid, "auc", 0.8 + i / 100, timestamp=base + i, step=0)
        client.set_terminated(cid, status="FINISHED" if i == 0 else "FAILED", end_time=base + 1000 + i)
    # The long history: 100,000 points in batches of 1,000 (MLflow's per-request limit).
    for start in range(0, history_points, 1000):
        client.log_batch(gid, metrics=[Metric("loss", 1.0 / (s + 1), base + s, s)
                                       for s in range(start, start + 1000)])
    frame = pd.DataFrame({"tenure": [1, 2, 3], "churned": [0, 1, 0]})
    with mlflow.start_run(run_id=gid):
        mlflow.log_input(mlflow.data.from_pandas(frame, source="s3://bucket/churn.csv", name="churn-train"),
                         context="training")
        mlflow.log_text("hello from mlflow", "notes/readme.txt")
        mlflow.log_dict({"threshold": 0.5}, "config.json")

        class Echo(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
                return model_input

        logged = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"])
    client.set_terminated(pid, status="FINISHED", end_time=base + 5000)

    # fraud: a few flat runs, one deleted; plus a run whose artifact is missing on disk.
    fraud_runs = []
    for i in range(3):
        run = client.create_run(fraud, run_name=f"fraud-{i}", start_time=base + 100 + i)
        client.log_batch(run.info.run_id, metrics=[Metric("recall", 0.5 + i / 10, base + i, 0)],
                         params=[mlflow.entities.Param("seed", str(i))])
        client.set_terminated(run.info.run_id, end_time=base + 200 + i)
        fraud_runs.append(run.info.run_id)
    client.delete_run(fraud_runs[2])
    broken = client.create_run(fraud, run_name="broken-artifacts", start_time=base + 300)
    client.log_text(broken.info.run_id, "gone soon", "lost/weights.bin")
    client.set_terminated(broken.info.run_id, end_time=base + 400)
    old = client.create_run(retired, run_name="old", start_time=base)
    client.set_terminated(old.info.run_id, end_time=base + 1)
    client.delete_experiment(retired)

    # Registry: a model with three versions, aliases and stages; one from the logged model.
    client.create_registered_model("churn-model", tags={"owner": "retention"}, description="churn classifier")
    v1 = client.create_model_version("churn-model", f"runs:/{gid}/model", run_id=gid, tags={"data": "v1"})
    v2 = client.create_model_version("churn-model", f"runs:/{gid}/model", run_id=gid, description="retrained")
    v3 = mlflow.register_model(logged.model_uri, "churn-model")
    client.transition_model_version_stage("churn-model", v1.version, "Archived")
    client.transition_model_version_stage("churn-model", v2.version, "Production")
    client.transition_model_version_stage("churn-model", v3.version, "Staging")
    client.set_registered_model_alias("churn-model", "champion", v2.version)
    client.set_registered_model_alias("churn-model", "challenger", v3.version)
    client.set_model_version_tag("churn-model", v2.version, "validated", "yes")
    client.create_registered_model("fraud-model")
    client.create_model_version("fraud-model", f"runs:/{fraud_runs[0]}/model", run_id=fraud_runs[0])
    return {
        "experiments": {"churn": churn, "fraud": fraud, "retired": retired},
        "parent": pid, "children": children, "grandchild": gid, "fraud_runs": fraud_runs,
        "broken": broken.info.run_id, "logged_model": logged.model_id, "old": old.info.run_id,
    }


if __name__ == "__main__":
    manifest = fill(sys.argv[1], *(int(a) for a in sys.argv[3:4]))
    with open(sys.argv[2], "w") as out:
        json.dump(manifest, out)
