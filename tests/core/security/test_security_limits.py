"""Hostile and careless clients against a live server: oversized bodies, lists and filters,
idle-connection floods, and input that used to end in a 500 (issue 12, items 3-6 and 8).

Each test first reproduces the finding; the assertions are the fixed behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from limits_support import error_body, thread_server

API = "/api/2.0/mlflow"
JSON = {"content-type": "application/json"}


@pytest.fixture
def app_factory(tmp_path: Path) -> Any:
    def make(uri: str, **kwargs: Any) -> Any:
        from lockgate.server.app import create_app

        artifacts = tmp_path / "artifacts"
        artifacts.mkdir(exist_ok=True)
        return create_app(backend_store_uri=uri, artifacts_destination=str(artifacts), **kwargs)

    return make


@pytest.fixture
def http(app_factory: Any, store_uri: str) -> Iterator[httpx.Client]:
    """A client of a live server on SQLite, then on PostgreSQL."""
    with thread_server(app_factory(store_uri)) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture
def sqlite_http(app_factory: Any, sqlite_uri: str) -> Iterator[httpx.Client]:
    with thread_server(app_factory(sqlite_uri)) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


# ----------------------------------------------------------------- item 8: 500s on bad input
@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        (f"{API}/experiments/create", b'{"name": "exp-\\ud800"}', "name"),
        (f"{API}/registered-models/create", b'{"name": "\\udfff-model"}', "name"),
        (f"{API}/experiments/create", b'{"name": "ok", "tags": [{"key": "k", "value": "\\ud800"}]}',
         "tags[0].value"),
        ("/api/v1/experiments", b'{"name": "\\ud800"}', "name"),
        ("/api/v1/registered-models", b'{"name": "\\ud83d"}', "name"),
        # A raw UTF-8-encoded surrogate, which json.loads also turns into a lone surrogate.
        ("/api/v1/experiments", b'{"name": "x\xed\xa0\x80"}', "name"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(
    http: httpx.Client, path: str, payload: bytes, field: str
) -> None:
    body = error_body(http.post(path, content=payload, headers=JSON), 400, "INVALID_PARAMETER_VALUE")
    assert f"{field}: contains a lone UTF-16 surrogate" in body["message"]
    # Nothing was stored, and a proper surrogate pair (an emoji) is still fine.
    names = [e["name"] for e in http.get(f"{API}/experiments/search", params={"max_results": 100})
             .json()["experiments"]]
    assert names == ["Default"]
    ok = http.post(f"{API}/experiments/create", content=b'{"name": "smile \\ud83d\\ude00"}', headers=JSON)
    assert ok.status_code == 200, ok.text
    got = http.get(f"{API}/experiments/get", params={"experiment_id": ok.json()["experiment_id"]}).json()
    assert got["experiment"]["name"] == "smile \U0001f600"


def test_bad_query_values_are_400_naming_the_field(http: httpx.Client) -> None:
    for value in ("-0", " 1 ", "+1", "1e3"):
        body = error_body(http.get("/api/v1/events", params={"after_id": value}), 400, "INVALID_PARAMETER_VALUE")
        assert "after_id" in body["message"]
    assert http.get("/api/v1/events", params={"after_id": "0"}).json() == []
    body = error_body(http.get(f"{API}/experiments/search", params={"view_type": "BOGUS"}), 400,
                      "INVALID_PARAMETER_VALUE")
    assert "view_type" in body["message"]


def test_out_of_range_and_boolean_numbers_are_refused(http: httpx.Client) -> None:
    assert http.post("/api/v1/registered-models", json={"name": "m"}).status_code == 200
    version = http.post("/api/v1/registered-models/m/versions", json={"source": "file:///tmp/m"}).json()
    assert version["version"] == 1
    policy = {"rules": [{"type": "require_approvals", "count": 2**64}]}
    body = error_body(http.put("/api/v1/registered-models/m/gates", json={"alias": "champion", "policy": policy}),
                      400, "INVALID_PARAMETER_VALUE")
    assert "policy" in body["message"] and "rules[0].count" in body["message"]
    assert http.get("/api/v1/registered-models/m/gates").json() == []
    # "version": true used to be read as version 1.
    body = error_body(http.put("/api/v1/registered-models/m/aliases/champion", json={"version": True}), 400,
                      "INVALID_PARAMETER_VALUE")
    assert "version" in body["message"]
    body = error_body(http.post("/api/v1/registered-models/m/promote", json={"version": True, "alias": "c"}),
                      400, "INVALID_PARAMETER_VALUE")
    assert "version" in body["message"]
    assert http.get("/api/v1/registered-models/m").json()["aliases"] == {}


def test_an_unexpected_error_keeps_the_connection_usable(app_factory: Any, sqlite_uri: str) -> None:
    """A 500 used to be followed by a reset: Starlette's last-resort handler re-raised, and
    uvicorn dropped the keep-alive connection under the client's next request."""
    app = app_factory(sqlite_uri)

    def boom() -> None:
        raise RuntimeError("a bug, not bad input")

    app.add_api_route("/api/v1/test-boom", boom, methods=["GET"])
    with thread_server(app) as url, httpx.Client(base_url=url, timeout=30,
                                                 limits=httpx.Limits(max_connections=1)) as client:
        for _ in range(3):
            body = error_body(client.get("/api/v1/test-boom"), 500, "INTERNAL_ERROR")
            assert "RuntimeError" in body["message"] and "a bug" not in body["message"]
            assert client.get("/health").text == "OK"
