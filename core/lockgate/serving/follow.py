"""Serving that follows a registry alias: the new holder is loaded, warmed up, then swapped in.

``ModelFollower("models:/churn@champion")`` loads the version the alias names, then reads the
registry's event log from a cursor (``get_events(after_id=...)``, the same feed sensors and
webhooks use; never the model files). When an ``ALIAS_SET`` event moves the alias, a background
thread loads the new version, checks it (signature compatibility, then a warm-up prediction of
its saved input example and of the served version's), and replaces ``current`` in one reference
assignment. A request keeps the ``ServedModel`` it started with, so in-flight requests finish on
the old model. A version that fails to load or to warm up is refused: the old one keeps serving,
the reason is logged, and ``status()`` (``/health``) reports it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument, LockgateError
from lockgate.registry.entities import EventType
from lockgate.registry.uris import parse_model_uri

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.models.pyfunc import PyFuncModel
    from lockgate.registry.entities import RegistryEvent

__all__ = ["ModelFollower", "ServedModel", "load_served_model"]

logger = logging.getLogger("lockgate.serving.follow")

_WATCHED = (EventType.ALIAS_SET, EventType.ALIAS_DELETED)
_PAGE = 1000
#: State entries that make /health say "degraded" (the old version still serves).
_PROBLEMS = ("refused", "alias_deleted", "registry_error")


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and where it came from: what ``/health`` and ``/version`` report."""

    model: PyFuncModel
    uri: str
    name: str | None = None
    alias: str | None = None
    version: int | None = None
    run_id: str | None = None
    loaded_at: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        """The served model as JSON: uri, name, alias, version, run_id."""
        return {"uri": self.uri, "name": self.name, "alias": self.alias, "version": self.version,
                "run_id": self.run_id}


def load_served_model(model_uri: str, *, client: LockgateClient | None = None) -> ServedModel:
    """Load ``model_uri`` once; for a ``models:/`` URI, also name the version and run it resolves to."""
    from lockgate.models.pyfunc import load_model

    if not model_uri.startswith("models:/"):
        return ServedModel(model=load_model(model_uri, client=client), uri=model_uri)
    from lockgate.client import LockgateClient

    client = client or LockgateClient()
    ref = parse_model_uri(model_uri)
    version = client.resolve_model_uri(model_uri)
    model = load_model(f"models:/{version.name}/{version.version}", client=client)
    return ServedModel(model=model, uri=model_uri, name=version.name, alias=ref.alias,
                       version=int(version.version), run_id=version.run_id)


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, LockgateError) else f"{type(exc).__name__}: {exc}"


def _warm_up(model: PyFuncModel, example: Any, what: str) -> None:
    from lockgate.serving.payload import format_predictions

    try:
        format_predictions(model.predict(example))
    except Exception as exc:  # noqa: BLE001 - any failure of the candidate refuses it
        raise InvalidArgument(f"it failed the warm-up request ({what}): {_message(exc)}") from None


class ModelFollower:
    """Serve whichever version ``models:/<name>@<alias>`` names, following moves of the alias.

    ``client`` is the registry to follow (default: the tracking URI in force, with
    ``LOCKGATE_TRACKING_TOKEN`` for a server); ``poll_interval`` is how often (seconds) the
    event cursor is read.
    """

    def __init__(self, model_uri: str, *, client: LockgateClient | None = None,
                 poll_interval: float = 1.0) -> None:
        ref = parse_model_uri(model_uri)
        if ref.alias is None:
            raise InvalidArgument(
                f"--follow needs a model URI that names an alias, like models:/{ref.name}@champion; "
                f"{model_uri!r} names a fixed version, stage or 'latest'."
            )
        if poll_interval <= 0:
            raise InvalidArgument(f"Invalid poll interval {poll_interval!r}: expected a positive number of seconds")
        self.model_uri = model_uri
        self.name = ref.name
        self.alias = ref.alias
        self.poll_interval = poll_interval
        self._client = client
        self._current: ServedModel | None = None
        self._cursor = 0
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ reading
    @property
    def current(self) -> ServedModel:
        """The model serving requests now (a request should read this once and keep it)."""
        if self._current is None:
            raise InvalidArgument("The follower has not loaded a model yet: call start() first.")
        return self._current

    def status(self) -> dict[str, Any]:
        """``/health``'s body: status ``ok`` or ``degraded``, the served model, the last swap or refusal."""
        with self._lock:
            state = dict(self._state)
        degraded = any(key in state for key in _PROBLEMS)
        return {"status": "degraded" if degraded else "ok", **state, "model": self.current.describe(),
                "following": self.model_uri, "event_cursor": self._cursor}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ModelFollower:
        """Load the alias's current holder (errors raise here), then follow it in a thread."""
        if self._thread is not None:
            return self
        client = self._registry()
        # The cursor is read before the alias so that a move in between is seen as an event.
        self._cursor = client.get_latest_event_id(model_name=self.name)
        self._current = load_served_model(self.model_uri, client=client)
        example = self._current.model.input_example()
        if example is not None:
            _warm_up(self._current.model, example, "its input example")
        logger.info("Serving %s version %s (run %s); following from event %d", self.name,
                    self._current.version, self._current.run_id, self._cursor)
        self._thread = threading.Thread(target=self._run, name="lockgate-follow", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following (the served model stays)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _registry(self) -> LockgateClient:
        if self._client is None:
            from lockgate.client import LockgateClient

            self._client = LockgateClient()
        return self._client

    # ------------------------------------------------------------------ following
    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - the follower must outlive any registry failure
                # The registry is unreachable or refused us: keep serving, say so, try again.
                message = _message(exc)
                self._set_state(registry_error=message)
                logger.warning("Reading registry events failed (still serving version %s): %s",
                               self.current.version, message)

    def poll(self) -> None:
        """Read the events after the cursor and act on the last move of the alias among them."""
        client = self._registry()
        latest: RegistryEvent | None = None
        while True:
            events = client.get_events(after_id=self._cursor, model_name=self.name, types=_WATCHED,
                                       limit=_PAGE)
            for event in events:
                if event.alias == self.alias:
                    latest = event
            if events:
                self._cursor = events[-1].id
            if len(events) < _PAGE:
                break
        with self._lock:
            self._state.pop("registry_error", None)
        if latest is None:
            return
        if latest.type == EventType.ALIAS_DELETED:
            message = (f"alias {self.alias!r} was deleted (event {latest.id}); "
                       f"still serving version {self.current.version}")
            logger.warning(message)
            self._set_state(alias_deleted=message)
            return
        target = latest.to_version if latest.to_version is not None else latest.version
        if target is None or target == self.current.version:
            self._clear_problems()
            return
        self._switch(int(target), latest)

    def _switch(self, version: int, event: RegistryEvent) -> None:
        from lockgate.models.pyfunc import load_model
        from lockgate.serving.compat import signature_incompatibility

        client = self._registry()
        old = self.current
        started = time.monotonic()
        try:
            record = client.get_model_version(self.name, version)
            model = load_model(f"models:/{self.name}/{version}", client=client)
            reason = signature_incompatibility(old.model.signature, model.signature)
            if reason:
                raise InvalidArgument(f"its signature is incompatible with version {old.version}'s: {reason}")
            example = model.input_example()
            if example is not None:
                _warm_up(model, example, "its input example")
            old_example = old.model.input_example()
            if old_example is not None:
                _warm_up(model, old_example, f"version {old.version}'s input example")
        except Exception as exc:  # noqa: BLE001 - whatever breaks the candidate refuses it
            message = f"version {version} was refused: {_message(exc)}"
            logger.warning("Not switching %s@%s to version %s (still serving version %s): %s", self.name,
                           self.alias, version, old.version, _message(exc))
            self._set_state(refused={"version": version, "event_id": event.id,
                                                        "reason": message})
            return
        self._current = ServedModel(model=model, uri=self.model_uri, name=self.name, alias=self.alias,
                                    version=version, run_id=record.run_id)
        now = time.time()
        swap = {"from_version": old.version, "to_version": version, "event_id": event.id,
                "load_seconds": round(time.monotonic() - started, 4),
                "promotion_to_served_seconds": round(now - event.timestamp / 1000, 4) if event.timestamp else None,
                "at": now}
        with self._lock:
            self._state = {"last_swap": swap}
        logger.info("Switched %s@%s from version %s to %s in %.2f s (event %d)", self.name, self.alias,
                    old.version, version, swap["load_seconds"], event.id)

    def _set_state(self, **changes: Any) -> None:
        with self._lock:
            self._state.update(changes)

    def _clear_problems(self) -> None:
        with self._lock:
            for key in _PROBLEMS:
                self._state.pop(key, None)
