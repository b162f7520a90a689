"""build_promotion_sensor against the real registry event log, evaluated by Dagster."""

import json

import dagster as dg
import pytest
from lockgate import LockgateClient
from lockgate.errors import GateFailed, InvalidArgument, ServiceUnavailable
from lockgate.webhooks.payload import event_payload
from lockgate_dagster import LockgateResource, build_promotion_sensor, promotion_payload


@dg.asset
def scores() -> int:
    return 1


def _tick(sensor: dg.SensorDefinition, uri: str, cursor: str | None, instance: dg.DagsterInstance):
    with dg.build_sensor_context(instance=instance, cursor=cursor,
                                 resources={"lockgate": LockgateResource(tracking_uri=uri)}) as context:
        return sensor(context)


@pytest.fixture
def registry(sqlite_uri: str) -> LockgateClient:
    client = LockgateClient(sqlite_uri)
    client.create_registered_model("churn")
    client.create_registered_model("other")
    for n in range(3):
        client.create_model_version("churn", source=f"file:///models/churn/{n}")
    client.create_model_version("other", source="file:///models/other/0")
    return client


def test_each_alias_move_is_seen_once_through_the_cursor(
    registry: LockgateClient, sqlite_uri: str, instance: dg.DagsterInstance
) -> None:
    sensor = build_promotion_sensor(model_name="churn", alias="champion", target=[scores])
    assert sensor.name == "lockgate_churn_champion_promoted"
    idle = _tick(sensor, sqlite_uri, None, instance)
    assert isinstance(idle, dg.SkipReason)

    registry.set_registered_model_alias("churn", "champion", 1)
    first = _tick(sensor, sqlite_uri, None, instance)
    (request,) = first.run_requests
    move = [e for e in registry.get_events() if e.type.value == "ALIAS_SET"][-1]
    assert request.tags == {"lockgate/model_name": "churn", "lockgate/alias": "champion",
                            "lockgate/version": "1", "lockgate/event_id": str(move.id),
                            "lockgate/event_type": "alias.set",
                            "lockgate/payload": json.dumps(event_payload(move), sort_keys=True)}
    assert request.run_key == f"lockgate:churn@champion:{move.id}"
    assert first.cursor == str(move.id)

    # the same cursor again: nothing new, nothing requested twice
    again = _tick(sensor, sqlite_uri, first.cursor, instance)
    assert isinstance(again, dg.SkipReason)

    # two moves between ticks: one run, for the version that holds the alias now
    registry.set_registered_model_alias("churn", "champion", 2)
    registry.set_registered_model_alias("churn", "champion", 3)
    later = _tick(sensor, sqlite_uri, first.cursor, instance)
    assert [r.tags["lockgate/version"] for r in later.run_requests] == ["3"]
    assert int(later.cursor) > int(first.cursor)


def test_other_aliases_models_and_deletions_advance_the_cursor_without_runs(
    registry: LockgateClient, sqlite_uri: str, instance: dg.DagsterInstance
) -> None:
    sensor = build_promotion_sensor(model_name="churn", alias="champion", target=[scores])
    registry.set_registered_model_alias("churn", "challenger", 2)
    registry.set_registered_model_alias("other", "champion", 1)
    registry.set_registered_model_alias("churn", "champion", 1)
    registry.delete_registered_model_alias("churn", "champion")
    result = _tick(sensor, sqlite_uri, None, instance)
    assert not result.run_requests
    last_alias_event = [e for e in registry.get_events() if e.type.value.startswith("ALIAS_")][-1]
    assert result.cursor == str(last_alias_event.id)


def test_sensor_in_definitions_evaluates_through_the_daemon_path(
    registry: LockgateClient, sqlite_uri: str, instance: dg.DagsterInstance
) -> None:
    sensor = build_promotion_sensor(model_name="churn", alias="champion", target=[scores])
    defs = dg.Definitions(assets=[scores], sensors=[sensor],
                          resources={"lockgate": LockgateResource(tracking_uri=sqlite_uri)})
    dg.Definitions.validate_loadable(defs)
    registry.set_registered_model_alias("churn", "champion", 2)
    with dg.build_sensor_context(instance=instance, definitions=defs,
                                 resources={"lockgate": LockgateResource(tracking_uri=sqlite_uri)}) as context:
        data = defs.resolve_sensor_def(sensor.name).evaluate_tick(context)
    assert [r.tags["lockgate/version"] for r in data.run_requests] == ["2"]
    assert data.cursor is not None and int(data.cursor) > 0


def test_a_gated_promotion_hands_the_webhook_payload_to_the_run_it_requests(
    registry: LockgateClient, sqlite_uri: str, instance: dg.DagsterInstance
) -> None:
    registry.set_gate_policy("churn", alias="champion",
                             policy={"rules": [{"type": "require_tags", "tags": {"validated": "yes"}}]})
    with pytest.raises(GateFailed):  # a refusal moves nothing, so it requests no run
        registry.promote("churn", version=2, alias="champion")
    registry.set_model_version_tag("churn", 2, "validated", "yes")
    registry.promote("churn", version=2, alias="champion", reason="validated")
    sensor = build_promotion_sensor(model_name="churn", alias="champion", target=[scores])
    (request,) = _tick(sensor, sqlite_uri, None, instance).run_requests
    move = [e for e in registry.get_events() if e.type.value == "ALIAS_SET"][-1]
    assert request.tags["lockgate/event_type"] == "model_version.promoted"

    seen: dict[str, object] = {}

    @dg.asset(name="scores")
    def reads_payload(context: dg.AssetExecutionContext) -> int:
        seen.update(promotion_payload(context) or {})
        return 1

    result = dg.materialize([reads_payload], instance=instance, tags=request.tags)
    assert result.success
    assert seen == event_payload(move)  # the JSON a webhook for this event receives
    assert seen["type"] == "model_version.promoted" and seen["types"] == ["model_version.promoted", "alias.set"]
    assert seen["event_id"] == move.id and seen["model"] == "churn" and seen["version"] == 2
    assert seen["actor"] == registry.user and seen["reason"] == "validated"
    evidence = seen["evidence"]
    assert isinstance(evidence, dict) and evidence["passed"] is True
    assert [r["passed"] for r in evidence["results"]] == [True]
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and promotion_payload(run) == seen


def test_bad_cursor_and_unreachable_server_are_clear_errors(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    sensor = build_promotion_sensor(model_name="churn", alias="champion", target=[scores])
    with pytest.raises(InvalidArgument, match="not an event id"):
        _tick(sensor, sqlite_uri, "yesterday", instance)
    with pytest.raises(ServiceUnavailable, match="127.0.0.1:9"):
        _tick(sensor, "postgresql+psycopg://postgres@127.0.0.1:9/nothing", None, instance)
