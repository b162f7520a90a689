"""Model files on local disk, fetched through the caller's client.

Every ``load_model`` (pyfunc and flavors) and model artifact bundling calls this. The
caller's ``client`` decides which store, registry and server ``runs:/``, ``models:/`` and
``mlflow-artifacts:`` URIs go to; without one, the fluent API's client (the tracking URI in
force) is used: the only place the models layer reaches for a default.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockgate.client import LockgateClient

__all__ = ["caller_client", "local_model_path"]


def caller_client(client: LockgateClient | None) -> LockgateClient:
    """``client``, or the fluent API's client for the tracking URI in force."""
    if client is not None:
        return client
    from lockgate import fluent

    return fluent.get_client()


def local_model_path(
    model_uri: str | os.PathLike[str], *, client: LockgateClient | None = None,
    dst_path: str | os.PathLike[str] | None = None,
) -> str:
    """A local path holding what ``model_uri`` names (used in place when already local)."""
    return caller_client(client).artifact_resolver.download(os.fspath(model_uri), dst_path=dst_path)
