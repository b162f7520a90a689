"""Smoke test of the Airflow environment: Airflow imports and discovers the Lockgate provider."""

from __future__ import annotations

from importlib.metadata import entry_points, version


def test_airflow_discovers_the_lockgate_provider() -> None:
    import airflow
    import lockgate_airflow  # noqa: F401
    from airflow.providers_manager import ProvidersManager

    assert airflow.__version__.startswith("3.")
    names = {ep.value for ep in entry_points(group="apache_airflow_provider")}
    assert "lockgate_airflow.provider:get_provider_info" in names

    providers = ProvidersManager().providers
    assert "lockgate" in providers, sorted(providers)
    assert providers["lockgate"].version == version("lockgate")
    assert providers["lockgate"].data["name"] == "Lockgate"
