"""``ModelVersionSensor``: wait for a new model version, or for an alias to move."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from lockgate_airflow.operators.base import LockgateOperatorMixin, rendered_name
from lockgate_airflow.triggers.model_version import ModelVersionTrigger, match_event
from lockgate_airflow.version_compat import AirflowFailException, BaseSensorOperator

__all__ = ["ModelVersionSensor"]

#: What a template renders to when the value it reads is missing, e.g. an XCom never pushed.
_MISSING = {"", "none", "null"}


def _absent(value: object) -> bool:
    """No cursor given: None, or a template that rendered a missing value as text ("None")."""
    return value is None or (isinstance(value, str) and value.strip().lower() in _MISSING)


class ModelVersionSensor(LockgateOperatorMixin, BaseSensorOperator):
    """Wait until a model gets a new version (or ``alias`` is set); XCom: that version number.

    It reads the registry's append-only event log after a cursor: ``after_event_id`` if
    given (templated, e.g. the ``event_id`` XCom of an earlier sensor), otherwise the newest
    event when the sensor starts, so only changes from then on count. A template that renders
    to ``"None"`` (the XCom it reads was never pushed) counts as not given. Works in ``poke``
    mode and deferrable (``deferrable=True``: the wait runs in the triggerer). In
    ``reschedule`` mode pass ``after_event_id``, since each reschedule starts afresh.
    The matching event's id is pushed under the XCom key ``event_id``.

    :param model_name: registered model to watch (templated).
    :param alias: wait for this alias to be set instead of for a new version (templated).
    :param after_event_id: only events after this id count (templated).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param lockgate_conn_id: the ``lockgate`` Airflow connection.
    """

    template_fields: Sequence[str] = ("model_name", "alias", "after_event_id")
    ui_color = "#e8f6f3"

    def __init__(
        self,
        *,
        model_name: str,
        alias: str | None = None,
        after_event_id: int | str | None = None,
        deferrable: bool = False,
        lockgate_conn_id: str = "lockgate_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.alias = alias
        self.after_event_id = after_event_id
        self.deferrable = deferrable
        self.lockgate_conn_id = lockgate_conn_id
        self._cursor: int | None = None

    def _start_cursor(self) -> int:
        if self._cursor is not None:
            return self._cursor
        name = rendered_name("model_name", self.model_name)
        client = self.hook.get_conn()
        client.get_registered_model(name)  # NotFound for an unknown model, at once
        if not _absent(self.after_event_id):
            value = self.after_event_id
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                from lockgate.errors import InvalidArgument

                raise InvalidArgument(f"after_event_id rendered to {self.after_event_id!r}, not an event id.")
            self._cursor = value
        else:
            self._cursor = client.get_latest_event_id(model_name=name)
        return self._cursor

    def poke(self, context: Any) -> bool:
        cursor = self._start_cursor()
        name = rendered_name("model_name", self.model_name)
        alias = rendered_name("alias", self.alias) if self.alias is not None else None
        found, self._cursor = match_event(self.hook.get_conn(), model_name=name, alias=alias, after_event_id=cursor)
        if found is None:
            self.log.info("No matching %s event after id %s yet", name, cursor)
            return False
        self._found = found
        return True

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            super().execute(context)
            return self._complete(context, self._found)
        cursor = self._start_cursor()
        self.defer(
            trigger=ModelVersionTrigger(
                model_name=rendered_name("model_name", self.model_name),
                alias=rendered_name("alias", self.alias) if self.alias is not None else None,
                after_event_id=cursor,
                poll_interval=float(self.poke_interval),
                lockgate_conn_id=self.lockgate_conn_id,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)) if self.timeout else None,
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "the trigger ended without an event")
            raise AirflowFailException(f"ModelVersionSensor for {self.model_name!r} failed: {message}")
        return self._complete(context, event)

    def _complete(self, context: Any, found: dict[str, Any]) -> Any:
        self.log.info("Saw %s", found)
        context["ti"].xcom_push(key="event_id", value=found["event_id"])
        return found["version"]
