"""Smoke test of the Dagster environment: an asset tracked by Lockgate, read back from the store."""

import dagster as dg
from lockgate import LockgateClient
from lockgate_dagster import LockgateResource


def test_an_asset_run_is_tracked_in_lockgate_with_its_dagster_identity(
    instance: dg.DagsterInstance, sqlite_uri: str
) -> None:
    @dg.asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @dg.asset
    def total(context: dg.AssetExecutionContext, lockgate: LockgateResource, numbers: list[int]) -> int:
        with lockgate.start_run(context):
            lockgate.log_param("count", len(numbers))
            lockgate.log_metric("total", float(sum(numbers)))
            return sum(numbers)

    result = dg.materialize([numbers, total], instance=instance,
                            resources={"lockgate": LockgateResource(tracking_uri=sqlite_uri)})

    assert result.success and result.output_for_node("total") == 6
    (run,) = LockgateClient(sqlite_uri).search_runs(["0"])
    assert run.info.status.value == "FINISHED"
    assert run.info.run_name == "total"
    assert run.data.metrics == {"total": 6.0}
    assert run.data.params == {"count": "3"}
    assert run.data.tags["lockgate.orchestrator"] == "dagster"
    assert run.data.tags["lockgate.dagster.run_id"] == result.run_id
    assert run.data.tags["lockgate.dagster.asset_key"] == "total"
