"""The provider's metadata and LockgateHook against real Airflow connections."""

from __future__ import annotations

import json
import socket
import time

import pytest
from lockgate.errors import InvalidArgument, NotFound, ServiceUnavailable


def test_provider_info_is_discovered_by_airflow() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "lockgate" in manager.providers
    info = manager.providers["lockgate"].data
    assert info["package-name"] == "lockgate"
    assert {"name": "lockgate", "class-name": "lockgate_airflow.decorators.lockgate.lockgate_task"} in info[
        "task-decorators"
    ]
    hook = manager.hooks["lockgate"]
    assert hook is not None
    assert hook.hook_class_name == "lockgate_airflow.hooks.lockgate.LockgateHook"
    assert hook.connection_id_attribute_name == "lockgate_conn_id"
    assert hook.hook_name == "Lockgate"
    widgets = manager.connection_form_widgets
    assert "extra__lockgate__tracking_uri" in widgets
    assert widgets["extra__lockgate__tracking_uri"].field["schema"]["title"] == "Tracking URI"
    behaviour = manager.field_behaviours["lockgate"]
    assert behaviour["relabeling"] == {"host": "Server URL", "password": "API token"}


def test_listener_plugin_is_registered_by_entry_point() -> None:
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "lockgate"]
    plugin = entry.load()
    from lockgate_airflow import listeners

    assert plugin.listeners == [listeners]


def test_default_connection_may_be_absent_and_uses_the_embedded_store(lockgate_home) -> None:  # type: ignore[no-untyped-def]
    from lockgate_airflow.hooks import LockgateHook

    hook = LockgateHook()
    assert hook.tracking_uri == f"sqlite:///{lockgate_home / 'lockgate.db'}"
    client = hook.get_conn()
    experiment_id = client.create_experiment("from-hook")
    assert client.get_experiment(experiment_id).name == "from-hook"
    assert hook.test_connection() == (True, f"Connected to {hook.tracking_uri}")


def test_connection_tracking_uri_is_used(lockgate_conn: str) -> None:
    from lockgate_airflow.hooks import LockgateHook

    hook = LockgateHook("lockgate_test")
    assert hook.tracking_uri == lockgate_conn
    hook.get_conn().create_experiment("via-connection")
    from lockgate import LockgateClient

    assert LockgateClient(lockgate_conn).get_experiment_by_name("via-connection") is not None


def test_server_url_and_token_come_from_host_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from lockgate_airflow.hooks import LockgateHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_LG_SERVER",
        json.dumps({"conn_type": "lockgate", "host": "lockgate.internal", "schema": "https", "port": 8443,
                    "password": "s3cret"}),
    )
    hook = LockgateHook("lg_server")
    assert hook.tracking_uri == "https://lockgate.internal:8443"
    assert hook.token == "s3cret"


def test_missing_named_connection_is_a_clear_error() -> None:
    from lockgate_airflow.hooks import LockgateHook

    with pytest.raises(NotFound, match=r"Airflow connection 'no_such_conn' does not exist.*airflow connections add"):
        LockgateHook("no_such_conn").get_conn()


def test_connection_of_another_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from lockgate_airflow.hooks import LockgateHook

    monkeypatch.setenv("AIRFLOW_CONN_SOME_HTTP", json.dumps({"conn_type": "http", "host": "example.org"}))
    with pytest.raises(InvalidArgument, match="has type 'http'; LockgateHook needs a connection of type 'lockgate'"):
        LockgateHook("some_http").get_conn()


def test_bad_retries_extra_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from lockgate_airflow.hooks import LockgateHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_LG_BAD", json.dumps({"conn_type": "lockgate", "extra": {"tracking_uri": "http://x", "retries": "many"}})
    )
    with pytest.raises(InvalidArgument, match="extra 'retries' must be a number, got 'many'"):
        LockgateHook("lg_bad").get_conn()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_fails_clearly_after_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from lockgate_airflow.hooks import LockgateHook

    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv(
        "AIRFLOW_CONN_LG_DOWN", json.dumps({"conn_type": "lockgate", "extra": {"tracking_uri": url, "retries": 2}})
    )
    hook = LockgateHook("lg_down", retry_delay=0.1)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match=rf"Lockgate server {url} is unreachable after 3 attempts \(connection 'lg_down'\)"):
        hook.get_conn()
    assert time.monotonic() - started >= 0.3  # 0.1 + 0.2 s of backoff: it did retry
    ok, message = hook.test_connection()
    assert not ok and "unreachable" in message


def test_missing_connection_and_nonsense_experiment_fail_the_task(task_states, capfd) -> None:  # type: ignore[no-untyped-def]
    from lg_bad_input import missing_conn_dag

    dag_run = missing_conn_dag.test()
    assert task_states(dag_run) == {"uses_missing_conn": "failed", "nonsense_experiment": "failed"}
    out = capfd.readouterr()
    log = out.out + out.err
    assert "Airflow connection 'no_such_conn' does not exist" in log
    assert "@task.lockgate experiment rendered to 'None'" in log
    assert "must not run" not in log


def test_operators_take_keyword_arguments_only() -> None:
    from lockgate_airflow.operators import (
        BatchPredictOperator,
        PromoteModelOperator,
        RegisterModelOperator,
    )
    from lockgate_airflow.sensors import ModelVersionSensor

    with pytest.raises(TypeError):
        RegisterModelOperator("register", "churn", "abc")  # type: ignore[misc]
    with pytest.raises(InvalidArgument, match="Name exactly one target"):
        PromoteModelOperator(task_id="p", model_name="churn", version=1)
    assert RegisterModelOperator.template_fields == ("model_name", "run_id", "artifact_path", "tags", "description")
    assert set(PromoteModelOperator.template_fields) == {"model_name", "version", "alias", "stage", "reason"}
    assert set(ModelVersionSensor.template_fields) == {"model_name", "alias", "after_event_id"}
    assert set(BatchPredictOperator.template_fields) == {"model_uri", "input_path", "output_path"}
