"""examples/prefect/retrain_churn.py end to end: the first model is promoted, a worse one is stopped."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import lockgate
import pandas as pd
from lockgate.entities import RunStatus
from lockgate_prefect.artifacts import artifact_key
from prefect_helpers import markdown_artifacts, run_ids_of, wait_for_prefect_events

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "prefect" / "retrain_churn.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("retrain_churn_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_retrain_churn_promotes_then_the_gate_stops_a_worse_model(tmp_path: Path) -> None:
    example = _load_example()
    since = datetime.now(timezone.utc)
    client = lockgate.LockgateClient()

    first = example.retrain_churn(workdir=str(tmp_path), return_state=True)
    assert first.is_completed(), first.message
    result = first.result()
    assert result["version"] == 1
    champion = client.get_model_version_by_alias("churn", "champion")
    assert champion.version == 1 and champion.run_id == result["run_id"]
    scored = pd.read_csv(result["scored"])
    assert len(scored) == 200 and set(scored["prediction"].unique()) <= {0, 1}

    worse = example.retrain_churn(max_depth=1, label_noise=0.4, workdir=str(tmp_path), return_state=True)
    assert worse.is_failed()
    assert "GateFailed" in worse.message

    # Runs: two flow runs in the "churn" experiment, the second FAILED, with a weaker AUC.
    experiment = client.get_experiment_by_name("churn")
    assert experiment is not None
    runs = [client.get_run(r) for r in run_ids_of(experiment.experiment_id, uri=client.tracking_uri)]
    assert [r.info.status for r in runs] == [RunStatus.FINISHED, RunStatus.FAILED]
    good, bad = runs
    assert good.info.run_id == result["run_id"]
    assert bad.data.params == {"max_depth": "1", "label_noise": "0.4", "workdir": str(tmp_path)}
    assert bad.data.metrics["val_auc"] < good.data.metrics["val_auc"]
    assert good.data.metrics["val_auc"] >= 0.7
    assert good.data.tags["lockgate.prefect.flow_name"] == "retrain-churn"
    assert good.data.tags["lockgate.batch_predict.model_version"] == "1"

    # Versions and aliases: v2 is registered from the weaker run but holds nothing.
    v2 = client.get_model_version("churn", 2)
    assert v2.run_id == bad.info.run_id and v2.aliases == []
    assert client.get_model_version_by_alias("churn", "champion").version == 1
    moves = [(e.type.value, e.to_version or e.version) for e in client.get_promotion_history("churn", alias="champion")]
    assert moves == [("ALIAS_SET", 1), ("GATE_REJECTED", 2)]

    # Events: one promotion and one refusal reached Prefect, about the registered model.
    (promoted,) = wait_for_prefect_events("lockgate.model.promoted", resource_id="lockgate.model.churn", since=since)
    (refused,) = wait_for_prefect_events("lockgate.gate.failed", resource_id="lockgate.model.churn", since=since)
    assert promoted.payload["version"] == 1
    assert refused.payload["version"] == 2 and refused.payload["holder_version"] == 1
    assert refused.payload["failed_rules"] == ["val_auc beats holder by 0 (higher is better)"]

    # The verdict tables are in Prefect's UI as markdown artifacts.
    reports = markdown_artifacts(artifact_key("churn", "@champion"))
    assert "**promoted**" in reports[-2] and "**refused**" in reports[-1]
