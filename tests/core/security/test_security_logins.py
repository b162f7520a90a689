"""Logins against a live auth server: guessing passwords is throttled (429 + Retry-After),
an unknown user costs as much as a wrong password, and `lockgate users` changes (password,
deletion, demotion, token revocation) reach a running server at once."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from live_server import ThreadServer
from lockgate.server.app import create_app
from lockgate.server.auth.store import AuthStore

V1 = "/api/v1"
ROOT, ALICE, BOB = ("root", "root-secret-1"), ("alice", "alice-secret-1"), ("bob", "bob-secret-12")


@pytest.fixture
def auth_server(sqlite_uri: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Users root (admin), alice and bob; call the fixture to start the auth server."""
    store = AuthStore(sqlite_uri)
    store.create_user(*ROOT, admin=True)
    store.create_user(*ALICE)
    store.create_user(*BOB)
    servers: list[ThreadServer] = []

    def start() -> str:
        server = ThreadServer(create_app(backend_store_uri=sqlite_uri, artifacts_destination=str(tmp_path / "a"),
                                    auth=True))
        servers.append(server)
        return server.start().url

    yield start
    for server in servers:
        server.stop()


def _whoami(url: str, auth: tuple[str, str]) -> httpx.Response:
    return httpx.get(url + V1 + "/auth/whoami", auth=auth, timeout=60)


def _lockgate(*args: str) -> str:
    """Run the real `lockgate` command, as an operator would, in its own process."""
    exe = Path(sys.executable).parent / "lockgate"
    result = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_guessing_a_password_is_throttled_with_429_and_retry_after(
    auth_server: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCKGATE_AUTH_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("LOCKGATE_AUTH_LOGIN_LOCKOUT_SECONDS", "2")
    url = auth_server()
    statuses = [_whoami(url, ("alice", f"guess-{i:04d}")).status_code for i in range(3)]
    assert statuses == [401, 401, 401]
    locked = _whoami(url, ("alice", "guess-0004"))
    assert locked.status_code == 429
    assert locked.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert 1 <= int(locked.headers["Retry-After"]) <= 2
    # Locked out means no password is checked at all, the right one included ...
    assert _whoami(url, ALICE).status_code == 429
    # ... while other users are not affected,
    assert _whoami(url, BOB).status_code == 200
    # and the lock lifts after Retry-After.
    time.sleep(int(locked.headers["Retry-After"]) + 0.2)
    assert _whoami(url, ALICE).json()["user"] == "alice"


def test_many_users_tried_from_one_address_are_throttled(
    auth_server: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCKGATE_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS", "4")
    monkeypatch.setenv("LOCKGATE_AUTH_LOGIN_LOCKOUT_SECONDS", "60")
    url = auth_server()
    statuses = [_whoami(url, (f"user{i}", "wrong-password")).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    assert _whoami(url, ("user9", "wrong-password")).status_code == 429
    assert int(_whoami(url, ALICE).headers["Retry-After"]) > 50


def test_an_unknown_user_costs_as_much_as_a_wrong_password(sqlite_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Timing must not tell whether a user exists. Medians of interleaved tries and a
    generous ratio keep this stable on a loaded machine: before the fix, an unknown user
    took about a seventh of a wrong password's time (no bcrypt check at all)."""
    monkeypatch.setenv("LOCKGATE_AUTH_LOGIN_MAX_FAILURES", "0")
    monkeypatch.setenv("LOCKGATE_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS", "0")
    store = AuthStore(sqlite_uri)
    store.create_user(*ALICE)
    known: list[float] = []
    unknown: list[float] = []
    for i in range(7):
        for name, sink in (("alice", known), (f"nobody-{i}", unknown)):
            start = time.perf_counter()
            assert store.authenticate_basic(name, f"wrong-password-{i}") is None
            sink.append(time.perf_counter() - start)
    ratio = statistics.median(unknown) / statistics.median(known)
    assert ratio > 0.5, f"unknown user {statistics.median(unknown):.3f}s vs wrong password " \
                        f"{statistics.median(known):.3f}s"


def test_lockgate_users_changes_reach_a_running_server_at_once(
    auth_server: Callable[[], str], sqlite_uri: str
) -> None:
    url = auth_server()
    assert _whoami(url, ALICE).status_code == 200  # verified once: a cache would now answer
    assert _whoami(url, BOB).status_code == 200
    assert _whoami(url, ROOT).json()["is_admin"] is True
    token = _lockgate("users", "create-token", "bob", "--backend-store-uri", sqlite_uri).strip()
    assert httpx.get(url + V1 + "/auth/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    _lockgate("users", "set-password", "alice", "--password", "alice-new-secret", "--backend-store-uri", sqlite_uri)
    assert _whoami(url, ALICE).status_code == 401
    assert _whoami(url, ("alice", "alice-new-secret")).json()["user"] == "alice"

    _lockgate("users", "set-admin", "root", "--no-admin", "--backend-store-uri", sqlite_uri)
    assert _whoami(url, ROOT).json()["is_admin"] is False
    assert httpx.post(url + V1 + "/gc", json={}, auth=ROOT, timeout=60).status_code == 403

    token_id = _lockgate("users", "tokens", "bob", "--backend-store-uri", sqlite_uri)
    (info,) = json.loads(token_id)
    _lockgate("users", "revoke-token", str(info["id"]), "--backend-store-uri", sqlite_uri)
    assert httpx.get(url + V1 + "/auth/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    _lockgate("users", "delete", "bob", "--backend-store-uri", sqlite_uri)
    assert _whoami(url, BOB).status_code == 401
