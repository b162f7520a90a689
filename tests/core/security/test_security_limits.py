"""Hostile and careless clients against a live server: oversized bodies, lists and filters,
idle-connection floods, and input that used to end in a 500 (issue 12, items 3-6 and 8).

Each test first reproduces the finding; the assertions are the fixed behaviour.
"""

from __future__ import annotations

import json
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
    app.router.routes.insert(0, app.router.routes.pop())  # ahead of the web UI's catch-all route
    with thread_server(app) as url, httpx.Client(base_url=url, timeout=30,
                                                 limits=httpx.Limits(max_connections=1)) as client:
        for _ in range(3):
            body = error_body(client.get("/api/v1/test-boom"), 500, "INTERNAL_ERROR")
            assert "RuntimeError" in body["message"] and "a bug" not in body["message"]
            assert client.get("/health").text == "OK"


# ------------------------------------------------------------ item 4: unbounded request bodies
def _stream_chunked(url: str, path: str, *, total: int, method: str = "POST") -> tuple[int, bytes, int]:
    """Send ``total`` bytes of chunked body from one thread while reading the answer in another,
    as a browser or curl does; returns (status, body, bytes actually sent)."""
    import socket
    import threading
    from urllib.parse import urlsplit

    chunk = 1024 * 1024
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    sent = [0]

    def send() -> None:
        piece = f"{chunk:x}\r\n".encode() + b'{"metrics": [' + b" " * (chunk - 13) + b"\r\n"
        try:
            while sent[0] < total:
                sock.sendall(piece)
                sent[0] += chunk
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: exactly what a limit should do

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = b""
    try:
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    finally:
        sock.close()
        sender.join(timeout=30)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body, sent[0]


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def test_a_huge_streamed_body_gets_413_while_memory_stays_flat(tmp_path: Path, sqlite_uri: str) -> None:
    """1 GiB to runs/log-batch took the server from 158 MiB to 6 GiB; now the body is counted
    as it arrives and refused past the limit, so the worker's memory barely moves."""
    from limits_support import ProcessServer, rss_bytes

    args = ("--backend-store-uri", sqlite_uri, "--artifacts-destination", str(tmp_path / "a"), "--no-access-log")
    with ProcessServer(*args, env={"LOCKGATE_SERVER_MAX_REQUEST_BYTES": str(4 * 1024 * 1024)}) as server:
        assert server.proc is not None
        before = rss_bytes(server.proc.pid)
        status, body, sent = _stream_chunked(server.url, f"{API}/runs/log-batch", total=512 * 1024 * 1024)
        assert status == 413
        error = json.loads(body)
        assert error["error_code"] == "RESOURCE_EXHAUSTED"
        assert "4194304 bytes" in error["message"]
        # The server stopped reading long before the 512 MiB were sent, and kept none of it.
        assert sent < 128 * 1024 * 1024
        assert rss_bytes(server.proc.pid) - before < 48 * 1024 * 1024
        # The native API answers with its own error shape, and normal requests are unaffected.
        status, body, _ = _stream_chunked(server.url, "/api/v1/runs/search", total=16 * 1024 * 1024)
        assert status == 413 and json.loads(body)["error_code"] == "RESOURCE_EXHAUSTED"
        created = httpx.post(server.url + f"{API}/experiments/create", json={"name": "after"}, timeout=30)
        assert created.status_code == 200, created.text


def test_a_declared_oversized_body_is_refused_before_it_is_read(app_factory: Any, sqlite_uri: str) -> None:
    from lockgate.server.limits import ServerLimits

    app = app_factory(sqlite_uri, limits=ServerLimits(max_request_bytes=64 * 1024))
    with thread_server(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        metrics = [{"key": f"metric-{i:04d}-" + "x" * 50, "value": 1.0, "timestamp": 1, "step": i} for i in range(1000)]
        body = error_body(client.post(f"{API}/runs/log-batch", json={"run_id": "r", "metrics": metrics}), 413,
                          "RESOURCE_EXHAUSTED")
        assert "65536 bytes" in body["message"]
        # Below the limit everything works as before.
        assert client.post(f"{API}/experiments/create", json={"name": "small"}).status_code == 200


def test_artifact_uploads_stream_unlimited_unless_configured(app_factory: Any, sqlite_uri: str,
                                                             tmp_path: Path) -> None:
    from lockgate.server.limits import ServerLimits

    payload = bytes(range(256)) * (24 * 4096)  # 24 MiB, well past the JSON body limit below
    small_json = ServerLimits(max_request_bytes=1024 * 1024)
    with thread_server(app_factory(sqlite_uri, limits=small_json)) as url, httpx.Client(base_url=url) as client:
        put = client.put("/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/big.bin",
                         content=iter([payload[i:i + 65536] for i in range(0, len(payload), 65536)]), timeout=120)
        assert put.status_code == 200, put.text
        assert client.get("/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/big.bin", timeout=120).content == payload
    capped = ServerLimits(max_upload_bytes=8 * 1024 * 1024)
    with thread_server(app_factory(sqlite_uri, limits=capped)) as url, httpx.Client(base_url=url) as client:
        status, body, _ = _stream_chunked(url, "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/capped.bin",
                                          total=64 * 1024 * 1024, method="PUT")
        assert status == 413 and json.loads(body)["error_code"] == "RESOURCE_EXHAUSTED"
        listing = client.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "1/r/artifacts"}).json()
        assert listing == {"files": [{"path": "big.bin", "is_dir": False, "file_size": len(payload)}]}


# --------------------------------------------------------------- item 3: connection exhaustion
def _open_idle(url: str, count: int) -> list[Any]:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex((parts.hostname, parts.port))  # in progress is fine: it sits in the backlog
        socks.append(sock)
    return socks


def test_idle_connection_flood_does_not_lock_out_normal_requests(tmp_path: Path, sqlite_uri: str) -> None:
    """20,600 idle sockets filled the file-handle limit and every request failed. At bounded scale:
    a server allowed 512 file handles gets 1,500 idle sockets, and still answers."""
    from limits_support import ProcessServer, open_fds

    args = ("--backend-store-uri", sqlite_uri, "--artifacts-destination", str(tmp_path / "a"),
            "--no-access-log", "--keep-alive", "60")
    with ProcessServer(*args, open_files=512) as server:
        assert server.proc is not None
        socks = _open_idle(server.url, 1500)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for i in range(20):
                    created = client.post(f"{API}/experiments/create", json={"name": f"during-flood-{i}"})
                    assert created.status_code == 200, created.text
                names = {e["name"] for e in client.get(f"{API}/experiments/search",
                                                        params={"max_results": 100}).json()["experiments"]}
                assert {f"during-flood-{i}" for i in range(20)} <= names
            # The worker never holds more handles than the cap (limit minus a reserve) allows.
            assert open_fds(server.proc.pid) <= 512
        finally:
            for sock in socks:
                sock.close()


def test_a_socket_that_never_sends_is_closed(tmp_path: Path, sqlite_uri: str) -> None:
    """Stock uvicorn only starts its keep-alive timer after a first response."""
    import socket
    from urllib.parse import urlsplit

    from limits_support import ProcessServer

    args = ("--backend-store-uri", sqlite_uri, "--artifacts-destination", str(tmp_path / "a"),
            "--no-access-log", "--keep-alive", "1")
    with ProcessServer(*args) as server:
        parts = urlsplit(server.url)
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.settimeout(60)  # generous: only "closed at all" is asserted, not how fast
            assert sock.recv(1) == b""


# ---------------------------------------------------------------- item 6: unbounded filters
def _clauses(count: int) -> str:
    return " and ".join(f"params.p{i} = 'v{i}'" for i in range(count))


def test_filter_size_and_clause_count_are_bounded_with_a_clear_400(http: httpx.Client) -> None:
    """1,001 AND clauses were 503 'temporarily unavailable' on SQLite; a 10 MB filter burned a
    core for minutes. Both are bad input: INVALID_PARAMETER_VALUE, nothing reaches the database."""
    exp = http.post(f"{API}/experiments/create", json={"name": "f"}).json()["experiment_id"]
    run = http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    params = [{"key": f"p{i}", "value": f"v{i}"} for i in range(100)]
    assert http.post(f"{API}/runs/log-batch", json={"run_id": run, "params": params}).status_code == 200

    # The largest filter allowed still runs on both databases and finds the run.
    found = http.post(f"{API}/runs/search", json={"experiment_ids": [exp], "filter": _clauses(100) + " and "
                                                  + " and ".join(["attributes.status != 'KILLED'"] * 100)})
    assert found.status_code == 200, found.text
    assert [r["info"]["run_id"] for r in found.json()["runs"]] == [run]

    body = error_body(http.post(f"{API}/runs/search", json={"experiment_ids": [exp], "filter": _clauses(1001)}),
                      400, "INVALID_PARAMETER_VALUE")
    assert "at most 200 clauses" in body["message"]
    huge = "params.p = '" + "x" * (10 * 1024 * 1024) + "'"
    body = error_body(http.post("/api/v1/runs/search", json={"experiment_ids": [exp], "filter_string": huge}),
                      400, "INVALID_PARAMETER_VALUE")
    assert "the limit is 32768" in body["message"]
    body = error_body(http.get(f"{API}/registered-models/search", params={"filter": _clauses(1001)
                                                                         .replace("params.p", "name")}), 400)
    assert "filter" in body["message"]
    body = error_body(http.post(f"{API}/experiments/search", json={"filter": "name = 'x' and " * 1000 + "name = 'y'"}),
                      400, "INVALID_PARAMETER_VALUE")
    assert "at most 200 clauses" in body["message"]


def test_id_lists_are_bounded_below_driver_limits(http: httpx.Client) -> None:
    """100k experiment ids were 503 on PostgreSQL (the driver's 65,535-parameter limit)."""
    many = [str(i) for i in range(100_000)]
    for path, payload in ((f"{API}/runs/search", {"experiment_ids": many}),
                          ("/api/v1/runs/search", {"experiment_ids": many})):
        body = error_body(http.post(path, json=payload), 400, "INVALID_PARAMETER_VALUE")
        assert "experiment_ids" in body["message"] and "10000" in body["message"]
    # Up to the limit works on both databases.
    ok = http.post(f"{API}/runs/search", json={"experiment_ids": [str(i) for i in range(10_000)]})
    assert ok.status_code == 200, ok.text
    assert ok.json().get("runs", []) == []


def test_the_python_api_applies_the_same_limits(store_uri: str) -> None:
    from lockgate.errors import InvalidArgument
    from lockgate.store.sql.store import SqlStore

    store = SqlStore(store_uri)
    with pytest.raises(InvalidArgument, match="at most 200 clauses"):
        store.search_runs(["0"], filter_string=_clauses(201))
    with pytest.raises(InvalidArgument, match="experiment_ids: 10001 ids"):
        store.search_runs([str(i) for i in range(10_001)])


# ------------------------------------------------------ item 5: one request locks out writers
def _datasets(count: int, *, offset: int = 0) -> list[dict[str, Any]]:
    return [{"tags": [{"key": "mlflow.data.context", "value": "train"}],
             "dataset": {"name": f"ds-{offset + i}", "digest": f"{offset + i:08x}", "source_type": "local",
                         "source": f"file:///data/{offset + i}.parquet", "schema": '{"mlflow_colspec": []}'}}
            for i in range(count)]


def test_log_inputs_is_bounded_and_never_locks_out_other_writers(http: httpx.Client) -> None:
    """100,000 datasets held SQLite's write lock for 90 s while every other write failed with 503
    'database is locked'. MLflow's limit (1,000 per request) is enforced before any lock is taken,
    and the largest allowed request is written in a few batched statements."""
    import threading

    exp = http.post(f"{API}/experiments/create", json={"name": "inputs"}).json()["experiment_id"]
    run = http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    body = error_body(http.post(f"{API}/runs/log-inputs", json={"run_id": run, "datasets": _datasets(100_000)}),
                      400, "INVALID_PARAMETER_VALUE")
    assert "datasets" in body["message"] and "1000" in body["message"]
    native = error_body(http.post(f"/api/v1/runs/{run}/inputs",
                                  json={"datasets": [d | {"tags": {}} for d in _datasets(1001)]}), 400)
    assert "datasets" in native["message"]
    too_long = _datasets(1)
    too_long[0]["dataset"]["digest"] = "f" * 37
    assert "digest" in error_body(http.post(f"{API}/runs/log-inputs",
                                            json={"run_id": run, "datasets": too_long}), 400)["message"]

    url = str(http.base_url)
    other_status: list[int] = []
    stop = threading.Event()

    def other_writer() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            step = 0
            while not stop.is_set() or step < 5:
                response = client.post(f"{API}/runs/log-metric",
                                       json={"run_id": run, "key": "loss", "value": step, "timestamp": 1,
                                             "step": step})
                other_status.append(response.status_code)
                step += 1

    writer = threading.Thread(target=other_writer)
    writer.start()
    try:
        for round_ in range(4):
            response = http.post(f"{API}/runs/log-inputs",
                                 json={"run_id": run, "datasets": _datasets(1000, offset=round_ * 1000)})
            assert response.status_code == 200, response.text
    finally:
        stop.set()
        writer.join(timeout=300)
    assert other_status and set(other_status) == {200}, sorted(set(other_status))
    history = http.get(f"{API}/metrics/get-history", params={"run_id": run, "metric_key": "loss"}).json()
    assert len(history["metrics"]) == len(other_status)
    inputs = http.get(f"{API}/runs/get", params={"run_id": run}).json()["run"]["inputs"]["dataset_inputs"]
    assert sorted(d["dataset"]["name"] for d in inputs) == sorted(f"ds-{i}" for i in range(4000))


def test_a_client_waiting_for_100_continue_gets_413_at_once(app_factory: Any, sqlite_uri: str) -> None:
    import socket

    from lockgate.server.limits import ServerLimits

    app = app_factory(sqlite_uri, limits=ServerLimits(max_request_bytes=64 * 1024))
    with thread_server(app) as url:
        parsed = httpx.URL(url)
        with socket.create_connection((parsed.host, parsed.port)) as sock:
            sock.settimeout(60)
            sock.sendall(f"POST {API}/runs/log-batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {1024 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n".encode())
            answer = b""
            while b"}" not in answer:
                piece = sock.recv(65536)
                if not piece:
                    break
                answer += piece
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"100 Continue" not in head
        assert json.loads(body)["error_code"] == "RESOURCE_EXHAUSTED"
