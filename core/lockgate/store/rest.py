"""``RestStore``: the tracking store over HTTP, speaking a Lockgate server's ``/api/v1`` API.

``LOCKGATE_TRACKING_URI=http(s)://host:port`` selects it. Every call maps to one request and
every error answer is rebuilt into the same ``LockgateError`` the server raised, so code
behaves identically in-process and over HTTP. Credentials come from ``LOCKGATE_TRACKING_TOKEN``
(Bearer) or ``LOCKGATE_TRACKING_USERNAME``/``LOCKGATE_TRACKING_PASSWORD`` (Basic); the
``MLFLOW_TRACKING_*`` equivalents are honoured too.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from lockgate.entities import (
    DatasetInput,
    Experiment,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from lockgate.errors import (
    InvalidArgument,
    LockgateError,
    NotFound,
    ServiceUnavailable,
    error_for_code,
)

if TYPE_CHECKING:
    from lockgate.store.artifact_proxy import ProxyArtifactRepository

__all__ = ["RestRegistry", "RestStore", "credentials_from_env"]

API = "/api/v1"
_TIMEOUT = httpx.Timeout(120.0, connect=10.0)


def _wire_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def credentials_from_env() -> tuple[str | None, str | None, str | None]:
    """(token, username, password) from LOCKGATE_TRACKING_* or MLFLOW_TRACKING_* variables."""
    env = os.environ

    def pick(name: str) -> str | None:
        return env.get(f"LOCKGATE_TRACKING_{name}") or env.get(f"MLFLOW_TRACKING_{name}") or None

    return pick("TOKEN"), pick("USERNAME"), pick("PASSWORD")



def _run(body: dict[str, Any]) -> Run:
    """A run from the native JSON; metric points become (step, timestamp) tuples, as in process."""
    points = body.get("data", {}).get("metric_points")
    if points:
        body["data"]["metric_points"] = {k: (int(v[0]), int(v[1])) for k, v in points.items()}
    return Run.model_validate(body)


class RestStore:
    """Tracking data on a Lockgate server, reached over HTTP(S)."""

    def __init__(
        self,
        uri: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.uri = uri.rstrip("/")
        env_token, env_user, env_password = credentials_from_env()
        self._token = token or env_token
        self._auth = None
        user, secret = username or env_user, password or env_password
        if not self._token and user and secret is not None:
            self._auth = httpx.BasicAuth(user, secret)
        self._timeout = httpx.Timeout(timeout, connect=10.0) if timeout else _TIMEOUT
        self._local = threading.local()
        self._artifact_http: httpx.Client | None = None
        self._artifact_lock = threading.Lock()

    def artifact_repository(self, root_uri: str) -> ProxyArtifactRepository:
        """The ``mlflow-artifacts:`` root ``root_uri`` behind this server's artifact proxy,
        reached with this store's credentials (each store its own: nothing process-wide)."""
        from lockgate.store.artifact_proxy import ProxyArtifactRepository

        with self._artifact_lock:
            if self._artifact_http is None:
                headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
                self._artifact_http = httpx.Client(
                    timeout=httpx.Timeout(600.0, connect=10.0), auth=self._auth, headers=headers
                )
        return ProxyArtifactRepository(root_uri, server=self.uri, http=self._artifact_http)

    # ------------------------------------------------------------------ http
    @property
    def _http(self) -> httpx.Client:
        # One client per thread: httpx pools are shared safely, but a per-thread client keeps
        # keep-alive connections from bouncing between threads under concurrent logging.
        client = getattr(self._local, "client", None)
        if client is None:
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            client = httpx.Client(base_url=self.uri, timeout=self._timeout, auth=self._auth, headers=headers)
            self._local.client = client
        return client

    def _request(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        try:
            response = self._http.request(method, API + path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Could not reach the Lockgate server at {self.uri}: {exc}") from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response.json() if response.content else {}

    def _error(self, response: httpx.Response) -> LockgateError:
        try:
            body = response.json()
            code, message = body["error_code"], body["message"]
        except (ValueError, KeyError, TypeError):
            return error_for_code(
                "INTERNAL_ERROR" if response.status_code >= 500 else "BAD_REQUEST",
                f"The server at {self.uri} answered {response.status_code}: {response.text[:300]}",
            )
        details = body.get("details") or None
        if code == "GATE_FAILED":
            return error_for_code(code, message, details=details, results=(details or {}).get("results", []))
        return error_for_code(code, message, details=details)

    # ------------------------------------------------------------ experiments
    def create_experiment(
        self, name: str, *, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        body = {"name": name, "artifact_location": artifact_location, "tags": dict(tags or {})}
        return str(self._request("POST", "/experiments", json=body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return Experiment.model_validate(self._request("GET", f"/experiments/{_segment(experiment_id, 'experiment id')}"))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            return Experiment.model_validate(self._request("GET", "/experiments/by-name", params={"name": name}))
        except NotFound:
            return None

    def search_experiments(
        self,
        *,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body = {
            "view_type": ViewType(view_type).value,
            "max_results": max_results,
            "filter_string": filter_string,
            "order_by": list(order_by) if order_by else None,
            "page_token": page_token,
        }
        page = self._request("POST", "/experiments/search", json=body)
        return PagedList([Experiment.model_validate(e) for e in page["items"]], page.get("next_page_token"))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._request("PATCH", f"/experiments/{_segment(experiment_id, 'experiment id')}", json={"name": new_name})

    def delete_experiment(self, experiment_id: str) -> None:
        self._request("DELETE", f"/experiments/{_segment(experiment_id, 'experiment id')}")

    def restore_experiment(self, experiment_id: str) -> None:
        self._request("POST", f"/experiments/{_segment(experiment_id, 'experiment id')}/restore")

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._request(
            "POST", f"/experiments/{_segment(experiment_id, 'experiment id')}/tags", json={"key": key, "value": value}
        )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._request("DELETE", f"/experiments/{_segment(experiment_id, 'experiment id')}/tags", params={"key": key})

    # ------------------------------------------------------------------- runs
    def create_run(
        self,
        *,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        run_name: str | None = None,
        tags: Sequence[RunTag] = (),
        parent_run_id: str | None = None,
        run_id: str | None = None,
    ) -> Run:
        if run_id is not None:
            raise InvalidArgument("A Lockgate server assigns run ids itself; create the run without run_id.")
        body = {
            "experiment_id": str(experiment_id),
            "user_id": user_id,
            "start_time": start_time,
            "run_name": run_name,
            "tags": [{"key": t.key, "value": t.value} for t in tags],
            "parent_run_id": parent_run_id,
        }
        return _run(self._request("POST", "/runs", json=body))

    def get_run(self, run_id: str) -> Run:
        return _run(self._request("GET", f"/runs/{_segment(run_id, 'run id')}"))

    def update_run_info(
        self,
        run_id: str,
        *,
        status: RunStatus | str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        if status is not None:
            try:
                status = RunStatus(status).value
            except ValueError:
                raise InvalidArgument(
                    f"Invalid run status {status!r}: expected one of {', '.join(s.value for s in RunStatus)}."
                ) from None
        body = {"status": status, "end_time": end_time, "run_name": run_name}
        return RunInfo.model_validate(self._request("PATCH", f"/runs/{_segment(run_id, 'run id')}", json=body))

    def delete_run(self, run_id: str) -> None:
        self._request("DELETE", f"/runs/{_segment(run_id, 'run id')}")

    def restore_run(self, run_id: str) -> None:
        self._request("POST", f"/runs/{_segment(run_id, 'run id')}/restore")

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        body = {
            "metrics": [
                {"key": m.key, "value": _wire_float(m.value), "timestamp": m.timestamp, "step": m.step} for m in metrics
            ],
            "params": [{"key": p.key, "value": p.value} for p in params],
            "tags": [{"key": t.key, "value": t.value} for t in tags],
        }
        self._request("POST", f"/runs/{_segment(run_id, 'run id')}/batch", json=body)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._request("DELETE", f"/runs/{_segment(run_id, 'run id')}/tags", params={"key": key})

    def get_metric_history(
        self, run_id: str, key: str, *, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        params: dict[str, Any] = {"key": key}
        if max_results is not None:
            params["max_results"] = max_results
        if page_token:
            params["page_token"] = page_token
        page = self._request("GET", f"/runs/{_segment(run_id, 'run id')}/metric-history", params=params)
        construct = Metric.model_construct
        points = [
            construct(key=m["key"], value=float(m["value"]), timestamp=m["timestamp"], step=m["step"])
            for m in page["items"]
        ]
        return PagedList(points, page.get("next_page_token"))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        body = {"datasets": [d.model_dump(mode="json", by_alias=True) for d in datasets]}
        self._request("POST", f"/runs/{_segment(run_id, 'run id')}/inputs", json=body)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter_string": filter_string or "",
            "view_type": ViewType(view_type).value,
            "max_results": max_results,
            "order_by": list(order_by) if order_by else None,
            "page_token": page_token,
        }
        page = self._request("POST", "/runs/search", json=body)
        return PagedList([_run(r) for r in page["items"]], page.get("next_page_token"))

    def gc(
        self,
        *,
        older_than_ms: int | None = None,
        run_ids: Sequence[str] | None = None,
        experiment_ids: Sequence[str] | None = None,
    ) -> list[Run]:
        body = {
            "older_than_ms": older_than_ms,
            "run_ids": list(run_ids) if run_ids is not None else None,
            "experiment_ids": [str(e) for e in experiment_ids] if experiment_ids is not None else None,
        }
        return [_run(r) for r in self._request("POST", "/gc", json=body)["runs"]]

    def close(self) -> None:
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None
        with self._artifact_lock:
            if self._artifact_http is not None:
                self._artifact_http.close()
                self._artifact_http = None


def _model_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"Invalid registered model name {name!r}: it must be a non-empty string.")
    return name


def _segment(value: object, what: str) -> str:
    """An id as one URL path segment; anything that could change the path is refused here."""
    text = str(value)
    if not text or "/" in text or text in (".", "..") or "?" in text or "#" in text or "%" in text:
        raise InvalidArgument(f"Invalid {what} {text!r}.")
    return text


def _guarded(reason: str | None, override: bool) -> dict[str, Any]:
    """The override fields of a guarded change, only when given (the server decides privilege)."""
    return {k: v for k, v in (("reason", reason), ("override", override)) if v}


class RestRegistry:
    """The model registry on a Lockgate server (``/api/v1/registered-models`` and friends).

    Gates run on the server; a refused move raises the same ``GateFailed`` (with every rule's
    verdict) as in-process. ``actor`` travels as a header and is only trusted when the server
    has auth off; with auth on the server records the authenticated user.
    """

    def __init__(self, uri: str, **kwargs: Any) -> None:
        self._rest = RestStore(uri, **kwargs)
        self.uri = self._rest.uri

    def _call(self, method: str, path: str, *, actor: str = "", json: Any = None, params: Any = None) -> Any:
        client = self._rest._http
        headers = {"X-Lockgate-Actor": actor} if actor else None
        try:
            response = client.request(method, API + path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Could not reach the Lockgate server at {self.uri}: {exc}") from exc
        if response.status_code >= 400:
            raise self._rest._error(response)
        return response.json() if response.content else {}

    @staticmethod
    def _m(name: str) -> str:
        return "/registered-models/" + _segment(_model_name(name), "registered model name")

    def _v(self, name: str, version: int | str) -> str:
        return f"{self._m(name)}/versions/{_segment(version, 'version')}"

    # ------------------------------------------------------------ entities
    @staticmethod
    def _entities() -> Any:
        from lockgate.registry import entities

        return entities

    def _model(self, data: Any) -> Any:
        return self._entities().RegisteredModel.model_validate(data)

    def _version(self, data: Any) -> Any:
        return self._entities().ModelVersion.model_validate(data)

    # ---------------------------------------------------- registered models
    def create_registered_model(self, name: str, *, description: str | None = None,
                                tags: Any = None, exist_ok: bool = False, actor: str = "") -> Any:
        _model_name(name)
        body = {"name": name, "description": description, "tags": {k: str(v) for k, v in (tags or {}).items()},
                "exist_ok": exist_ok}
        return self._model(self._call("POST", "/registered-models", json=body, actor=actor))

    def get_registered_model(self, name: str) -> Any:
        return self._model(self._call("GET", self._m(name)))

    def rename_registered_model(self, name: str, new_name: str, *, actor: str = "", reason: str | None = None,
                                override: bool = False, privileged: bool = False) -> Any:
        body = {"new_name": new_name, **_guarded(reason, override)}
        return self._model(self._call("PATCH", self._m(name), json=body, actor=actor))

    def update_registered_model(self, name: str, *, description: str | None, actor: str = "") -> Any:
        return self._model(self._call("PATCH", self._m(name), json={"description": description}, actor=actor))

    def delete_registered_model(self, name: str, *, actor: str = "", reason: str | None = None,
                                override: bool = False, privileged: bool = False) -> None:
        self._call("DELETE", self._m(name), actor=actor, params=_guarded(reason, override) or None)

    def search_registered_models(self, *, filter_string: str | None = None, max_results: int = 100,
                                 order_by: Sequence[str] | None = None, page_token: str | None = None) -> Any:
        params = {"filter_string": filter_string, "max_results": max_results, "page_token": page_token,
                  "order_by": list(order_by) if order_by else None}
        page = self._call("GET", "/registered-models", params={k: v for k, v in params.items() if v is not None})
        return PagedList([self._model(m) for m in page["items"]], page.get("next_page_token"))

    def set_registered_model_tag(self, name: str, key: str, value: Any, *, actor: str = "") -> None:
        self._call("POST", f"{self._m(name)}/tags", json={"key": key, "value": str(value)}, actor=actor)

    def delete_registered_model_tag(self, name: str, key: str, *, actor: str = "") -> None:
        self._call("DELETE", f"{self._m(name)}/tags", params={"key": key}, actor=actor)

    # -------------------------------------------------------- model versions
    def create_model_version(self, name: str, *, source: str, run_id: str | None = None, tags: Any = None,
                             run_link: str | None = None, description: str | None = None, actor: str = "",
                             idempotency_key: str | None = None) -> Any:
        body = {"source": source, "run_id": run_id, "description": description, "run_link": run_link,
                "tags": {k: str(v) for k, v in (tags or {}).items()}}
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        return self._version(self._call("POST", f"{self._m(name)}/versions", json=body, actor=actor))

    def get_model_version(self, name: str, version: int | str) -> Any:
        return self._version(self._call("GET", self._v(name, version)))

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        return str(self._call("GET", f"{self._v(name, version)}/download-uri")["artifact_uri"])

    def get_model_version_lineage(self, name: str, version: int | str) -> Any:
        return self._entities().ModelVersionLineage.model_validate(self._call("GET", f"{self._v(name, version)}/lineage"))

    def update_model_version(self, name: str, version: int | str, *, description: str | None,
                             actor: str = "") -> Any:
        return self._version(self._call("PATCH", self._v(name, version), json={"description": description},
                                        actor=actor))

    def delete_model_version(self, name: str, version: int | str, *, actor: str = "", reason: str | None = None,
                             override: bool = False, privileged: bool = False) -> None:
        self._call("DELETE", self._v(name, version), actor=actor, params=_guarded(reason, override) or None)

    def search_model_versions(self, *, filter_string: str | None = None, max_results: int = 1000,
                              order_by: Sequence[str] | None = None, page_token: str | None = None) -> Any:
        params = {"filter_string": filter_string, "max_results": max_results, "page_token": page_token,
                  "order_by": list(order_by) if order_by else None}
        page = self._call("GET", "/model-versions", params={k: v for k, v in params.items() if v is not None})
        return PagedList([self._version(v) for v in page["items"]], page.get("next_page_token"))

    def get_latest_versions(self, name: str, *, stages: Sequence[str] | None = None) -> list[Any]:
        params = {"stages": list(stages)} if stages else None
        return [self._version(v) for v in self._call("GET", f"{self._m(name)}/latest-versions", params=params)]

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any, *, actor: str = "") -> None:
        self._call("POST", f"{self._v(name, version)}/tags", json={"key": key, "value": str(value)}, actor=actor)

    def delete_model_version_tag(self, name: str, version: int | str, key: str, *, actor: str = "") -> None:
        self._call("DELETE", f"{self._v(name, version)}/tags", params={"key": key}, actor=actor)

    # ------------------------------------------------------ aliases, stages
    def set_registered_model_alias(self, name: str, alias: str, version: int | str, *, actor: str = "",
                                   privileged: bool = False) -> None:
        self._call("PUT", f"{self._m(name)}/aliases/{_segment(alias, 'alias')}", json={"version": int(version)},
                   actor=actor)

    def delete_registered_model_alias(self, name: str, alias: str, *, actor: str = "", reason: str | None = None,
                                      override: bool = False, privileged: bool = False) -> None:
        self._call("DELETE", f"{self._m(name)}/aliases/{_segment(alias, 'alias')}", actor=actor,
                   params=_guarded(reason, override) or None)

    def get_model_version_by_alias(self, name: str, alias: str) -> Any:
        return self._version(self._call("GET", f"{self._m(name)}/aliases/{_segment(alias, 'alias')}"))

    def transition_model_version_stage(self, name: str, version: int | str, stage: str, *,
                                       archive_existing_versions: bool = False, actor: str = "",
                                       reason: str | None = None, override: bool = False,
                                       privileged: bool = False) -> Any:
        body = {"stage": stage, "archive_existing_versions": archive_existing_versions, "reason": reason,
                "override": override}
        return self._version(self._call("POST", f"{self._v(name, version)}/stage", json=body, actor=actor))

    def resolve_model_uri(self, uri: str) -> Any:
        return self._version(self._call("GET", "/resolve", params={"uri": uri}))

    # ----------------------------------------------------------------- gates
    def set_gate_policy(self, name: str, *, alias: str | None = None, stage: str | None = None,
                        policy: Any, actor: str = "", reason: str | None = None, override: bool = False,
                        privileged: bool = False) -> Any:
        if hasattr(policy, "model_dump"):
            policy = policy.model_dump(mode="json")
        elif isinstance(policy, (str, bytes)):
            from lockgate.registry.gates import GatePolicy

            policy = GatePolicy.from_document(policy).model_dump(mode="json")
        body = {"alias": alias, "stage": stage, "policy": dict(policy), **_guarded(reason, override)}
        return self._entities().GatePolicyRecord.model_validate(
            self._call("PUT", f"{self._m(name)}/gates", json=body, actor=actor))

    def get_gate_policy(self, name: str, *, alias: str | None = None, stage: str | None = None,
                        policy_version: int | None = None) -> Any:
        params = {k: v for k, v in (("alias", alias), ("stage", stage), ("policy_version", policy_version))
                  if v is not None}
        try:
            data = self._call("GET", f"{self._m(name)}/gates/policy", params=params)
        except NotFound:
            return None
        return self._entities().GatePolicyRecord.model_validate(data)

    def list_gate_policies(self, name: str) -> list[Any]:
        record = self._entities().GatePolicyRecord
        return [record.model_validate(r) for r in self._call("GET", f"{self._m(name)}/gates")]

    def evaluate_gate(self, name: str, *, version: int | str, alias: str | None = None,
                      stage: str | None = None, actor: str = "") -> Any:
        body = {"version": int(version), "alias": alias, "stage": stage}
        return self._entities().GateDecision.model_validate(
            self._call("POST", f"{self._m(name)}/gates/evaluate", json=body, actor=actor))

    def promote(self, name: str, *, version: int | str, alias: str | None = None, stage: str | None = None,
                reason: str | None = None, override: bool = False, archive_existing_versions: bool = True,
                actor: str = "", privileged: bool = False) -> Any:
        body = {"version": int(version), "alias": alias, "stage": stage, "reason": reason, "override": override}
        return self._entities().GateDecision.model_validate(
            self._call("POST", f"{self._m(name)}/promote", json=body, actor=actor))

    def approve_model_version(self, name: str, version: int | str, *, comment: str | None = None,
                              actor: str = "") -> Any:
        return self._entities().RegistryEvent.model_validate(
            self._call("POST", f"{self._v(name, version)}/approve", json={"comment": comment}, actor=actor))

    # ----------------------------------------------------------- audit trail
    def get_promotion_history(self, name: str, *, alias: str | None = None, stage: str | None = None,
                              limit: int = 1000) -> list[Any]:
        params = {k: v for k, v in (("alias", alias), ("stage", stage), ("limit", limit)) if v is not None}
        event = self._entities().RegistryEvent
        return [event.model_validate(e) for e in self._call("GET", f"{self._m(name)}/history", params=params)]

    def get_events(self, *, after_id: int = 0, model_name: str | None = None, types: Sequence[Any] | None = None,
                   limit: int = 1000) -> list[Any]:
        params: dict[str, Any] = {"after_id": after_id, "limit": limit}
        if model_name:
            params["model_name"] = model_name
        if types:
            params["types"] = [str(getattr(t, "value", t)) for t in types]
        event = self._entities().RegistryEvent
        return [event.model_validate(e) for e in self._call("GET", "/events", params=params)]
