"""``RestSource``: reads an MLflow server through its REST API (what the stock client uses)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import httpx

from lockgate.importers.mlflow.records import (
    SourceExperiment,
    SourceMetric,
    SourceModelVersion,
    SourceRegisteredModel,
    SourceRun,
    parse_experiment,
    parse_logged_model,
    parse_metric,
    parse_model_version,
    parse_registered_model,
    parse_run,
)
from lockgate.importers.mlflow.source import ArtifactOwner, SourceArtifactMissing, SourceUnavailable
from lockgate.store.logged_models import LoggedModel

__all__ = ["RestSource"]

_API = "/api/2.0/mlflow"
RUN_PAGE = 500
HISTORY_PAGE = 25_000


def _reason(response: httpx.Response) -> str:
    """MLflow's own error message, when the answer is one of its JSON errors."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f": {str(message)[:300]}" if message else ""


class RestSource:
    """An MLflow server at ``url`` (``http://old-mlflow:5000``); never writes to it."""

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.label = self.url
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    # ----------------------------------------------------------------- plumbing
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"MLflow server {self.url} did not answer {method} {path}: {exc.__class__.__name__}: {exc}. "
                "Check the URL; once it answers, re-run the same command to resume."
            ) from None

    def _json(self, method: str, path: str, *, artifacts: bool = False, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            error = SourceArtifactMissing if artifacts else SourceUnavailable
            raise error(f"MLflow server {self.url} answered HTTP {response.status_code} to {method} {path}"
                        f"{_reason(response)}")
        # MLflow writes NaN and Infinity as bare JSON literals; the json module reads them.
        body: dict[str, Any] = json.loads(response.content or b"{}")
        return body

    def _pages(self, method: str, path: str, key: str, body: dict[str, Any], *,
               artifacts: bool = False) -> Iterator[Any]:
        token: str | None = None
        while True:
            request = {**body, **({"page_token": token} if token else {})}
            if method == "GET":
                page = self._json("GET", path, params=request, artifacts=artifacts)
            else:
                page = self._json("POST", path, json=request)
            yield from page.get(key) or ()
            token = page.get("next_page_token") or None
            if not token:
                return

    # ---------------------------------------------------------------- reading
    def check(self) -> None:
        self._json("POST", f"{_API}/experiments/search", json={"max_results": 1})

    def experiments(self) -> Iterator[SourceExperiment]:
        for item in self._pages("POST", f"{_API}/experiments/search", "experiments",
                                {"max_results": 1000, "view_type": "ALL"}):
            yield parse_experiment(item)

    def runs(self, experiment_id: str) -> Iterator[SourceRun]:
        body = {"experiment_ids": [experiment_id], "run_view_type": "ALL", "max_results": RUN_PAGE,
                "order_by": ["attributes.start_time ASC"]}
        for item in self._pages("POST", f"{_API}/runs/search", "runs", body):
            yield parse_run(item)

    def metric_history(self, run_id: str, key: str) -> Iterator[list[SourceMetric]]:
        token: str | None = None
        while True:
            params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE}
            if token:
                params["page_token"] = token
            page = self._json("GET", f"{_API}/metrics/get-history", params=params)
            yield [parse_metric(m) for m in page.get("metrics") or ()]
            token = page.get("next_page_token") or None
            if not token:
                return

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModel]:
        for item in self._pages("POST", f"{_API}/logged-models/search", "models",
                                {"experiment_ids": [experiment_id], "max_results": 100}):
            yield parse_logged_model(item)

    def registered_models(self) -> Iterator[SourceRegisteredModel]:
        for item in self._pages("GET", f"{_API}/registered-models/search", "registered_models",
                                {"max_results": 1000}):
            yield parse_registered_model(item)

    def model_versions(self, name: str) -> Iterator[SourceModelVersion]:
        quoted = name.replace("'", "\\'")
        for item in self._pages("GET", f"{_API}/model-versions/search", "model_versions",
                                {"filter": f"name='{quoted}'", "max_results": 1000}):
            yield parse_model_version(item)

    # -------------------------------------------------------------- artifacts
    def _listing(self, owner: ArtifactOwner, owner_id: str, path: str) -> list[dict[str, Any]]:
        if owner == "run":
            params = {"run_id": owner_id, **({"path": path} if path else {})}
            return list(self._pages("GET", f"{_API}/artifacts/list", "files", params, artifacts=True))
        params = {"artifact_directory_path": path} if path else {}
        return list(self._json("GET", f"{_API}/logged-models/{owner_id}/artifacts/directories",
                               params=params, artifacts=True).get("files") or ())

    def artifact_files(
        self, owner: ArtifactOwner, owner_id: str, root_uri: str
    ) -> Iterator[str | SourceArtifactMissing]:
        pending = [""]
        while pending:
            directory = pending.pop()
            try:
                listing = self._listing(owner, owner_id, directory)
            except SourceArtifactMissing as exc:
                yield SourceArtifactMissing(
                    f"{owner.replace('_', ' ')} {owner_id}: artifacts under {directory or '.'!r} cannot be "
                    f"listed: {exc.message}")
                continue
            for item in listing:
                path = str(item["path"])
                if item.get("is_dir"):
                    pending.append(path)
                else:
                    yield path

    @contextmanager
    def open_artifact(
        self, owner: ArtifactOwner, owner_id: str, root_uri: str, path: str
    ) -> Iterator[IO[bytes]]:
        if owner == "run":
            url, params = "/get-artifact", {"run_id": owner_id, "path": path}
        else:
            url = f"/ajax-api/2.0/mlflow/logged-models/{owner_id}/artifacts/files"
            params = {"artifact_file_path": path}
        # Spooled: small files stay in memory, large ones go to disk, never whole into memory.
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
            try:
                with self._http.stream("GET", url, params=params) as response:
                    if response.status_code >= 400:
                        raise SourceArtifactMissing(
                            f"{owner.replace('_', ' ')} {owner_id}: artifact {path!r} cannot be read from "
                            f"{self.url} (HTTP {response.status_code})."
                        )
                    for chunk in response.iter_bytes(1 << 20):
                        spool.write(chunk)
            except httpx.HTTPError as exc:
                raise SourceUnavailable(
                    f"MLflow server {self.url} stopped while sending artifact {path!r}: {exc}. "
                    "Re-run the same command to resume."
                ) from None
            spool.seek(0)
            yield spool  # type: ignore[misc]
