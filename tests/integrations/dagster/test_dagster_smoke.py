"""Smoke test of the Dagster environment: real assets materialize beside lockgate_dagster."""

from __future__ import annotations


def test_dagster_materializes_assets_beside_lockgate() -> None:
    import lockgate_dagster  # noqa: F401
    from dagster import asset, materialize

    @asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @asset
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    result = materialize([numbers, total])

    assert result.success
    assert result.output_for_node("total") == 6
