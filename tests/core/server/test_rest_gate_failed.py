"""A refusal over REST raises the same GateFailed as in-process: RuleResult verdicts, not dicts."""

from __future__ import annotations

import lockgate
import pytest
from lockgate.errors import GateFailed
from lockgate.registry.entities import RuleResult


def test_a_refused_promotion_over_rest_carries_rule_results(server_url: str) -> None:
    client = lockgate.LockgateClient(server_url)
    exp = client.create_experiment("gate-over-rest")
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "val_auc", 0.61)
    client.register_model("churn", source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_gate_policy(
        "churn", alias="champion",
        policy={"rules": [{"type": "metric_threshold", "metric": "val_auc", "min": 0.9}]},
    )

    with pytest.raises(GateFailed) as info:
        client.promote("churn", version=1, alias="champion")

    (result,) = info.value.results
    assert isinstance(result, RuleResult)
    assert result.passed is False
    assert result.observed == 0.61
    assert "val_auc" in result.rule
    assert [r.rule for r in info.value.results if not r.passed] == [result.rule]
    assert client.get_model_version("churn", 1).aliases == []
