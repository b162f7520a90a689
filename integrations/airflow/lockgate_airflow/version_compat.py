"""Every difference between supported Airflow versions (3.0 up to 3.3), in one place.

Provider modules import Airflow names from here, never from ``airflow`` directly, so a
future move of a class touches this file only. Airflow 3.1 moved the authoring bases
(``BaseHook``, ``BaseSensorOperator``) into ``airflow.sdk``; 3.0 kept some of them in
core modules.
"""

from __future__ import annotations

from typing import Any

from airflow import __version__ as _airflow_version
from packaging.version import Version

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowPlugin",
    "AirflowSkipException",
    "Asset",
    "AssetWatcher",
    "BaseEventTrigger",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "DecoratedOperator",
    "PythonOperator",
    "TriggerEvent",
    "conf_get",
    "conf_getboolean",
    "get_current_context",
    "hookimpl",
    "in_server_process",
    "plain_attribute",
    "release_thread_session",
    "task_decorator_factory",
    "task_logical_date",
    "watcher_state",
]

AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= Version("3.1.0")
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= Version("3.2.0")

if AIRFLOW_VERSION < Version("3.0.0"):  # pragma: no cover - refused at import
    raise ImportError(
        f"lockgate_airflow needs Apache Airflow 3.0 or newer; this is Airflow {_airflow_version}. "
        "Upgrade with: pip install 'lockgate[airflow]'"
    )

from airflow.sdk import Asset, AssetWatcher, BaseOperator, BaseOperatorLink, get_current_context

if AIRFLOW_V_3_1_PLUS:
    from airflow.sdk import BaseHook, BaseSensorOperator
else:  # pragma: no cover - Airflow 3.0
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]
    from airflow.sdk.bases.sensor import BaseSensorOperator  # type: ignore[no-redef]

from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory
from airflow.sdk.exceptions import (
    AirflowFailException,
    AirflowNotFoundException,
    AirflowSkipException,
)
from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

try:
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # pragma: no cover - standard provider missing
    raise ImportError(
        "lockgate_airflow needs the standard provider: pip install apache-airflow-providers-standard"
    ) from None

try:
    from airflow.sdk.plugins_manager import AirflowPlugin
except ImportError:  # pragma: no cover - Airflow 3.0
    from airflow.plugins_manager import AirflowPlugin  # type: ignore[no-redef,assignment]

try:
    from airflow.sdk._shared.listeners import hookimpl
except ImportError:  # pragma: no cover - Airflow 3.0/3.1 keep it in core
    from airflow.listeners import hookimpl  # type: ignore[no-redef]


def conf_get(section: str, key: str, *, fallback: str | None = None) -> str | None:
    """An Airflow config value (``[section] key`` or ``AIRFLOW__SECTION__KEY``)."""
    from airflow.sdk import conf

    return conf.get(section, key, fallback=fallback)


def conf_getboolean(section: str, key: str, *, fallback: bool = False) -> bool:
    """An Airflow config flag; ``fallback`` when it is not set anywhere."""
    from airflow.sdk import conf

    return conf.getboolean(section, key, fallback=fallback)


def task_logical_date(task_instance: Any, context: Any | None = None) -> Any:
    """The logical date of a running task instance, or None for runs without one (3.0+ allows that)."""
    if context is not None and "logical_date" in context:
        return context.get("logical_date")
    getter = getattr(task_instance, "get_template_context", None)
    if getter is not None:
        try:
            return getter().get("logical_date")
        except Exception:  # noqa: BLE001, S110 - the context needs a live supervisor connection
            pass
    ti_context = getattr(task_instance, "_ti_context_from_server", None)
    dag_run = getattr(ti_context, "dag_run", None)
    return getattr(dag_run, "logical_date", getattr(task_instance, "logical_date", None))


def in_server_process() -> bool:
    """Whether this is one of Airflow's server processes (scheduler, triggerer, dag-processor, API).

    Airflow marks them with ``_AIRFLOW_PROCESS_CONTEXT=server`` (it picks the secrets backends
    by it); ``dag.test()`` and task processes are not marked.
    """
    import os

    return os.environ.get("_AIRFLOW_PROCESS_CONTEXT") == "server"


def plain_attribute(obj: Any, name: str) -> Any:
    """``obj.name`` without loading anything: for an ORM object, only a value already loaded.

    Reading an expired attribute of the scheduler's ``DagRun`` would query through the
    scheduler's session; listeners must not do that.
    """
    from sqlalchemy import inspect

    state = inspect(obj, raiseerr=False)
    if state is not None and hasattr(state, "dict"):
        return state.dict.get(name)
    return getattr(obj, name, None)


def release_thread_session() -> None:
    """Give back the database session Airflow may have opened for the calling thread."""
    try:
        from airflow import settings
    except ImportError:  # pragma: no cover - task-SDK-only installs
        return
    session = getattr(settings, "Session", None)
    remove = getattr(session, "remove", None)
    if remove is not None:
        remove()


def watcher_state(trigger: Any) -> Any:
    """The asset state store of an asset-watcher trigger (``aget``/``aset``), or None.

    Airflow 3.3 gives each ``BaseEventTrigger`` watching assets an ``asset_state_store`` that
    survives triggerer restarts; earlier versions have none, and a watcher keeps its cursor in
    memory only.
    """
    accessors = getattr(trigger, "asset_state_store", None)
    if accessors is None:
        return None
    try:
        accessors._single_accessor()
    except ValueError:  # several assets share this trigger: no single place for one cursor
        return None
    return accessors
