"""Smoke test of the Prefect environment: a real flow runs against a temporary Prefect server."""

from __future__ import annotations


def test_prefect_runs_a_flow_beside_lockgate() -> None:
    import lockgate_prefect  # noqa: F401
    from prefect import flow, task
    from prefect.testing.utilities import prefect_test_harness

    @task
    def square(value: int) -> int:
        return value * value

    @flow
    def total(values: list[int]) -> int:
        return sum(square(v) for v in values)

    # The temporary server can take well over Prefect's default 30 s on a busy 2-core box.
    with prefect_test_harness(server_startup_timeout=180):
        assert total([1, 2, 3]) == 14
