"""The core helpers every surface shares: register-or-create, connections, tag lookups, verdicts."""

from __future__ import annotations

import pytest
from lockgate import LockgateClient
from lockgate.connection import ConnectionSettings, connect
from lockgate.errors import InvalidArgument
from lockgate.registry.entities import GateTarget, RuleResult
from lockgate.registry.verdicts import verdict_lines, verdict_markdown_table, verdict_rows
from lockgate.search import parse_run_filter, tags_filter
from pydantic import SecretStr


def test_register_model_creates_the_model_once(sqlite_uri: str) -> None:
    client = LockgateClient(sqlite_uri)
    run = client.create_run(client.get_or_create_experiment("e").experiment_id)
    first = client.register_model("churn", source=f"runs:/{run.info.run_id}/a", run_id=run.info.run_id)
    second = client.register_model("churn", source=f"runs:/{run.info.run_id}/b", run_id=run.info.run_id)
    assert (first.version, second.version) == (1, 2)
    assert client.get_registered_model("churn").name == "churn"
    assert second.source == f"runs:/{run.info.run_id}/b"


def test_connect_builds_a_client_with_its_own_settings(sqlite_uri: str) -> None:
    client = connect(ConnectionSettings(tracking_uri=sqlite_uri, user="ada", token=SecretStr("t0k")))
    assert client.tracking_uri == sqlite_uri
    assert client.user == "ada"
    assert ConnectionSettings(token=SecretStr("")).token_value() is None
    assert ConnectionSettings().resolved_tracking_uri().startswith("sqlite:///")


def test_tags_filter_quotes_keys_and_values_and_finds_the_run(sqlite_uri: str) -> None:
    tags = {"lockgate.dagster/asset key": "it's \\ `here`", "plain": "x"}
    comparisons = parse_run_filter(tags_filter(tags))
    assert [(c.key, c.value) for c in comparisons] == list(tags.items())
    client = LockgateClient(sqlite_uri)
    experiment_id = client.get_or_create_experiment("e").experiment_id
    wanted = client.create_run(experiment_id, tags=tags)
    client.create_run(experiment_id, tags={"plain": "x"})
    found = client.search_runs_by_tags([experiment_id], tags)
    assert [r.info.run_id for r in found] == [wanted.info.run_id]


def test_gate_target_needs_exactly_one_of_alias_or_stage() -> None:
    assert GateTarget.of(alias="champion") == GateTarget(kind="alias", name="champion")
    assert GateTarget.of(stage="production") == GateTarget(kind="stage", name="Production")
    for kwargs in ({}, {"alias": "a", "stage": "Staging"}):
        with pytest.raises(InvalidArgument, match="exactly one target"):
            GateTarget.of(**kwargs)  # type: ignore[arg-type]


def test_verdicts_render_the_same_rows_everywhere() -> None:
    results = [
        RuleResult(rule="val_auc >= 0.8", passed=False, observed=0.7512355, expected=0.8, message="too low"),
        {"rule": "tags", "passed": True, "observed": {"validation": "passed"}, "expected": None},
    ]
    rows = verdict_rows(results)
    assert rows == [
        {"rule": "val_auc >= 0.8", "verdict": "FAIL", "observed": "0.751235", "expected": "0.8",
         "message": "too low"},
        {"rule": "tags", "verdict": "pass", "observed": "validation=passed", "expected": "-", "message": ""},
    ]
    table = verdict_markdown_table(results)
    assert table.splitlines()[0] == "| rule | verdict | observed | expected | message |"
    assert "| val_auc >= 0.8 | FAIL | 0.751235 | 0.8 | too low |" in table
    assert verdict_lines(results)[0] == "[FAIL] val_auc >= 0.8: too low (observed=0.751235, expected=0.8)"
    assert verdict_lines([]) == ["(no gate rules for this target)"]
    assert verdict_markdown_table([]).startswith("No gate policy")
