"""Safe patching: wrap a library's training function once, never changing what it does.

The wrapper calls the original exactly once with the user's arguments (plus whatever a
``before`` hook added, such as a metrics callback) and hands back its result or lets its
exception propagate untouched. Tracking around it runs through ``TrainingSession.safely``,
so a failing store becomes a warning. A training call made inside another autologged call
(``GridSearchCV`` fitting its candidates, ``Pipeline`` fitting its steps) is not logged again.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

from lockgate.autologging.config import get_config
from lockgate.autologging.session import TrainingSession
from lockgate.entities import RunStatus

__all__ = ["TrainingHooks", "in_autologged_call", "patch"]

_ORIGINAL = "__lockgate_autolog_original__"
_depth: ContextVar[int] = ContextVar("lockgate_autolog_depth", default=0)

Call = tuple[tuple[Any, ...], dict[str, Any]]


class TrainingHooks(Protocol):
    """What an integration logs around one training call."""

    def before(self, session: TrainingSession, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Call:
        """Log what is known up front; return the arguments to call the original with."""
        ...

    def after(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any],
              result: Any) -> None:
        """Log what the finished training produced."""
        ...

    def cleanup(self, session: TrainingSession, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Undo what ``before`` attached to the user's objects; runs whether training raised or not."""
        ...


def in_autologged_call() -> bool:
    """True inside a training call that autologging is already recording."""
    return _depth.get() > 0


def patch(owner: Any, name: str, *, integration: str, hooks: TrainingHooks) -> bool:
    """Wrap ``owner.name`` (a class's own method or a module's function); False if not patchable.

    Patching twice is a no-op. Whether a call is logged is decided per call from the
    integration's config, so ``disable=True`` turns a patch into a plain pass-through.
    """
    original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if not inspect.isfunction(original):
        return False  # descriptors such as sklearn's available_if keep their own semantics
    if hasattr(original, _ORIGINAL):
        return True

    @functools.wraps(original)
    def patched(*args: Any, **kwargs: Any) -> Any:
        config = get_config(integration)
        if config is None or config.disable or _depth.get() > 0:
            return original(*args, **kwargs)
        token = _depth.set(_depth.get() + 1)
        try:
            return _call_logged(original, integration, config, hooks, args, kwargs)
        finally:
            _depth.reset(token)

    setattr(patched, _ORIGINAL, original)
    setattr(owner, name, patched)
    return True


def _call_logged(original: Callable[..., Any], integration: str, config: Any,
                 hooks: TrainingHooks, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    session = TrainingSession(integration, config)
    session.safely("start a run", session.start)
    call_args, call_kwargs = args, kwargs
    if session.enabled:
        prepared = session.safely("prepare logging", hooks.before, session, args, kwargs)
        if prepared is not None:
            call_args, call_kwargs = prepared
    try:
        result = original(*call_args, **call_kwargs)
    except BaseException as exc:
        status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        if session.enabled:
            session.safely("clean up", hooks.cleanup, session, args, kwargs)
        session.finish(status)
        raise
    if session.enabled:
        session.safely("clean up", hooks.cleanup, session, args, kwargs)
    if session.enabled:
        session.safely("log the training results", hooks.after, session, args, kwargs, result)
    session.finish()
    return result
