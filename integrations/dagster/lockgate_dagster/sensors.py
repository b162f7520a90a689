"""``build_promotion_sensor``: run Dagster targets when a registered model's alias moves.

```python
build_promotion_sensor(model_name="churn_model", alias="champion", target=[scores])
```

The sensor reads the registry's append-only event log after the id kept in Dagster's sensor
cursor, so each move is seen exactly once however often the sensor ticks, and a move made
while the daemon was down is still seen on the next tick. When several moves of the alias
arrive in one tick only the newest gets a run (earlier holders are no longer current); the
run key is the event id, so Dagster never launches two runs for one move.

Each requested run carries the move's webhook payload (``lockgate.webhooks.payload.event_payload``,
the JSON body a webhook for the same event would receive) as the run tag ``lockgate/payload``;
``promotion_payload(context)`` reads it back in the run's assets or ops.
"""

# No `from __future__ import annotations`: Dagster reads the sensor's context annotation at runtime.
import json
from typing import Any

import dagster as dg
from lockgate.errors import InvalidArgument
from lockgate.webhooks.payload import event_payload

from lockgate_dagster.connection import unreachable_as_error

__all__ = ["PROMOTION_PAYLOAD_TAG", "PROMOTION_TAG_PREFIX", "build_promotion_sensor", "promotion_payload"]

#: Tags on requested runs: lockgate/model_name, lockgate/alias, lockgate/version, lockgate/event_id,
#: lockgate/event_type (the webhook type) and lockgate/payload.
PROMOTION_TAG_PREFIX = "lockgate/"
#: The run tag holding the webhook payload of the move, as JSON.
PROMOTION_PAYLOAD_TAG = PROMOTION_TAG_PREFIX + "payload"
_PAGE = 500


def build_promotion_sensor(
    *,
    model_name: str,
    alias: str,
    target: Any,
    name: str | None = None,
    resource_key: str = "lockgate",
    minimum_interval_seconds: int = 30,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor requesting a run of ``target`` each time ``alias`` of ``model_name`` moves to a version.

    ``target`` is anything ``dg.sensor(target=...)`` accepts (assets, a selection, a job). The
    sensor needs a ``LockgateResource`` under ``resource_key``.
    """
    sensor_name = name or "lockgate_" + "".join(c if c.isalnum() else "_" for c in f"{model_name}_{alias}") + "_promoted"

    @dg.sensor(
        name=sensor_name,
        target=target,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        required_resource_keys={resource_key},
        description=f"Runs when alias {alias!r} of model {model_name!r} moves to a new version.",
    )
    def _sensor(context: dg.SensorEvaluationContext, **resources: Any) -> dg.SensorResult | dg.SkipReason:
        # Called directly (tests), Dagster passes required resources as keyword arguments.
        lockgate = resources.get(resource_key) or getattr(context.resources, resource_key)
        cursor = _parse_cursor(context.cursor)
        client = lockgate.get_client()
        newest = None
        last_id = cursor
        with unreachable_as_error(lockgate.resolved_tracking_uri()):
            for event in client.iter_events(after_id=cursor, model_name=model_name,
                                            types=["ALIAS_SET", "ALIAS_DELETED"], page_size=_PAGE):
                last_id = max(last_id, int(event.id))
                if event.alias != alias:
                    continue
                moved_to = event.to_version if event.to_version is not None else event.version
                if event.type.value == "ALIAS_SET" and moved_to != event.from_version:
                    newest = event
                elif event.type.value == "ALIAS_DELETED":
                    newest = None
        if newest is None:
            if last_id == cursor:
                return dg.SkipReason(f"No moves of {model_name}@{alias} after event {cursor}.")
            return dg.SensorResult(
                skip_reason=dg.SkipReason(f"Events up to {last_id} seen; none moved {model_name}@{alias}."),
                cursor=str(last_id),
            )
        version = newest.to_version if newest.to_version is not None else newest.version
        payload = event_payload(newest)
        request = dg.RunRequest(
            run_key=f"lockgate:{model_name}@{alias}:{newest.id}",
            tags={
                PROMOTION_TAG_PREFIX + "model_name": model_name,
                PROMOTION_TAG_PREFIX + "alias": alias,
                PROMOTION_TAG_PREFIX + "version": str(version),
                PROMOTION_TAG_PREFIX + "event_id": str(newest.id),
                PROMOTION_TAG_PREFIX + "event_type": payload["type"],
                PROMOTION_PAYLOAD_TAG: json.dumps(payload, sort_keys=True),
            },
        )
        return dg.SensorResult(run_requests=[request], cursor=str(last_id))

    return _sensor


def promotion_payload(context: Any) -> dict[str, Any] | None:
    """The webhook payload of the move that requested this run (``context`` is an asset or op
    context, or a ``DagsterRun``), or None for a run the promotion sensor did not request."""
    run = getattr(context, "run", context)
    raw = run.tags.get(PROMOTION_PAYLOAD_TAG)
    return json.loads(raw) if raw else None


def _parse_cursor(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(
            f"The sensor cursor {raw!r} is not an event id; reset the sensor's cursor in the Dagster UI."
        ) from None
    return max(value, 0)
