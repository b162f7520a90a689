"""One autologged training call: the run it logs into, and logging that never raises.

``TrainingSession.start`` follows MLflow's run semantics: a fit with an active run logs into
it; without one it starts a run and ``finish`` ends it (FAILED when the training raised).
A run opened by an orchestrator step (tagged ``lockgate.orchestrator`` by the Airflow, Prefect
or Dagster integration) gets a child run per training call instead, so several fits in one
step never collide on their parameters. Every tracking call goes through ``safely``: a
failure becomes one warning and the training goes on.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from lockgate.autologging.config import AutologConfig
from lockgate.entities import Metric, Param, RunStatus
from lockgate.store.base import MAX_PARAM_VALUE_LENGTH

__all__ = ["AUTOLOG_TAG", "AutologWarning", "TrainingSession", "warn_once"]

AUTOLOG_TAG = "lockgate.autologging"
_ORCHESTRATOR_TAG = "lockgate.orchestrator"
_T = TypeVar("_T")
_warned: set[str] = set()


class AutologWarning(UserWarning):
    """Autologging could not record something; the training itself was not affected."""


def warn_once(key: str, message: str, *, config: AutologConfig) -> None:
    """Warn about ``key`` once per process (never with ``silent=True``)."""
    if config.silent or key in _warned:
        return
    _warned.add(key)
    warnings.warn(message, AutologWarning, stacklevel=3)


@contextmanager
def _quiet(silent: bool) -> Iterator[None]:
    if not silent:
        yield
        return
    logger = logging.getLogger("lockgate")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_PARAM_VALUE_LENGTH]


class TrainingSession:
    """The run one autologged training call logs into, with buffered metric histories."""

    def __init__(self, integration: str, config: AutologConfig) -> None:
        self.integration = integration
        self.config = config
        self.client: Any = None
        self.run_id: str | None = None
        self._owned = False
        self._metrics: list[Metric] = []

    @property
    def enabled(self) -> bool:
        return self.run_id is not None

    def safely(self, what: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """``fn(*args, **kwargs)``, or None and a warning when it fails."""
        try:
            with _quiet(self.config.silent):
                return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - tracking must never fail the user's training
            if not self.config.silent:
                warnings.warn(
                    f"Lockgate autologging ({self.integration}) could not {what}: "
                    f"{type(exc).__name__}: {exc}. The training was not affected.",
                    AutologWarning, stacklevel=2,
                )
            return None

    # ------------------------------------------------------------ run lifecycle
    def start(self) -> None:
        """Pick the run to log into: the active one, a child of a step's run, or a new one."""
        from lockgate import fluent

        active = fluent.active_run()
        if active is not None and self.config.exclusive:
            return  # MLflow's exclusive=True: never write into a run the user opened
        self.client = fluent.get_client()
        tags = active.data.tags if active is not None else {}
        if active is not None and not (_ORCHESTRATOR_TAG in tags and AUTOLOG_TAG not in tags):
            self.run_id = active.info.run_id
            return
        run = fluent.start_run(nested=active is not None, tags={AUTOLOG_TAG: self.integration})
        self.run_id = run.info.run_id
        self._owned = True

    def finish(self, status: RunStatus = RunStatus.FINISHED) -> None:
        """Write the buffered metric points; end the run if this session started it."""
        from lockgate import fluent

        if self.run_id is None:
            return
        if self._metrics:
            points, self._metrics = self._metrics, []
            self.safely("log metric histories", self.client.log_batch, self.run_id, metrics=points)
        if self._owned:
            self.safely("end the run", fluent.end_run, status, _run_id=self.run_id)

    # ------------------------------------------------------------ logging
    def log_params(self, params: Mapping[str, Any]) -> None:
        if self.run_id is None or not params:
            return
        batch = [Param(key=str(k), value=_param_value(v)) for k, v in params.items()]
        self.safely("log parameters", self.client.log_batch, self.run_id, params=batch)

    def log_metrics(self, metrics: Mapping[str, float], *, step: int = 0) -> None:
        """Log now (values that are not finite numbers are kept, as MLflow does)."""
        if self.run_id is None or not metrics:
            return
        self.safely("log metrics", self.client.log_metrics, self.run_id, dict(metrics), step=step)

    def record_metrics(self, metrics: Mapping[str, float], *, step: int) -> None:
        """Buffer one step of a metric history; written in one batch by ``finish``."""
        if self.run_id is None:
            return
        now = int(time.time() * 1000)
        for key, value in metrics.items():
            self._metrics.append(Metric(key=key, value=float(value), timestamp=now, step=step))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        if self.run_id is not None and tags:
            self.safely("set tags", self.client.set_tags, self.run_id, tags)

    def log_json(self, data: Any, artifact_file: str) -> None:
        if self.run_id is not None:
            text = json.dumps(data, indent=2, sort_keys=True, default=str)
            self.safely(f"log {artifact_file}", self.client.log_text, self.run_id, text, artifact_file)

    def log_model(self, log: Callable[..., Any], model: Any, name: str = "model",
                  **kwargs: Any) -> None:
        """``log(model, name, run_id=..., client=...)`` when ``log_models`` is on."""
        if self.run_id is None or not self.config.log_models:
            return
        self.safely(f"log the model {name!r}", log, model, name, run_id=self.run_id,
                    client=self.client, **kwargs)
