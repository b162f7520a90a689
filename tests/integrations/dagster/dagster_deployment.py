"""Real processes for the production-topology tests: a ``lockgate server`` and a Dagster deployment.

``LockgateServer`` runs ``python -m lockgate.cli.server`` with auth on over a SQLite file and
proxied artifacts; it can be stopped and started again on the same port (the fault tests).
``DagsterDeployment`` writes a ``dagster.yaml`` (QueuedRunCoordinator + DefaultRunLauncher)
and a ``workspace.yaml``, runs ``dagster-daemon run``, submits runs with ``dagster job launch``
(queued, so the daemon launches each in a run-worker subprocess) and reads results back
through Dagster's own instance API.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import httpx

__all__ = ["DagsterDeployment", "LockgateServer", "free_port"]

BIN = Path(sys.executable).parent
ADMIN = ("admin", "admin-secret-1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kill_with_parent() -> list[str]:
    """Make Linux kill the child when the test process dies (util-linux setpriv)."""
    return ["setpriv", "--pdeathsig", "KILL"] if Path("/usr/bin/setpriv").exists() else []


class LockgateServer:
    """``lockgate server --auth`` on a free port, over ``root``/lockgate.db, artifacts proxied."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.db_uri = f"sqlite:///{root / 'lockgate.db'}"
        self.artifacts = root / "artifacts"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LockgateServer:
        env = {**os.environ, "LOCKGATE_ADMIN_USERNAME": ADMIN[0], "LOCKGATE_ADMIN_PASSWORD": ADMIN[1]}
        env.pop("LOCKGATE_TRACKING_URI", None)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*_kill_with_parent(), sys.executable, "-m", "lockgate.cli.server", "--auth",
                 "--backend-store-uri", self.db_uri, "--artifacts-destination", str(self.artifacts),
                 "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"lockgate server exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"lockgate server at {self.url} not ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def create_token(self, name: str = "dagster") -> str:
        """A new API token of the admin user (written to the server's database directly)."""
        from lockgate.server.auth.store import AuthStore

        return AuthStore(self.db_uri).create_token(ADMIN[0], name=name)

    def revoke_tokens(self, name: str) -> None:
        from lockgate.server.auth.store import AuthStore

        store = AuthStore(self.db_uri)
        for info in store.list_tokens(ADMIN[0]):
            if info.name == name:
                store.revoke_token(info.id)


class DagsterDeployment:
    """A Dagster instance in ``home`` with the daemon serving ``workspace`` (python files)."""

    def __init__(self, home: Path, *, files: Mapping[str, Path], env: Mapping[str, str]) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.env = {**os.environ, **env, "DAGSTER_HOME": str(home)}
        (home / "dagster.yaml").write_text(
            "run_coordinator:\n"
            "  module: dagster._core.run_coordinator\n"
            "  class: QueuedRunCoordinator\n"
            "  config:\n"
            "    dequeue_interval_seconds: 1\n"
            "run_launcher:\n"
            "  module: dagster._core.launcher\n"
            "  class: DefaultRunLauncher\n"
            "telemetry:\n"
            "  enabled: false\n"
        )
        self.workspace = home / "workspace.yaml"
        entries = "".join(
            f"  - python_file:\n      relative_path: {path}\n      location_name: {name}\n"
            for name, path in files.items()
        )
        self.workspace.write_text("load_from:\n" + entries)
        self.log = home / "daemon.log"
        self.daemon: subprocess.Popen[bytes] | None = None
        self._instance: dg.DagsterInstance | None = None

    # -------------------------------------------------------------- processes
    def start_daemon(self) -> None:
        # Create the instance's SQLite storage first: the daemon and a CLI call migrating a fresh
        # storage at the same moment leave two alembic heads behind.
        self.instance.get_runs(limit=1)
        with self.log.open("ab") as log:
            self.daemon = subprocess.Popen(
                [*_kill_with_parent(), str(BIN / "dagster-daemon"), "run", "-w", str(self.workspace)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.home,
            )

    def daemon_alive(self) -> bool:
        return self.daemon is not None and self.daemon.poll() is None

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGINT)
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        if self._instance is not None:
            self._instance.dispose()

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "dagster"), *args], check=False, env=self.env, cwd=self.home,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise AssertionError(f"dagster {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.home))
        return self._instance

    # ------------------------------------------------------------------- runs
    def launch(self, job: str, *, location: str, run_config: Mapping[str, Any], run_id: str) -> str:
        """Queue a run of ``job``; the daemon dequeues it and launches a run worker."""
        self.cli("job", "launch", "-w", str(self.workspace), "-l", location, "-j", job,
                 "--config-json", json.dumps(dict(run_config)), "--run-id", run_id)
        return run_id

    def wait_for_run(self, run_id: str, *, timeout: float = 420) -> dg.DagsterRun:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.instance.get_run_by_id(run_id)
            if run is not None and run.is_finished:
                return run
            if not self.daemon_alive():
                raise AssertionError(f"the Dagster daemon died:\n{self.log.read_text()[-4000:]}")
            time.sleep(1)
        raise AssertionError(f"run {run_id} did not finish in {timeout} s:\n{self.log.read_text()[-4000:]}")

    def runs_tagged(self, tags: Mapping[str, str]) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(dg.RunsFilter(tags=dict(tags))))

    def wait_for_runs_tagged(
        self, tags: Mapping[str, str], count: int, *, timeout: float = 300
    ) -> list[dg.DagsterRun]:
        """The finished runs carrying ``tags`` once there are ``count`` of them, oldest first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs_tagged(tags)
            if len(runs) >= count and all(r.is_finished for r in runs):
                return list(reversed(runs))  # get_runs lists newest first
            time.sleep(1)
        raise AssertionError(f"{len(self.runs_tagged(tags))} runs tagged {dict(tags)} after {timeout} s, "
                             f"wanted {count}:\n{self.log.read_text()[-4000:]}")

    def wait_for_sensor_tick(self, sensor: str, *, after: float, timeout: float = 180) -> Any:
        """The first completed tick of ``sensor`` that started after ``after`` (a timestamp)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ticks = self.sensor_ticks_after(sensor, after)
            if ticks:
                return ticks[-1]
            time.sleep(1)
        raise AssertionError(f"no tick of {sensor} after {after} within {timeout} s")

    def check_evaluations(self, run_id: str) -> list[Any]:
        """The AssetCheckEvaluation of every check that ran in the run."""
        return [e.dagster_event.event_specific_data
                for e in self.events(run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
                if e.dagster_event is not None]

    def events(self, run_id: str, kind: dg.DagsterEventType) -> list[dg.EventLogEntry]:
        return list(self.instance.all_logs(run_id, of_type=kind))

    def step_outcomes(self, run_id: str) -> dict[str, str]:
        kinds = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"}
        out: dict[str, str] = {}
        for entry in self.instance.all_logs(run_id):
            event = entry.dagster_event
            if event is not None and event.event_type_value in kinds and event.step_key:
                out[event.step_key] = event.event_type_value
        return out

    def sensor_ticks_after(self, sensor: str, timestamp: float) -> list[Any]:
        """Ticks of ``sensor`` that started after ``timestamp`` (newest first)."""
        for state in self.instance.all_instigator_state():
            if state.name == sensor:
                ticks = self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=20)
                return [t for t in ticks if t.timestamp > timestamp and t.status.value != "STARTED"]
        return []
