"""Reading back what the Prefect tests wrote."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text


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

    def __enter__(self) -> LockgateServer:
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
