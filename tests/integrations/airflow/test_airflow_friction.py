"""Friction a new user hit: a templated cursor that rendered to "None", and links to the Lockgate UI."""

from __future__ import annotations

import pytest
from lockgate import LockgateClient
from lockgate.errors import InvalidArgument


@pytest.mark.parametrize("rendered", ["None", " none ", "null", ""])
def test_sensor_cursor_that_rendered_to_none_means_from_now_on(rendered: str, lockgate_conn: str) -> None:
    from lockgate_airflow.sensors import ModelVersionSensor

    client = LockgateClient(lockgate_conn)
    client.create_registered_model("watched")
    newest = client.get_events(after_id=0, model_name="watched")[-1].id
    sensor = ModelVersionSensor(
        task_id="wait", model_name="watched", after_event_id=rendered, lockgate_conn_id="lockgate_test"
    )
    assert sensor._start_cursor() == newest  # not an error, and not "every event since 0"


def test_sensor_cursor_that_is_not_an_event_id_is_refused(lockgate_conn: str) -> None:
    from lockgate_airflow.sensors import ModelVersionSensor

    LockgateClient(lockgate_conn).create_registered_model("watched")
    sensor = ModelVersionSensor(
        task_id="wait", model_name="watched", after_event_id="abc", lockgate_conn_id="lockgate_test"
    )
    with pytest.raises(InvalidArgument, match="after_event_id rendered to 'abc'"):
        sensor._start_cursor()


def test_ui_links_point_at_the_servers_pages_and_nowhere_for_an_embedded_store() -> None:
    from lockgate_airflow.links import model_version_url, run_url

    assert run_url("https://lockgate.example.com/", "ab12") == "https://lockgate.example.com/runs/ab12"
    assert (
        model_version_url("http://127.0.0.1:5000", "churn model", 3)
        == "http://127.0.0.1:5000/models/churn%20model/versions/3"
    )
    assert run_url("sqlite:////tmp/lockgate.db", "ab12") is None
    assert model_version_url("postgresql+psycopg://db/lockgate", "churn", 1) is None


def test_operators_declare_their_links() -> None:
    from lockgate_airflow.decorators.lockgate import LockgateDecoratedOperator
    from lockgate_airflow.operators import (
        BatchPredictOperator,
        PromoteModelOperator,
        RegisterModelOperator,
    )
    from lockgate_airflow.provider import get_provider_info

    def names(cls: type) -> list[str]:
        return [link.name for link in cls.operator_extra_links]  # type: ignore[attr-defined]

    assert names(LockgateDecoratedOperator) == ["Lockgate run"]
    assert names(RegisterModelOperator) == ["Lockgate run", "Lockgate model version"]
    assert names(PromoteModelOperator) == ["Lockgate model version"]
    assert names(BatchPredictOperator) == ["Lockgate model version"]
    assert get_provider_info()["extra-links"] == [
        "lockgate_airflow.links.LockgateRunLink", "lockgate_airflow.links.LockgateModelVersionLink",
    ]
