"""The model-alias asset watcher: its trigger over a real registry, its asset, its DAG serialization."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest


def _registry(uri: str) -> Any:
    from lockgate import LockgateClient

    client = LockgateClient(uri)
    client.create_registered_model("churn")
    client.create_registered_model("fraud")
    for name in ("churn", "churn", "fraud"):
        client.create_model_version(name, source=f"s3://models/{name}")
    return client


async def _next(events: AsyncIterator[Any], timeout: float = 30) -> dict[str, Any]:
    event = await asyncio.wait_for(anext(events), timeout)
    payload: dict[str, Any] = event.payload
    return payload


def test_trigger_yields_each_move_of_its_alias_only(lockgate_conn: str) -> None:
    from lockgate_airflow.triggers import ModelAliasEventTrigger

    client = _registry(lockgate_conn)
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_registered_model_alias("churn", "challenger", 2)  # another alias: ignored
    client.set_registered_model_alias("fraud", "champion", 1)  # another model: ignored
    trigger = ModelAliasEventTrigger(model_name="churn", alias="champion", lockgate_conn_id="lockgate_test",
                                     poll_interval=0.05, after_event_id=0)

    async def watch() -> list[dict[str, Any]]:
        events = trigger.run()
        try:
            first = await _next(events)
            await asyncio.to_thread(client.set_registered_model_alias, "churn", "challenger", 1)
            await asyncio.to_thread(client.set_registered_model_alias, "churn", "champion", 2)
            second = await _next(events)
            return [first, second]
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    first, second = asyncio.run(watch())
    moves = [e for e in client.get_events(model_name="churn", types=["ALIAS_SET"]) if e.alias == "champion"]
    assert [first["event_id"], second["event_id"]] == [e.id for e in moves]
    assert {k: first[k] for k in ("type", "model_name", "alias", "version", "from_version")} == {
        "type": "ALIAS_SET", "model_name": "churn", "alias": "champion", "version": 1, "from_version": None}
    assert (second["version"], second["from_version"], second["actor"]) == (2, 1, client.user)


def test_a_new_watcher_starts_after_the_newest_event(lockgate_conn: str) -> None:
    from lockgate_airflow.triggers import ModelAliasEventTrigger

    client = _registry(lockgate_conn)
    client.set_registered_model_alias("churn", "champion", 1)  # before the watcher: not an event for it
    trigger = ModelAliasEventTrigger(model_name="churn", alias="champion", lockgate_conn_id="lockgate_test",
                                     poll_interval=0.05)

    async def watch() -> dict[str, Any]:
        events = trigger.run()
        try:
            pending = asyncio.ensure_future(_next(events))
            await asyncio.sleep(1.0)  # the watcher reads the head and polls a few times
            assert not pending.done()
            await asyncio.to_thread(client.set_registered_model_alias, "churn", "champion", 2)
            return await pending
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    assert asyncio.run(watch())["version"] == 2


def test_an_unreachable_registry_is_logged_and_retried(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    from lockgate_airflow.triggers import ModelAliasEventTrigger

    monkeypatch.setenv("AIRFLOW_CONN_LG_DOWN", json.dumps(
        {"conn_type": "lockgate", "host": "http://127.0.0.1:9", "extra": {"retries": 0}}))
    trigger = ModelAliasEventTrigger(model_name="churn", alias="champion", lockgate_conn_id="lg_down",
                                     poll_interval=0.05)

    async def watch() -> None:
        events = trigger.run()
        with pytest.raises(TimeoutError):
            await _next(events, timeout=1.5)  # still watching: a watcher outlives an outage
        await events.aclose()  # type: ignore[attr-defined]

    with caplog.at_level("WARNING", logger="lockgate_airflow.triggers.model_alias"):
        asyncio.run(watch())
    warnings = [r.getMessage() for r in caplog.records if "reading the registry failed" in r.getMessage()]
    assert len(warnings) >= 2
    assert "Lockgate watcher models:/churn@champion" in warnings[0] and "http://127.0.0.1:9" in warnings[0]


def test_asset_serializes_with_its_watcher_in_a_dag() -> None:
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization
    from lockgate_airflow.assets import model_alias_asset, promotion_of
    from lockgate_airflow.triggers import ModelAliasEventTrigger

    asset = model_alias_asset("churn", "champion", lockgate_conn_id="lg_prod", poll_interval=10)
    assert asset.uri == asset.name == "lockgate://models/churn@champion"
    (watcher,) = asset.watchers
    assert isinstance(watcher.trigger, ModelAliasEventTrigger)
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "lockgate_airflow.triggers.model_alias.ModelAliasEventTrigger"
    assert ModelAliasEventTrigger(**kwargs).serialize() == (classpath, kwargs)

    dag = DAG("deploy_churn", schedule=[asset], start_date=datetime.datetime(2024, 1, 1))
    serialized = json.dumps(DagSerialization.to_dict(dag))
    assert "lockgate://models/churn@champion" in serialized and classpath in serialized

    with pytest.raises(ValueError, match="not emitted by a Lockgate alias watcher"):
        promotion_of(type("Event", (), {"extra": {"from_trigger": True, "payload": {"x": 1}}})())


def test_provider_registers_the_trigger_module() -> None:
    from lockgate_airflow.provider import get_provider_info

    (triggers,) = get_provider_info()["triggers"]
    assert "lockgate_airflow.triggers.model_alias" in triggers["python-modules"]
