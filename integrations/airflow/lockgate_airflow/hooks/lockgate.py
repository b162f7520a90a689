"""``LockgateHook``: a ``LockgateClient`` built from an Airflow connection of type ``lockgate``.

The connection names the tracking URI (a Lockgate server ``http(s)://...``, or a database
URL such as ``postgresql+psycopg://...`` or ``sqlite:////path/lockgate.db``) and, for a
server, an API token. Without any ``lockgate_default`` connection the hook uses the
embedded store the worker's environment points at (``LOCKGATE_TRACKING_URI`` or the SQLite
file under ``LOCKGATE_HOME``); a connection id named explicitly must exist.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lockgate_airflow.version_compat import AirflowNotFoundException, BaseHook

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.connection import ConnectionSettings

__all__ = ["TOKEN_ENV", "FluentState", "LockgateHook"]

#: Environment variable the fluent API's REST store reads its bearer token from.
TOKEN_ENV = "LOCKGATE_TRACKING_TOKEN"
#: Seconds a resolved connection is reused within one process. Looking a connection up costs a
#: round trip to Airflow's API server; automatic tracking needs it for every task instance.
SETTINGS_TTL = 30.0
_resolved: dict[str, tuple[float, ConnectionSettings | None, dict[str, float]]] = {}


@dataclass(frozen=True)
class FluentState:
    """What ``configure_fluent`` replaced, for ``restore_fluent`` to put back."""

    tracking_uri: str | None
    token: str | None


class LockgateHook(BaseHook):
    """A ``LockgateClient`` for the tracking store an Airflow connection names.

    :param lockgate_conn_id: the Airflow connection (type ``lockgate``); ``lockgate_default``
        may be left undefined to use the worker's embedded store.
    :param retries: how many times to retry reaching a Lockgate server before failing.
    :param retry_delay: seconds before the first retry; doubled after each attempt.
    :param timeout: seconds to wait for the server on each attempt.
    """

    conn_name_attr = "lockgate_conn_id"
    default_conn_name = "lockgate_default"
    conn_type = "lockgate"
    hook_name = "Lockgate"

    def __init__(
        self,
        lockgate_conn_id: str = default_conn_name,
        *,
        retries: int = 3,
        retry_delay: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.lockgate_conn_id = lockgate_conn_id
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self._settings: ConnectionSettings | None = None
        self._client: LockgateClient | None = None

    # ------------------------------------------------------------ connection
    def connection_settings(self) -> ConnectionSettings:
        """Where the connection points and its token, as core ``ConnectionSettings``.

        Without a ``lockgate_default`` connection these are empty: the worker's own
        configuration (``LOCKGATE_TRACKING_URI``, ``LOCKGATE_TRACKING_TOKEN``) applies.
        """
        if self._settings is not None:
            return self._settings
        memo = _resolved.get(self.lockgate_conn_id)
        if memo is None or memo[0] <= time.monotonic():
            found, overrides = self._lookup_connection()
            memo = (time.monotonic() + SETTINGS_TTL, found, overrides)
            _resolved[self.lockgate_conn_id] = memo
        _, found, overrides = memo
        for key, value in overrides.items():
            setattr(self, key, value)
        if found is None:  # no lockgate_default: the worker's configuration, read afresh each time
            from lockgate.connection import ConnectionSettings

            return ConnectionSettings()
        self._settings = found
        return found

    def _lookup_connection(self) -> tuple[ConnectionSettings | None, dict[str, float]]:
        """The connection's settings and extra overrides; None when the default is undefined."""
        from lockgate.connection import ConnectionSettings
        from lockgate.errors import InvalidArgument, NotFound

        try:
            conn = self.get_connection(self.lockgate_conn_id)
        except AirflowNotFoundException:
            if self.lockgate_conn_id != self.default_conn_name:
                raise NotFound(
                    f"Airflow connection {self.lockgate_conn_id!r} does not exist. Create it with "
                    f"`airflow connections add {self.lockgate_conn_id} --conn-type lockgate "
                    "--conn-extra '{\"tracking_uri\": \"http://lockgate:5000\"}'`, or leave "
                    "lockgate_conn_id unset to use the worker's embedded store."
                ) from None
            return None, {}
        if conn.conn_type and conn.conn_type != self.conn_type:
            raise InvalidArgument(
                f"Airflow connection {self.lockgate_conn_id!r} has type {conn.conn_type!r}; "
                f"LockgateHook needs a connection of type {self.conn_type!r}."
            )
        extra = conn.extra_dejson or {}
        uri = str(extra.get("tracking_uri") or "").strip()
        if not uri and conn.host:
            host = conn.host.strip()
            if "://" in host:
                uri = host
            else:
                scheme = (conn.schema or "http").strip() or "http"
                uri = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
        token = conn.password or extra.get("token") or None
        overrides: dict[str, float] = {}
        for key, cast in (("retries", int), ("retry_delay", float), ("timeout", float)):
            if extra.get(key) is not None:
                try:
                    overrides[key] = cast(extra[key])
                except (TypeError, ValueError):
                    raise InvalidArgument(
                        f"Airflow connection {self.lockgate_conn_id!r}: extra {key!r} must be a number, "
                        f"got {extra[key]!r}."
                    ) from None
        settings = ConnectionSettings.model_validate(
            {"tracking_uri": uri or None, "token": token}
        )
        return settings, overrides

    @staticmethod
    def forget_connections() -> None:
        """Drop connections remembered in this process (they are re-read after SETTINGS_TTL anyway)."""
        _resolved.clear()

    @property
    def tracking_uri(self) -> str:
        """The tracking URI this hook's client talks to."""
        return self.connection_settings().resolved_tracking_uri()

    @property
    def token(self) -> str | None:
        """The API token for a Lockgate server, if the connection has one."""
        return self.connection_settings().token_value()

    # ---------------------------------------------------------------- client
    def get_conn(self) -> LockgateClient:
        """A ready ``LockgateClient``; a server that stays unreachable raises ServiceUnavailable."""
        if self._client is None:
            from lockgate.connection import connect
            from lockgate.settings import is_http_uri

            settings = self.connection_settings()
            uri = settings.resolved_tracking_uri()
            if is_http_uri(uri):
                self._wait_for_server(uri)
            self._client = connect(settings)
        return self._client

    def _wait_for_server(self, uri: str) -> None:
        """Reach the server (retrying with backoff), then check its API version and the token.

        Only an unreachable server is retried; a wrong token or another API version fails at
        once with a message naming the connection.
        """
        import httpx
        from lockgate.errors import LockgateError, ServiceUnavailable
        from lockgate.handshake import check_server

        delay = self.retry_delay
        attempts = max(1, self.retries + 1)
        last_error: Exception | None = None
        for attempt in range(1, attempts + 1):
            try:
                check_server(uri, token=self.token, timeout=self.timeout)
                return
            except LockgateError as exc:
                raise type(exc)(f"{exc.message} (Airflow connection {self.lockgate_conn_id!r})") from None
            except httpx.HTTPError as exc:
                last_error = exc
                self.log.warning(
                    "Lockgate server %s unreachable (attempt %d of %d): %s", uri, attempt, attempts, exc
                )
                if attempt < attempts:
                    time.sleep(delay)
                    delay *= 2
        raise ServiceUnavailable(
            f"Lockgate server {uri} is unreachable after {attempts} attempts "
            f"(connection {self.lockgate_conn_id!r}): {last_error}. Check the connection's tracking URI "
            "and that `lockgate server` is running."
        )

    def test_connection(self) -> tuple[bool, str]:
        """Whether the store answers: used by the UI's "Test" button."""
        try:
            client = self.get_conn()
            client.search_experiments(max_results=1)
        except Exception as exc:  # noqa: BLE001 - the UI's Test button shows whatever went wrong
            return False, str(exc)
        return True, f"Connected to {self.tracking_uri}"

    def configure_fluent(self) -> FluentState:
        """Point ``lockgate.log_metric`` & co. at this hook's store; returns what it replaced.

        The fluent API builds its own client from the process's tracking URI and reads a
        server token from ``LOCKGATE_TRACKING_TOKEN``, so both are set until ``restore_fluent``.
        """
        from lockgate import settings

        previous = FluentState(settings._tracking_uri_override, os.environ.get(TOKEN_ENV))
        self.get_conn()
        settings.set_tracking_uri(self.tracking_uri)
        token = self.token
        if token:
            os.environ[TOKEN_ENV] = token
        return previous

    @staticmethod
    def restore_fluent(previous: FluentState) -> None:
        """Undo ``configure_fluent``."""
        from lockgate import settings

        settings.set_tracking_uri(previous.tracking_uri)
        if previous.token is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = previous.token

    def __repr__(self) -> str:
        return f"LockgateHook(lockgate_conn_id={self.lockgate_conn_id!r})"
