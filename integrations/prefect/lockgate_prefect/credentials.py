"""``LockgateCredentials``: a Prefect block that says which Lockgate store to use and how.

Save one per environment (``LockgateCredentials(tracking_uri=..., token=...).save("prod")``)
and hand it, or its name, to any Lockgate task; with none, tasks use the environment's
default (``LOCKGATE_TRACKING_URI``, else the SQLite file under ``LOCKGATE_HOME``).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, ClassVar

from lockgate.connection import ConnectionSettings
from lockgate.errors import InvalidArgument, NotFound
from prefect.blocks.core import Block
from pydantic import Field, SecretStr, field_validator

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["CREDENTIALS_ENV", "CredentialsLike", "LockgateCredentials", "client_for", "resolve_credentials"]

DOCS_URL = "https://github.com/lockgate/lockgate/tree/main/integrations/prefect#readme"

_SCHEMES = ("sqlite", "postgresql", "mysql", "http", "https")


class LockgateCredentials(Block):
    """Where Lockgate keeps runs and models, and the token to reach a Lockgate server.

    Example:
        Load saved credentials and list the experiments they can see:
        ```python
        from lockgate_prefect import LockgateCredentials

        credentials = LockgateCredentials.load("BLOCK_NAME")
        client = credentials.get_client()
        print(client.search_experiments())
        ```
    """

    _block_type_name: ClassVar[str] = "Lockgate Credentials"
    _block_type_slug: ClassVar[str] = "lockgate-credentials"
    _documentation_url: ClassVar[str] = DOCS_URL  # type: ignore[assignment]
    _description: ClassVar[str] = (
        "The tracking URI and API token Lockgate tasks use to log runs and move models "
        "through the registry."
    )

    tracking_uri: str | None = Field(
        default=None,
        title="Tracking URI",
        description=(
            "A Lockgate server (https://...) or a database URL (postgresql+psycopg://..., "
            "sqlite:///...); empty means the environment's default."
        ),
    )
    token: SecretStr | None = Field(
        default=None,
        title="API token",
        description="The API token sent to a Lockgate server; not needed for a database URL.",
    )
    user: str | None = Field(
        default=None,
        description=(
            "The user registry changes are recorded as; empty means LOCKGATE_USER or the "
            "login name."
        ),
    )

    @field_validator("tracking_uri")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        scheme = value.split("://", 1)[0].split("+", 1)[0].lower() if "://" in value else ""
        if scheme not in _SCHEMES:
            raise ValueError(
                f"tracking_uri {value!r} is not a Lockgate tracking URI: use https://server, "
                "postgresql+psycopg://..., mysql+pymysql://... or sqlite:///path"
            )
        return value

    def connection_settings(self) -> ConnectionSettings:
        """This block's URI, token and user as the core's ``ConnectionSettings``."""
        return ConnectionSettings(tracking_uri=self.tracking_uri, token=self.token, user=self.user)

    def resolved_tracking_uri(self) -> str:
        """The URI this block points at, falling back to the environment's default."""
        return self.connection_settings().resolved_tracking_uri()

    def get_client(self) -> LockgateClient:
        """A ``LockgateClient`` for this block's store, carrying its token and user."""
        return client_for(self)


CredentialsLike = LockgateCredentials | str | None


CREDENTIALS_ENV = "LOCKGATE_PREFECT_CREDENTIALS"


def resolve_credentials(credentials: CredentialsLike) -> LockgateCredentials | None:
    """The block itself, the saved block of that name, or None for the environment default.

    With no credentials given, the saved block named by ``LOCKGATE_PREFECT_CREDENTIALS``
    is used when that variable is set (set it on a worker or ``serve`` process to point
    every task and tracked flow it runs at one server). A name that no saved block has is
    ``NotFound``; anything that is not a ``LockgateCredentials`` block is ``InvalidArgument``.
    """
    if credentials is None:
        credentials = os.environ.get(CREDENTIALS_ENV) or None
        if credentials is None:
            return None
    if isinstance(credentials, LockgateCredentials):
        return credentials
    if isinstance(credentials, str):
        return _load_saved(credentials)
    if isinstance(credentials, Block):
        raise InvalidArgument(
            f"credentials must be a LockgateCredentials block, got a {type(credentials).__name__} "
            f"block ({credentials.get_block_type_slug()!r})"
        )
    raise InvalidArgument(
        "credentials must be a LockgateCredentials block, the name of a saved one, or None; "
        f"got {type(credentials).__name__}"
    )


# (flow run id, block name) -> block: the tasks of one flow run load a saved block once, which
# saves several Prefect API round trips per task; a new flow run sees the block as saved now.
_loaded: dict[tuple[str, str], LockgateCredentials] = {}
_loaded_lock = threading.Lock()
_MAX_LOADED = 256


def _load_saved(name: str) -> LockgateCredentials:
    from lockgate_prefect import _compat

    flow_run_id, _ = _compat.current_flow_run_link()
    key = (flow_run_id, name) if flow_run_id is not None else None
    if key is not None:
        with _loaded_lock:
            cached = _loaded.get(key)
        if cached is not None:
            return cached
    try:
        loaded: LockgateCredentials = LockgateCredentials.load(name)  # type: ignore[assignment]
    except ValueError as exc:
        raise NotFound(
            f"No saved LockgateCredentials block named {name!r}: create it with "
            f"LockgateCredentials(tracking_uri=...).save({name!r}) ({exc})"
        ) from None
    if key is not None:
        with _loaded_lock:
            if len(_loaded) >= _MAX_LOADED:
                _loaded.pop(next(iter(_loaded)))
            _loaded[key] = loaded
    return loaded


def client_for(credentials: CredentialsLike) -> LockgateClient:
    """The client a task should use: from the block when given, else the environment's."""
    from lockgate.connection import connect

    block = resolve_credentials(credentials)
    return connect(block.connection_settings() if block is not None else ConnectionSettings())
