"""examples/dagster/retrain_churn.py end to end on real Dagster, scikit-learn and the registry."""

import importlib.util
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest
from lockgate import LockgateClient

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "dagster" / "retrain_churn.py"


@pytest.fixture
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("retrain_churn_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _materialize(example: ModuleType, instance: dg.DagsterInstance, **config: int) -> dg.ExecuteInProcessResult:
    run_config = dg.RunConfig(ops={"churn_model": example.TrainConfig(**config)}) if config else None
    return dg.materialize(
        [example.features, example.churn_model, example.scores, *example.gate_checks],
        instance=instance, resources=example.defs.resources, run_config=run_config, raise_on_error=False,
    )


def _steps(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    kinds = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}
    return {e.step_key: e.event_type_value for e in result.all_events if e.event_type_value in kinds}


def test_definitions_are_loadable(example: ModuleType) -> None:
    dg.Definitions.validate_loadable(example.defs)
    defs = example.defs
    assert defs.resolve_schedule_def("weekly_retrain").cron_schedule == "0 3 * * 1"
    assert defs.resolve_job_def("retrain_churn") is not None
    assert defs.resolve_sensor_def("lockgate_churn_model_champion_promoted") is not None
    check_keys = {spec.key for checks in example.gate_checks for spec in checks.check_specs}
    assert check_keys == {dg.AssetCheckKey(dg.AssetKey("churn_model"), "lockgate_gate_champion")}
    assert all(spec.blocking for checks in example.gate_checks for spec in checks.check_specs)


def test_first_model_is_promoted_and_a_worse_one_is_stopped_by_the_gate(
    example: ModuleType, instance: dg.DagsterInstance
) -> None:
    client = LockgateClient()  # the example uses the default store: SQLite in LOCKGATE_HOME
    cursor = max([e.id for e in client.get_events()], default=0)

    first = _materialize(example, instance)
    assert first.success
    assert _steps(first) == {"features": "STEP_SUCCESS", "churn_model": "STEP_SUCCESS",
                             "churn_model_lockgate_gate_champion": "STEP_SUCCESS", "scores": "STEP_SUCCESS"}
    (check,) = first.get_asset_check_evaluations()
    assert check.passed and check.metadata["lockgate/version"].value == 1
    assert check.metadata["lockgate/changed"].value is True
    assert check.metadata["lockgate/rules_failed"].value == 0
    champion = client.get_model_version_by_alias("churn_model", "champion")
    assert champion.version == 1
    scores = first.output_for_node("scores")
    assert len(scores) == 171 and set(scores["churn"]) <= {0, 1}

    second = _materialize(example, instance, feature_count=1)
    assert not second.success
    steps = _steps(second)
    assert steps["churn_model"] == "STEP_SUCCESS"
    assert steps["churn_model_lockgate_gate_champion"] == "STEP_FAILURE"
    assert "scores" not in steps or steps["scores"] == "STEP_SKIPPED"
    assert not [m for m in second.get_asset_materialization_events() if m.asset_key == dg.AssetKey("scores")]
    (refused,) = second.get_asset_check_evaluations()
    assert not refused.passed and refused.metadata["lockgate/version"].value == 2
    verdicts = {k[len("rule: "):]: v.value for k, v in refused.metadata.items() if k.startswith("rule: ")}
    assert len(verdicts) == 2
    threshold = next(v for k, v in verdicts.items() if k.startswith("val_auc >="))
    beats = next(v for k, v in verdicts.items() if "beats" in k)
    assert threshold["passed"] is True and beats["passed"] is False
    assert beats["observed"] < beats["expected"]
    assert refused.metadata["lockgate/rules_failed"].value == 1

    # the registry: two versions, the champion unchanged, every step in the audit trail
    versions = {v.version: v for v in client.search_model_versions(filter_string="name = 'churn_model'")}
    assert sorted(versions) == [1, 2]
    assert versions[1].tags["lockgate.dagster.run_id"] == first.run_id
    assert versions[2].tags["lockgate.dagster.run_id"] == second.run_id
    assert client.get_model_version_by_alias("churn_model", "champion").version == 1
    runs = {r.info.run_id: r for r in client.search_runs(["churn"])}
    assert {versions[1].run_id, versions[2].run_id} == set(runs)
    assert runs[versions[1].run_id].data.metrics["val_auc"] > runs[versions[2].run_id].data.metrics["val_auc"]
    assert runs[versions[2].run_id].data.params["feature_count"] == "1"
    events = [(e.type.value, e.version, e.alias) for e in client.get_events(after_id=cursor)
              if e.type.value in {"VERSION_CREATED", "ALIAS_SET", "GATE_REJECTED", "GATE_POLICY_SET"}]
    assert events == [
        ("VERSION_CREATED", 1, None),
        ("GATE_POLICY_SET", None, "champion"),
        ("ALIAS_SET", 1, "champion"),
        ("VERSION_CREATED", 2, None),
        ("GATE_REJECTED", 2, "champion"),
    ]

    # the sensor sees exactly one move of @champion and asks to re-score once
    sensor = example.defs.resolve_sensor_def("lockgate_churn_model_champion_promoted")
    with dg.build_sensor_context(instance=instance, resources=example.defs.resources,
                                 definitions=example.defs) as context:
        result = sensor(context)
    assert [r.tags["lockgate/version"] for r in result.run_requests] == ["1"]


def test_job_on_the_multiprocess_executor_and_reexecution_from_failure(instance: dg.DagsterInstance) -> None:
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    # Each step in its own process: the model is still logged into the run its asset opened.
    job = ReconstructableRepository.for_file(str(EXAMPLE), "defs").get_reconstructable_job("retrain_churn")
    first = dg.execute_job(job, instance=instance)
    assert first.success
    worse = dg.execute_job(job, instance=instance,
                           run_config={"ops": {"churn_model": {"config": {"feature_count": 1}}}})
    assert not worse.success
    again = dg.execute_job(job, instance=instance,
                           reexecution_options=dg.ReexecutionOptions.from_failure(worse.run_id, instance))
    assert not again.success
    steps = {e.step_key: e.event_type_value for e in again.all_events
             if e.event_type_value in {"STEP_SUCCESS", "STEP_FAILURE"}}
    assert steps == {"churn_model_lockgate_gate_champion": "STEP_FAILURE"}  # only the check re-ran

    client = LockgateClient()
    versions = list(client.search_model_versions(filter_string="name = 'churn_model'"))
    assert sorted(v.version for v in versions) == [1, 2]  # the re-execution registered nothing
    for version in versions:
        run = client.get_run(version.run_id)
        assert run.data.tags["lockgate.dagster.run_id"] == version.tags["lockgate.dagster.run_id"]
        assert run.data.metrics["val_auc"] > 0
    assert client.get_model_version_by_alias("churn_model", "champion").version == 1
    moves = [(e.type.value, e.version) for e in client.get_events()
             if e.type.value in {"ALIAS_SET", "GATE_REJECTED"}]
    assert moves == [("ALIAS_SET", 1), ("GATE_REJECTED", 2), ("GATE_REJECTED", 2)]
