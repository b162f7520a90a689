"""``GatePolicyRecord.rules``: a stored policy's rules as typed objects, not only as dicts."""

from __future__ import annotations

import lockgate
from lockgate.registry.gates import BeatsChampion, MetricThreshold


def test_a_stored_policy_reads_back_as_typed_rules() -> None:
    client = lockgate.LockgateClient()
    client.create_registered_model("churn")
    client.set_gate_policy("churn", alias="champion", policy={"rules": [
        {"type": "metric_threshold", "metric": "val_auc", "min": 0.9},
        {"type": "beats_champion", "metric": "val_auc", "margin": 0.01},
    ]})

    record = client.get_gate_policy("churn", alias="champion")
    assert record is not None
    threshold, beats = record.rules
    assert isinstance(threshold, MetricThreshold) and threshold.metric == "val_auc"
    assert threshold.min == 0.9
    assert isinstance(beats, BeatsChampion) and beats.margin == 0.01
    assert [r["type"] for r in record.policy["rules"]] == ["metric_threshold", "beats_champion"]
