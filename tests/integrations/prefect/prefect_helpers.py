"""Reading back what the Prefect tests wrote."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from typing_extensions import Self


def run_ids_of(experiment_id: str, *, uri: str) -> list[str]:
    """Ids of every run in an experiment, oldest first, read straight from the tables."""
    from lockgate.store.sql.engine import get_engine

    with get_engine(uri).connect() as conn:
        rows = conn.execute(
            text("SELECT run_uuid FROM runs WHERE experiment_id = :e ORDER BY start_time, run_uuid"),
            {"e": int(experiment_id) if experiment_id.isdigit() else experiment_id},
        )
        return [row[0] for row in rows]


def wait_for_prefect_events(
    name: str, *, resource_id: str, since: datetime, count: int = 1, timeout: float = 30.0
) -> list:  # type: ignore[type-arg]
    """Events called ``name`` about ``resource_id`` that reached the Prefect server since ``since``.

    The server stores events asynchronously, so this polls until ``count`` have arrived
    (or fails, naming what it saw).
    """
    import time

    from prefect.client.orchestration import get_client
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventOccurredFilter,
        EventResourceFilter,
    )

    wanted = EventFilter(
        occurred=EventOccurredFilter(since=since),
        event=EventNameFilter(name=[name]),
        resource=EventResourceFilter(id=[resource_id]),
    )
    deadline = time.monotonic() + timeout
    events: list = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            events = list(client.read_events(filter=wanted, limit=50).events)
        if len(events) >= count:
            return sorted(events, key=lambda e: e.occurred)
        time.sleep(0.3)
    raise AssertionError(f"expected {count} {name!r} events for {resource_id}, got {len(events)}")


def markdown_artifacts(key: str) -> list[str]:
    """The markdown of every artifact stored under ``key``, oldest first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return [a.data for a in sorted(found, key=lambda a: a.created) if a.type == "markdown"]


class LockgateServer:
    """A real ``lockgate server`` app (uvicorn) in a background thread, on a free port."""

    def __init__(self, backend_store_uri: str, artifacts: str, *, auth: bool) -> None:
        import socket
        import threading

        import uvicorn
        from lockgate.server.app import create_app

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(backend_store_uri=backend_store_uri, artifacts_destination=artifacts, auth=auth)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Self:
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("the Lockgate server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A server started as its own OS process, the way a team runs it; killed on exit.

    ``health`` is the path polled until it answers 200; the process's output goes to
    ``log`` so a failure can show it.
    """

    def __init__(self, argv: list[str], *, url: str, health: str, env: dict[str, str], log: Path) -> None:
        self.argv, self.url, self.health, self.env, self.log = argv, url, health, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 180.0) -> ServerProcess:
        import time

        import httpx

        out = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.argv[:3]} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + self.health, timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError(f"{self.argv[:3]} was not ready within {timeout:g}s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def prefect_server_process(home: Path) -> ServerProcess:
    """``prefect server start`` on a free port with its own PREFECT_HOME (no UI, no telemetry)."""
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
    }
    home.mkdir(parents=True, exist_ok=True)
    argv = [_bin("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"]
    return ServerProcess(argv, url=f"http://127.0.0.1:{port}", health="/api/health", env=env,
                         log=home / "server.log")


def lockgate_server_process(
    backend_store_uri: str, artifacts: Path, *, log: Path, port: int | None = None
) -> ServerProcess:
    """``lockgate server --auth`` on ``backend_store_uri``, proxying artifacts into ``artifacts``."""
    port = port or free_port()
    argv = [
        _bin("lockgate"), "server", "--backend-store-uri", backend_store_uri,
        "--artifacts-destination", str(artifacts), "--port", str(port), "--auth", "--no-access-log",
        "--log-level", "warning",
    ]
    return ServerProcess(argv, url=f"http://127.0.0.1:{port}", health="/health", env=dict(os.environ), log=log)


def _bin(name: str) -> str:
    """A console script of the test environment (the one pytest runs in)."""
    import sys

    path = Path(sys.executable).parent / name
    if not path.exists():
        raise AssertionError(f"{name} is not installed in {path.parent}")
    return str(path)


class LiveLockgate:
    """A ``lockgate server --auth`` process, its database, and a token for a CI user."""

    def __init__(self, root: Path) -> None:
        from lockgate.server.auth.store import AuthStore

        self.db = f"sqlite:///{root / 'server.db'}"
        self.auth = AuthStore(self.db)
        self.auth.create_user("prefect-bot", "a-long-password", admin=True)
        self.token = self.auth.create_token("prefect-bot", name="prefect-worker")
        self.root = root
        self.process: ServerProcess = lockgate_server_process(
            self.db, root / "artifacts", log=root / "lockgate-server.log"
        )

    @property
    def url(self) -> str:
        return self.process.url

    def client(self) -> Any:
        """A LockgateClient on the server, with the token."""
        import lockgate

        return lockgate.LockgateClient(self.url, token=self.token)

    def restart(self) -> None:
        """Stop the server and start it again on the same port and database."""
        self.process.stop()
        self.process = lockgate_server_process(
            self.db, self.root / "artifacts", log=self.root / "lockgate-server.log",
            port=int(self.url.rsplit(":", 1)[1]),
        ).start()
