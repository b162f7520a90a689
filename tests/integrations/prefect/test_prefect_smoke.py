"""Smoke test of the Prefect session: a tracked flow on a real (temporary) Prefect server records
its Lockgate run, with the metric it logged and the Prefect identifiers, read back from the store."""

from __future__ import annotations


def test_a_tracked_flow_records_its_run_with_prefect_identifiers() -> None:
    import lockgate
    from lockgate_prefect import tracked
    from prefect import flow
    from prefect.runtime import flow_run
    from prefect.testing.utilities import prefect_test_harness

    @flow
    @tracked(experiment="prefect-smoke")
    def train() -> tuple[str, str]:
        lockgate.log_metric("loss", 0.25, step=3)
        active = lockgate.active_run()
        assert active is not None
        return active.info.run_id, str(flow_run.id)

    # The temporary server can take well over Prefect's default 30 s on a busy 2-core box.
    with prefect_test_harness(server_startup_timeout=180):
        run_id, flow_run_id = train()

    run = lockgate.LockgateClient().get_run(run_id)
    assert run.info.status.value == "FINISHED"
    assert run.data.metrics["loss"] == 0.25
    assert run.data.tags["lockgate.prefect.flow_run_id"] == flow_run_id
    assert lockgate.LockgateClient().get_metric_history(run_id, "loss")[0].step == 3
