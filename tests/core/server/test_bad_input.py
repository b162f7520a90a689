"""Bad input against a live server: every answer is a 4xx with a JSON error body naming the
problem, never a 5xx or a traceback."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

API = "/api/2.0/mlflow"


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error_code", "message"}
    assert "Traceback" not in response.text
    if code:
        assert body["error_code"] == code
    return body


@pytest.fixture
def http(server_url: str) -> httpx.Client:
    with httpx.Client(base_url=server_url, timeout=30) as client:
        yield client


@pytest.fixture
def run_id(http: httpx.Client) -> str:
    exp = http.post(f"{API}/experiments/create", json={"name": "bad"}).json()["experiment_id"]
    return http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]


def test_malformed_json(http: httpx.Client) -> None:
    body = _error(
        http.post(f"{API}/runs/log-metric", content=b'{"run_id": ', headers={"content-type": "application/json"}),
        400,
        "MALFORMED_REQUEST",
    )
    assert "not valid JSON" in body["message"]
    _error(http.post("/api/v1/runs/search", content=b"[1,", headers={"content-type": "application/json"}), 400)


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/runs/log-metric", {"key": "m", "value": "high", "timestamp": 1}, "value"),
        ("/runs/log-metric", {"key": "m", "value": 1.0}, "timestamp"),
        ("/runs/log-batch", {"metrics": "not-a-list"}, "metrics"),
        # MLflow's log-batch only checks that a metric's timestamp is present (an unreadable one
        # is stored as 0, see test_mlflow_validation_rules.py), so a missing one is the bad input.
        ("/runs/log-batch", {"metrics": [{"key": "m", "value": 1}]}, "metrics[0].timestamp"),
        ("/runs/log-parameter", {"key": ["a"], "value": "1"}, "key"),
        ("/runs/search", {"experiment_ids": "0", "max_results": "many"}, "max_results"),
        ("/runs/search", {"experiment_ids": ["0"], "run_view_type": "SOMETIMES"}, "run_view_type"),
        ("/experiments/create", {"name": 42}, "name"),
        ("/experiments/create", {}, "name"),
        # A status name MLflow does not know is ignored (200); a number it does not know is refused.
        ("/runs/update", {"run_id": "x" * 32, "status": 9}, "status"),
    ],
)
def test_wrong_types_and_missing_fields_name_the_field(
    http: httpx.Client, run_id: str, path: str, payload: dict[str, Any], field: str
) -> None:
    if path.startswith("/runs/") and path != "/runs/search":
        payload = {"run_id": run_id, **payload}
    body = _error(http.post(API + path, json=payload), 400, "INVALID_PARAMETER_VALUE")
    assert field in body["message"]


def test_missing_run_id_and_unknown_ids(http: httpx.Client) -> None:
    assert "run_id" in _error(http.post(f"{API}/runs/set-tag", json={"key": "k", "value": "v"}), 400)["message"]
    _error(http.get(f"{API}/runs/get", params={"run_id": "a" * 32}), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(http.get(f"{API}/experiments/get", params={"experiment_id": "424242"}), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(http.get(f"{API}/experiments/get", params={"experiment_id": "99999999999999999999999"}), 400)
    _error(http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"}), 404)
    _error(http.post(f"{API}/experiments/create", json={"name": "Default"}), 400, "RESOURCE_ALREADY_EXISTS")


def test_unknown_endpoints_and_methods(http: httpx.Client) -> None:
    _error(http.get(f"{API}/runs/teleport"), 404, "ENDPOINT_NOT_FOUND")
    _error(http.get("/api/v1/no/such/thing"), 404, "ENDPOINT_NOT_FOUND")
    # any other path belongs to the web UI, which shows its own not-found page
    assert "text/html" in http.get("/no/such/thing").headers["content-type"]
    _error(http.delete(f"{API}/runs/create"), 405)


def test_oversized_batches(http: httpx.Client, run_id: str) -> None:
    metrics = [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0} for i in range(1001)]
    body = _error(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}), 400)
    assert "at most 1000 metrics" in body["message"]
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    body = _error(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params}), 400)
    assert "at most 100 params" in body["message"]
    run = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    assert run["data"]["metrics"] == [] and run["data"]["params"] == []


def test_bad_values_and_keys(http: httpx.Client, run_id: str) -> None:
    body = _error(
        http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "../etc", "value": "1"}), 400
    )
    assert "'../etc'" in body["message"]
    _error(http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": "metrics.acc >>> 1"}), 400)
    _error(http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "page_token": "garbage!"}), 400)
    _error(http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "max_results": 10**9}), 400)


def _raw_request(url: str, request_line: str) -> tuple[int, str]:
    """Send a request line byte-for-byte (HTTP clients normalize '..' before sending)."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
        sock.sendall(f"{request_line} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nEVIL".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "0/../../../outside.txt",
        "%2e%2e/%2e%2e/outside.txt",
        "0/..%2f..%2foutside.txt",
        "%252e%252e/outside.txt",
        "%2fetc%2fpasswd",
        "C:%5cwindows%5cwin.ini",
        "0/%5c..%5c..%5couter",
    ],
)
def test_artifact_traversal_is_refused(server_url: str, artifacts_dir: Any, path: str) -> None:
    for method in ("PUT", "GET", "DELETE"):
        status, body = _raw_request(server_url, f"{method} /api/2.0/mlflow-artifacts/artifacts/{path}")
        assert status == 400, (method, path, status, body)
        assert json.loads(body)["error_code"] == "INVALID_PARAMETER_VALUE" and "is not allowed" in body
    status, body = _raw_request(server_url, f"GET /api/2.0/mlflow-artifacts/artifacts?path={path}")
    assert status == 400 and json.loads(body)["error_code"] == "INVALID_PARAMETER_VALUE"
    outside = artifacts_dir.parent / "outside.txt"
    assert not outside.exists()
    assert list(artifacts_dir.rglob("*")) == []
