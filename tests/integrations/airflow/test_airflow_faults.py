"""A connection to something that is not a Lockgate server of this client's API version fails clearly."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from lockgate.handshake import API_VERSION, IncompatibleServer


class _StandIn(BaseHTTPRequestHandler):
    """Answers like a server of another API version (``/api/v1/server-info``), 404 elsewhere."""

    info: ClassVar[dict[str, object]] = {}

    def do_GET(self) -> None:
        if self.path == "/api/v1/server-info" and self.info:
            body = json.dumps(self.info).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
        else:
            body = b"<html>not found</html>"
            self.send_response(404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[tuple[str, type[_StandIn]]]:
    handler = type("Handler", (_StandIn,), {"info": {}})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _connect(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    from lockgate_airflow.hooks import LockgateHook

    monkeypatch.setenv("AIRFLOW_CONN_LG_OTHER", json.dumps({"conn_type": "lockgate", "host": url}))
    LockgateHook("lg_other", retries=0).get_conn()


def test_server_of_another_api_version(stand_in, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, handler = stand_in
    handler.info = {"version": "9.0.0", "api_version": API_VERSION + 1, "auth": False}
    with pytest.raises(IncompatibleServer) as caught:
        _connect(monkeypatch, url)
    message = caught.value.message
    assert f"Lockgate server {url} speaks API version {API_VERSION + 1} (Lockgate 9.0.0)" in message
    assert f"this client speaks API version {API_VERSION}" in message
    assert "Upgrade Lockgate where this client runs" in message
    assert "(Airflow connection 'lg_other')" in message


def test_url_that_is_not_a_lockgate_server(stand_in, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, _ = stand_in
    with pytest.raises(IncompatibleServer, match=r"is not a Lockgate server of API version 1: "
                       r"/api/v1/server-info answered HTTP 404"):
        _connect(monkeypatch, url)
