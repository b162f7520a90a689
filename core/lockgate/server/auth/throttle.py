"""``LoginThrottle``: failed logins per user name and per client address lock further tries
out for a while (answered 429 with Retry-After), so passwords cannot be guessed at speed.

After ``max_failures`` failures inside ``window_s`` the key is locked for ``lockout_s``,
doubling with every further failure up to ``max_lockout_s``. A success clears the user's
count (not the address's: one valid account must not reset an attacker's address). Counts
live in the worker's memory: with N workers a client gets up to N times the budget.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from lockgate.settings import env_float

__all__ = ["LoginThrottle", "ThrottleSettings", "TooManyAttempts"]

_MAX_KEYS = 100_000


class TooManyAttempts(Exception):
    """Logins for this user or address are locked for ``retry_after`` more seconds."""

    def __init__(self, retry_after: int, what: str) -> None:
        super().__init__(f"Too many failed logins for {what}; retry in {retry_after} s.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottleSettings:
    """Login throttling knobs (``LOCKGATE_AUTH_LOGIN_*`` environment variables)."""

    max_failures_per_user: int = 5
    max_failures_per_address: int = 20
    window_s: float = 900.0
    lockout_s: float = 1.0
    max_lockout_s: float = 300.0

    @classmethod
    def from_env(cls) -> ThrottleSettings:
        """Settings from the environment; unset variables keep the defaults. 0 failures = off."""
        d = cls()
        return cls(
            max_failures_per_user=int(env_float("LOCKGATE_AUTH_LOGIN_MAX_FAILURES", d.max_failures_per_user,
                                                minimum=0)),
            max_failures_per_address=int(env_float("LOCKGATE_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS",
                                                   d.max_failures_per_address, minimum=0)),
            window_s=env_float("LOCKGATE_AUTH_LOGIN_WINDOW_SECONDS", d.window_s, minimum=0),
            lockout_s=env_float("LOCKGATE_AUTH_LOGIN_LOCKOUT_SECONDS", d.lockout_s, minimum=0),
            max_lockout_s=env_float("LOCKGATE_AUTH_LOGIN_MAX_LOCKOUT_SECONDS", d.max_lockout_s, minimum=0),
        )


@dataclass
class _Entry:
    failures: int
    first: float
    locked_until: float


class LoginThrottle:
    """Thread-safe failure counts of one worker."""

    def __init__(self, settings: ThrottleSettings | None = None) -> None:
        self.settings = settings or ThrottleSettings.from_env()
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def check(self, *, user: str, address: str) -> None:
        """Raise TooManyAttempts while the user or the address is locked out."""
        now = time.monotonic()
        with self._lock:
            for key, what in ((f"u:{user}", f"user {user!r}"), (f"a:{address}", f"address {address}")):
                entry = self._entries.get(key)
                if entry is not None and entry.locked_until > now:
                    raise TooManyAttempts(max(1, math.ceil(entry.locked_until - now)), what)

    def failed(self, *, user: str | None, address: str) -> None:
        """Count one failed login."""
        now = time.monotonic()
        s = self.settings
        with self._lock:
            if len(self._entries) >= _MAX_KEYS:
                self._prune(now)
            if user is not None:
                self._count(f"u:{user}", s.max_failures_per_user, now)
            self._count(f"a:{address}", s.max_failures_per_address, now)

    def succeeded(self, *, user: str) -> None:
        """A correct password clears the user's failures."""
        with self._lock:
            self._entries.pop(f"u:{user}", None)

    def _count(self, key: str, limit: int, now: float) -> None:
        if limit <= 0:
            return
        s = self.settings
        entry = self._entries.get(key)
        if entry is None or now - entry.first > s.window_s and entry.locked_until <= now:
            entry = self._entries[key] = _Entry(failures=0, first=now, locked_until=0.0)
        entry.failures += 1
        if entry.failures >= limit:
            extra = min(entry.failures - limit, 30)
            entry.locked_until = now + min(s.lockout_s * 2**extra, s.max_lockout_s)

    def _prune(self, now: float) -> None:
        window = self.settings.window_s
        for key in [k for k, e in self._entries.items() if e.locked_until <= now and now - e.first > window]:
            del self._entries[key]
        if len(self._entries) >= _MAX_KEYS:
            self._entries.clear()
