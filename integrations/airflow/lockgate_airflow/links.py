"""Operator extra links: buttons on a task instance that open its Lockgate run or model version.

The links point at the Lockgate server's web UI (``<server>/runs/<run_id>`` and
``<server>/models/<name>/versions/<n>``); a task writing to an embedded store has no UI,
so it shows no link. An operator records the pages while it runs (``record_link``); after
the task, Airflow's worker asks each link for its URL and stores it for the UI.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from lockgate_airflow.version_compat import BaseOperatorLink

__all__ = ["LockgateModelVersionLink", "LockgateRunLink", "model_version_url", "record_link", "run_url"]

_RECORDED = "_lockgate_links"


def _ui_base(tracking_uri: str) -> str | None:
    from lockgate.settings import is_http_uri

    return tracking_uri.rstrip("/") if is_http_uri(tracking_uri) else None


def run_url(tracking_uri: str, run_id: str) -> str | None:
    """The run's page on the server's UI, or None for an embedded store."""
    base = _ui_base(tracking_uri)
    return f"{base}/runs/{quote(run_id, safe='')}" if base else None


def model_version_url(tracking_uri: str, name: str, version: int | str) -> str | None:
    """A model version's page on the server's UI, or None for an embedded store."""
    base = _ui_base(tracking_uri)
    return f"{base}/models/{quote(name, safe='')}/versions/{quote(str(version), safe='')}" if base else None


def record_link(operator: Any, link: type[BaseOperatorLink], url: str | None) -> None:
    """Remember ``url`` for ``link`` on the running operator (nothing for an embedded store)."""
    if url:
        recorded = operator.__dict__.setdefault(_RECORDED, {})
        recorded[link.__name__] = url


class _RecordedLink(BaseOperatorLink):
    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return str(getattr(operator, _RECORDED, {}).get(type(self).__name__, ""))


class LockgateRunLink(_RecordedLink):
    """"Lockgate run": the run a task tracked or registered a model from."""

    name = "Lockgate run"


class LockgateModelVersionLink(_RecordedLink):
    """"Lockgate model version": the version a task registered, promoted or scored with."""

    name = "Lockgate model version"
