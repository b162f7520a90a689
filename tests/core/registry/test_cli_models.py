"""``lockgate models`` through Typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lockgate.cli.models import models_app
from registry_support import MakeRun, RegistryClient
from typer.testing import CliRunner

runner = CliRunner()


def _cli(uri: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(models_app, [*args, "--tracking-uri", uri], env={"LOCKGATE_USER": "cli-user",
                                                                            "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "rules:\n"
        "  - type: metric_threshold\n    metric: val_auc\n    min: 0.8\n"
        "  - type: beats_champion\n    metric: val_auc\n    margin: 0.005\n"
        "  - type: require_tags\n    tags: {validation: passed}\n"
    )
    return path


def test_models_cli_end_to_end(store_uri: str, make_run: MakeRun, policy_file: Path) -> None:
    code, out, _ = _cli(store_uri, "create", "churn", "--description", "Churn", "--tag", "team=risk")
    assert code == 0 and "Created registered model churn" in out
    code, out, _ = _cli(store_uri, "set-gate", "churn", "--alias", "champion", "--file", str(policy_file))
    assert code == 0 and "guarded by policy version 1 (3 rules)" in out

    good, weak = make_run({"val_auc": 0.86}), make_run({"val_auc": 0.7})
    code, out, _ = _cli(store_uri, "register", "churn", "--source", f"runs:/{good}/model", "--tag",
                        "validation=passed", "-o", "json")
    assert code == 0 and json.loads(out)["version"] == 1
    code, out, _ = _cli(store_uri, "register", "churn", "--source", f"runs:/{weak}/model", "-o", "json")
    assert json.loads(out)["version"] == 2

    code, out, _ = _cli(store_uri, "promote", "churn", "--version", "1", "--alias", "champion",
                        "--reason", "monthly retrain")
    assert code == 0, out
    assert "Promoted version 1 to @champion" in out
    assert "val_auc >= 0.8" in out and "pass" in out

    code, out, err = _cli(store_uri, "promote", "churn", "--version", "2", "--alias", "champion")
    assert code == 1
    assert "FAIL" in out and "val_auc=0.7 is below 0.8" in out and "validation is not set" in out
    assert "Gate failed" in err

    code, out, _ = _cli(store_uri, "promote", "churn", "--version", "2", "--alias", "champion", "--dry-run",
                        "-o", "json")
    assert code == 1 and json.loads(out)["passed"] is False
    assert [r["passed"] for r in json.loads(out)["results"]] == [False, False, False]

    code, out, err = _cli(store_uri, "promote", "churn", "--version", "2", "--alias", "champion", "--override")
    assert code == 1 and "needs a reason" in err
    code, out, _ = _cli(store_uri, "promote", "churn", "--version", "2", "--alias", "champion", "--override",
                        "--reason", "incident 42")
    assert code == 0 and "Overridden" in out

    code, out, _ = _cli(store_uri, "history", "churn", "-o", "json")
    events = json.loads(out)
    assert [(e["type"], e["from_version"], e["to_version"], e["override"], e["actor"]) for e in events] == [
        ("ALIAS_SET", None, 1, False, "cli-user"), ("GATE_REJECTED", 1, 2, False, "cli-user"),
        ("ALIAS_SET", 1, 2, True, "cli-user")]
    code, out, _ = _cli(store_uri, "history", "churn")
    assert code == 0 and "OVERRIDE" in out and "incident 42" in out

    code, out, _ = _cli(store_uri, "list", "-o", "json")
    (model,) = json.loads(out)["registered_models"]
    assert (model["name"], model["aliases"], model["tags"]) == ("churn", {"champion": 2}, {"team": "risk"})
    code, out, _ = _cli(store_uri, "search", "--filter", "name LIKE 'ch%'")
    assert code == 0 and "churn" in out and "champion=2" in out
    code, out, _ = _cli(store_uri, "versions", "churn", "-o", "json")
    assert [v["version"] for v in json.loads(out)] == [2, 1]
    code, out, _ = _cli(store_uri, "resolve", "models:/churn@champion")
    assert code == 0 and "churn version 2:" in out

    code, out, _ = _cli(store_uri, "show-gate", "churn", "--alias", "champion")
    assert code == 0 and out.startswith("# churn @champion, policy version 1, set by cli-user")
    assert "type: beats_champion" in out and "margin: 0.005" in out
    code, out, err = _cli(store_uri, "show-gate", "churn", "--stage", "Production")
    assert code == 1 and "No gate guards churn stage Production" in err
    code, out, _ = _cli(store_uri, "events", "--model", "churn", "--type", "ALIAS_SET", "-o", "json")
    assert [(e["to_version"], e["override"]) for e in json.loads(out)] == [(1, False), (2, True)]
    code, out, _ = _cli(store_uri, "events", "--after-id", str(json.loads(out)[0]["id"]))
    assert code == 0 and "GATE_REJECTED" in out and "MODEL_CREATED" not in out


def test_models_cli_approvals(store_uri: str, tmp_path: Path) -> None:
    client = RegistryClient(store_uri, user="alice")
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://b/m")
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"rules": [{"type": "require_approvals", "count": 1}]}))
    assert _cli(store_uri, "set-gate", "m", "--stage", "Production", "--file", str(policy))[0] == 0
    code, out, _ = _cli(store_uri, "promote", "m", "--version", "1", "--stage", "Production")
    assert code == 1 and "0 of 1 required approvals" in out
    code, out, _ = _cli(store_uri, "approve", "m", "--version", "1", "--comment", "ok")
    assert code == 0 and "cli-user approved m version 1" in out
    code, out, _ = _cli(store_uri, "promote", "m", "--version", "1", "--stage", "Production")
    assert code == 0 and "Promoted version 1 to stage Production" in out
    code, out, _ = _cli(store_uri, "promote", "m", "--version", "1", "--stage", "Production")
    assert code == 0 and "already holds" in out


def test_models_cli_bad_input(store_uri: str, tmp_path: Path) -> None:
    code, _, err = _cli(store_uri, "promote", "nope", "--version", "1", "--alias", "champion")
    assert code == 1 and "RESOURCE_DOES_NOT_EXIST" in err and "'nope' not found" in err
    assert _cli(store_uri, "create", "m")[0] == 0
    code, _, err = _cli(store_uri, "create", "m")
    assert code == 1 and "already exists" in err
    code, _, err = _cli(store_uri, "promote", "m", "--version", "x", "--alias", "champion")
    assert code == 1 and "Invalid model version 'x'" in err
    code, _, err = _cli(store_uri, "set-gate", "m", "--alias", "latest", "--file", str(tmp_path / "missing.yaml"))
    assert code == 1 and "Cannot read policy file" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - type: nonsense\n")
    code, _, err = _cli(store_uri, "set-gate", "m", "--alias", "prod", "--file", str(bad))
    assert code == 1 and "Malformed gate policy" in err and "rule types" in err
    code, _, err = _cli(store_uri, "create", "x", "--tag", "novalue")
    assert code == 1 and "expected key=value" in err
    code, _, err = _cli(store_uri, "list", "--filter", "bogus = 'x'")
    assert code == 1 and "unknown attribute 'bogus'" in err
    code, _, err = _cli(store_uri, "list", "-o", "xml")
    assert code == 2
