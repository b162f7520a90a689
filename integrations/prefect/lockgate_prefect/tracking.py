"""``tracked``: make a Prefect flow run (or task run) a Lockgate run, automatically.

Put it under ``@flow`` or ``@task``::

    @flow
    @tracked(experiment="churn")
    def retrain(lr: float = 0.1): ...

The flow run becomes a Lockgate run tagged with the flow name, flow run id and URL,
deployment and work pool; its parameters become params. Inside, the run is the active
fluent run, so ``lockgate.log_metric`` in the flow or in any task it calls (Prefect copies
context variables into task runs and their worker threads) lands in it. Subflows and
tracked tasks become nested runs. The run ends FINISHED, FAILED or KILLED as the Prefect
run does; a retried run keeps one Lockgate run and records each attempt.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import functools
import inspect
import json
import os
import threading
import types
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePath
from typing import Any, TypeVar, overload

import lockgate
from lockgate.entities import RunStatus
from lockgate.errors import InvalidArgument, LockgateError
from lockgate.fluent import get_client
from lockgate.store.base import MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH

from lockgate_prefect import _compat
from lockgate_prefect.credentials import CredentialsLike, resolve_credentials

__all__ = ["param_value", "tracked"]

F = TypeVar("F", bound=Callable[..., Any])

# Prefect run id -> Lockgate run id, so a retried attempt resumes the run of the first one.
_attempt_runs: dict[str, str] = {}
_attempt_lock = threading.Lock()
_MAX_REMEMBERED = 10_000

_TOKEN_ENV = "LOCKGATE_TRACKING_TOKEN"
_SCALARS = (str, int, float, bool, type(None))
_STRINGABLE = (_dt.date, _dt.time, _dt.timedelta, uuid.UUID, PurePath, decimal.Decimal)


def param_value(value: Any) -> tuple[str, str | None]:
    """The text a parameter is logged as, and a warning when it is only a ``repr``.

    Scalars are logged as ``str``, containers and pydantic models as JSON; anything that
    does not serialise to JSON is logged as its ``repr`` (with a warning) rather than
    failing the run. Over-long values are cut to the store's limit, also with a warning.
    """
    warning: str | None = None
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (*_SCALARS, *_STRINGABLE)):
        text = str(value)
    elif hasattr(value, "model_dump_json") and callable(value.model_dump_json):
        try:
            text = value.model_dump_json()
        except Exception:  # noqa: BLE001 - any failure here has the same fallback
            text, warning = repr(value), "it does not serialise to JSON"
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        try:
            shown = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            text = json.dumps(shown, allow_nan=True, default=_refuse)
        except (TypeError, ValueError):
            text, warning = repr(value), "it does not serialise to JSON"
    else:
        text, warning = repr(value), f"a {type(value).__name__} is not JSON-serialisable"
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        cut = f"it is {len(text)} characters long, cut to {MAX_PARAM_VALUE_LENGTH}"
        warning = f"{warning}; {cut}" if warning else cut
        text = text[: MAX_PARAM_VALUE_LENGTH - 3] + "..."
    return text, warning


def _refuse(obj: Any) -> Any:
    if isinstance(obj, _STRINGABLE):
        return str(obj)
    raise TypeError(type(obj).__name__)


def _bound_params(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):  # a C function or a mismatch Python will report itself
        return {}
    bound.apply_defaults()
    params: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            params.update(value)
        else:
            params[name] = value
    return params


def _loggable_params(params: Mapping[str, Any], *, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        text, warning = param_value(value)
        if warning:
            _compat.run_logger().warning(
                "Lockgate logged parameter %r of %s as its repr: %s.", key, where, warning
            )
        out[key] = text
    return out


def _remember(prefect_run_id: str | None, run_id: str) -> None:
    if prefect_run_id is None:
        return
    with _attempt_lock:
        if len(_attempt_runs) >= _MAX_REMEMBERED:
            _attempt_runs.pop(next(iter(_attempt_runs)))
        _attempt_runs[prefect_run_id] = run_id


def _forget(prefect_run_id: str | None) -> None:
    if prefect_run_id is not None:
        with _attempt_lock:
            _attempt_runs.pop(prefect_run_id, None)


def _resumable(prefect_run_id: str | None) -> str | None:
    if prefect_run_id is None:
        return None
    with _attempt_lock:
        return _attempt_runs.get(prefect_run_id)


def _iter_returned(value: Any) -> Iterable[Any]:
    if isinstance(value, (list, tuple, set)):
        return value
    if isinstance(value, dict):
        return value.values()
    return (value,)


def _status_of_result(value: Any) -> RunStatus:
    """FAILED/KILLED when the callable returned failed or cancelled Prefect states or futures.

    Prefect resolves a returned future or state into the run's final state; reading them the
    same way keeps the Lockgate status equal to the Prefect one.
    """
    from prefect.futures import PrefectFuture
    from prefect.states import State

    status = RunStatus.FINISHED
    for item in _iter_returned(value):
        state = None
        if isinstance(item, State):
            state = item
        elif isinstance(item, PrefectFuture):
            item.wait()
            state = item.state
        if state is None:
            continue
        if state.is_cancelled():
            return RunStatus.KILLED
        if state.is_failed() or state.is_crashed():
            status = RunStatus.FAILED
    return status


def _status_of_exception(exc: BaseException) -> RunStatus:
    import asyncio

    from prefect.exceptions import TerminationSignal

    if isinstance(exc, (KeyboardInterrupt, TerminationSignal, asyncio.CancelledError)):
        return RunStatus.KILLED
    return RunStatus.FAILED


class _Tracking:
    """One tracked invocation: opens the Lockgate run before the body, closes it after."""

    def __init__(self, owner: _Tracker, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.owner = owner
        self.scope = _compat.current_scope(owner.wrapper)
        self.args = args
        self.kwargs = kwargs
        self.parent_id: str | None = None
        self.run_id: str | None = None
        self.restore_uri: tuple[bool, str | None] = (False, None)
        self.restore_token: tuple[bool, str | None] = (False, None)

    def open(self) -> None:
        """Start (or resume) the run; if that fails half-way, undo what was done and re-raise."""
        try:
            self._open()
        except BaseException as exc:
            self.close(RunStatus.FAILED, exc if self.run_id is not None else None)
            raise

    def _open(self) -> None:
        owner, scope = self.owner, self.scope
        parent = lockgate.active_run()
        self.parent_id = parent.info.run_id if parent else None
        if parent is None:
            self._use_credentials()
        resume = _resumable(scope.prefect_run_id) if scope.run_count > 1 else None
        if resume is not None:
            active = lockgate.start_run(resume, nested=True)
            self.run_id = active.info.run_id
            lockgate.set_tags(
                {"lockgate.prefect.attempt": str(scope.run_count),
                 "lockgate.prefect.attempts": str(scope.run_count)}
            )
            return
        experiment_id: str | None = None
        experiment = owner.experiment or (scope.flow_name if parent is None else None)
        if experiment is not None:
            experiment_id = get_client().get_or_create_experiment(experiment).experiment_id
        tags = dict(scope.tags)
        tags["lockgate.prefect.attempts"] = str(scope.run_count)
        tags.update(owner.tags)
        active = lockgate.start_run(
            experiment_id=experiment_id,
            run_name=owner.run_name or scope.run_name,
            nested=True,
            tags=tags,
        )
        self.run_id = active.info.run_id
        _remember(scope.prefect_run_id, self.run_id)
        if owner.log_params:
            params = _bound_params(owner.fn, self.args, self.kwargs)
            if params:
                where = f"{scope.kind} {scope.name!r}"
                lockgate.log_params(_loggable_params(params, where=where))

    def _use_credentials(self) -> None:
        block = resolve_credentials(self.owner.credentials)
        if block is None or not block.tracking_uri:
            return
        from lockgate import settings

        connection = block.connection_settings()
        self.restore_uri = (True, settings._tracking_uri_override)
        settings.set_tracking_uri(connection.resolved_tracking_uri())
        token = connection.token_value()
        if token:
            # The fluent API's server store reads its token from the environment.
            self.restore_token = (True, os.environ.get(_TOKEN_ENV))
            os.environ[_TOKEN_ENV] = token

    def close(self, status: RunStatus, error: BaseException | None = None) -> None:
        scope = self.scope
        try:
            will_retry = status is RunStatus.FAILED and scope.run_count <= scope.retries
            if error is not None and self.run_id is not None:
                text = f"{type(error).__name__}: {error}"[:MAX_TAG_VALUE_LENGTH]
                get_client().set_tag(
                    self.run_id, f"lockgate.prefect.attempt.{scope.run_count}.error", text
                )
            while (top := lockgate.active_run()) is not None and top.info.run_id != self.parent_id:
                lockgate.end_run(status)
            if not will_retry:
                _forget(scope.prefect_run_id)
        except LockgateError as exc:
            # The body's own outcome matters more than a bookkeeping failure at the end.
            _compat.run_logger().error(
                "Lockgate could not close run %s as %s: %s", self.run_id, status.value, exc
            )
        finally:
            restore, previous = self.restore_uri
            if restore:
                from lockgate import settings

                settings.set_tracking_uri(previous)
            restore, previous_token = self.restore_token
            if restore:
                if previous_token is None:
                    os.environ.pop(_TOKEN_ENV, None)
                else:
                    os.environ[_TOKEN_ENV] = previous_token


class _Tracker:
    """The state ``tracked`` keeps per decorated callable."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        experiment: str | None,
        run_name: str | None,
        log_params: bool,
        credentials: CredentialsLike,
        tags: Mapping[str, Any] | None,
    ) -> None:
        self.fn = fn
        self.experiment = experiment
        self.run_name = run_name
        self.log_params = log_params
        self.credentials = credentials
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.wrapper: Callable[..., Any] = self._build()

    def _build(self) -> Callable[..., Any]:
        wrapper = (_async_wrapper if inspect.iscoroutinefunction(self.fn) else _sync_wrapper)(
            self.fn, self._open, self._close_ok, self._close_error
        )
        return _rebind(wrapper, self.fn)

    def _open(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Tracking:
        tracking = _Tracking(self, args, kwargs)
        tracking.open()
        return tracking

    @staticmethod
    def _close_ok(tracking: _Tracking, result: Any) -> None:
        tracking.close(_status_of_result(result))

    @staticmethod
    def _close_error(tracking: _Tracking, exc: BaseException) -> None:
        tracking.close(_status_of_exception(exc), exc)


# The wrappers below only use closure variables and builtins: _rebind gives them the
# decorated function's globals, because Prefect resolves string annotations of flow
# parameters (``from __future__ import annotations``) in the wrapper's ``__globals__``.
def _sync_wrapper(fn: Any, open_: Any, close_ok: Any, close_error: Any) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracking = open_(args, kwargs)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            close_error(tracking, exc)
            raise
        close_ok(tracking, result)
        return result

    return wrapper


def _async_wrapper(fn: Any, open_: Any, close_ok: Any, close_error: Any) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        tracking = open_(args, kwargs)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            close_error(tracking, exc)
            raise
        close_ok(tracking, result)
        return result

    return wrapper


def _rebind(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> Callable[..., Any]:
    code = wrapper.__code__  # type: ignore[attr-defined]
    clone = types.FunctionType(
        code, getattr(fn, "__globals__", {}), wrapper.__name__, None, wrapper.__closure__  # type: ignore[attr-defined]
    )
    functools.update_wrapper(clone, fn)
    return clone


@overload
def tracked(
    fn: F,
    /,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    log_params: bool = True,
    credentials: CredentialsLike = None,
    tags: Mapping[str, Any] | None = None,
) -> F: ...


@overload
def tracked(
    fn: None = None,
    /,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    log_params: bool = True,
    credentials: CredentialsLike = None,
    tags: Mapping[str, Any] | None = None,
) -> Callable[[F], F]: ...


def tracked(
    fn: Any = None,
    /,
    *,
    experiment: str | None = None,
    run_name: str | None = None,
    log_params: bool = True,
    credentials: CredentialsLike = None,
    tags: Mapping[str, Any] | None = None,
) -> Any:
    """A decorator that records every run of a flow or task as a Lockgate run.

    Use it under ``@flow``/``@task`` (or over them: a ``Flow``/``Task`` gets a tracked copy).

    Args:
        experiment: Experiment for top-level runs, created if missing; default the flow's
            name. Nested runs (subflows, tracked tasks) join their parent's experiment.
        run_name: Name of the Lockgate run; default the Prefect run name.
        log_params: Log the call's arguments (the flow parameters) as params.
        credentials: A ``LockgateCredentials`` block or its saved name; its tracking URI is
            used for the whole flow run. Default: the environment's.
        tags: Extra tags for the run.
    """
    if experiment is not None and (not isinstance(experiment, str) or not experiment.strip()):
        raise InvalidArgument(f"tracked(experiment=...) must be a non-empty name, got {experiment!r}")

    def decorate(target: Any) -> Any:
        from prefect.flows import Flow
        from prefect.tasks import Task

        if isinstance(target, (Flow, Task)):
            tracker = _Tracker(
                target.fn, experiment=experiment, run_name=run_name, log_params=log_params,
                credentials=credentials, tags=tags,
            )
            copy = target.with_options()
            copy.fn = tracker.wrapper
            return copy
        if not callable(target):
            raise InvalidArgument(f"tracked() decorates a function, flow or task, got {target!r}")
        return _Tracker(
            target, experiment=experiment, run_name=run_name, log_params=log_params,
            credentials=credentials, tags=tags,
        ).wrapper

    if fn is not None:
        return decorate(fn)
    return decorate
