"""A production-shaped Airflow and a Lockgate server, as separate processes, for topology tests.

``LockgateServer``: ``lockgate server`` with auth on, on a SQLite file, an admin and a token.
``AirflowDeployment``: Airflow 3's four long-running processes (``api-server``, ``scheduler``
with the LocalExecutor, ``dag-processor``, ``triggerer``) on a PostgreSQL metadata database,
DAG bundles, SimpleAuthManager with every user an admin, and a client for the public API.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

__all__ = ["AirflowDeployment", "LockgateServer", "free_port", "wait_for"]

PG_ADMIN_URL = os.environ.get("LOCKGATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TERMINAL = {"success", "failed"}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], *, timeout: float, interval: float = 1.0,
             diagnose: Callable[[], str] | None = None) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.HTTPError, OSError) as exc:
            last_error, value = exc, None
        if value:
            return value
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    extra = f"\n{diagnose()}" if diagnose else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}{extra}")


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


class LockgateServer:
    """``lockgate server --auth`` on ``work``; ``stop()``/``start()`` keep its database and port."""

    def __init__(self, work: Path, *, extra_args: tuple[str, ...] = ()) -> None:
        self.work = work
        self.extra_args = extra_args
        self.db_uri = f"sqlite:///{work / 'server.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = work / "lockgate-server.log"
        self.admin = ("admin", "admin-password-1")
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""

    def start(self) -> None:
        env = {
            **os.environ,
            "LOCKGATE_HOME": str(self.work / "server-home"),
            "LOCKGATE_ADMIN_USERNAME": self.admin[0],
            "LOCKGATE_ADMIN_PASSWORD": self.admin[1],
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from lockgate.cli import main; main()", "server",
                 "--backend-store-uri", self.db_uri, "--artifacts-destination", str(self.work / "artifacts"),
                 "--port", str(self.port), "--auth", "--no-access-log", *self.extra_args],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        wait_for("`lockgate server` to answer /health", self._healthy, timeout=90, interval=0.3,
                 diagnose=lambda: _tail(self.log_path))
        if not self.token:
            from lockgate.server.auth.store import AuthStore

            self.token = AuthStore(self.db_uri).create_token(self.admin[0], name="airflow")

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"`lockgate server` exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
        return httpx.get(f"{self.url}/health", timeout=2).status_code == 200

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


class AirflowDeployment:
    """Airflow's api-server, scheduler, dag-processor and triggerer, each its own process."""

    PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")

    def __init__(self, work: Path, *, bundles: Mapping[str, Path], extra_env: Mapping[str, str]) -> None:
        from cryptography.fernet import Fernet

        self.work = work
        self.home = work / "airflow-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_name = f"lg_airflow_{uuid.uuid4().hex[:10]}"
        db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.db_name}"
        bundle_list = [
            {"name": name, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
             "kwargs": {"path": str(path), "refresh_interval": 5}}
            for name, path in bundles.items()
        ]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
        self.env: dict[str, str] = {
            **base,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "120",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(next(iter(bundles.values()))),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": db_url,
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundle_list),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **extra_env,
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._token: str | None = None

    # ---------------------------------------------------------------- lifecycle
    def _create_database(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        finally:
            engine.dispose()

    def _drop_database(self) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    def airflow(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run one ``airflow`` CLI command in this deployment's environment."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"`airflow {' '.join(args)}` failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def log(self, name: str) -> Path:
        return self.work / f"airflow-{name}.log"

    def prepare(self) -> None:
        """A fresh PostgreSQL metadata database, migrated."""
        self._create_database()
        self.airflow("db", "migrate", timeout=600)

    def start_processes(self) -> None:
        """Start the four processes and wait until the API server answers."""
        for name in self.PROCESSES:
            args = [name, "--port", str(self.port)] if name == "api-server" else [name]
            with self.log(name).open("ab") as log:
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                )
        wait_for("the Airflow API server", self._api_up, timeout=600, diagnose=self.diagnose)

    def _api_up(self) -> bool:
        self.assert_alive()
        return httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        try:
            self._drop_database()
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the test's own result
            print(f"could not drop {self.db_name}: {exc}")

    def assert_alive(self) -> None:
        """Every process still runs (the scheduler above all); otherwise fail with its log."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {proc.returncode}:\n{_tail(self.log(name), 8000)}")

    def diagnose(self) -> str:
        return "\n".join(f"--- airflow {name} ---\n{_tail(self.log(name), 2500)}" for name in self.PROCESSES)

    # ---------------------------------------------------------------- public API
    def token(self) -> str:
        if self._token is None:  # SimpleAuthManager with all_admins hands out tokens without credentials
            response = httpx.get(f"{self.url}/auth/token", timeout=10)
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, f"{self.url}/api/v2{path}", headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30, **kwargs,
        )
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 240) -> None:
        def parsed() -> bool:
            self.assert_alive()
            response = httpx.get(f"{self.url}/api/v2/dags/{dag_id}",
                                 headers={"Authorization": f"Bearer {self.token()}"}, timeout=10)
            return response.status_code == 200
        wait_for(f"the dag-processor to parse {dag_id}", parsed, timeout=timeout, interval=2, diagnose=self.diagnose)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf or {})})
        return str(run["dag_run_id"])

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            self.assert_alive()
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in TERMINAL else None
        return wait_for(f"DAG run {dag_id} {run_id} to end", ended, timeout=timeout, interval=3,
                        diagnose=lambda: f"tasks: {self.task_states(dag_id, run_id)}\n{self.diagnose()}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"])

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
                         params={"deserialize": True, "stringify": False})
        return entry["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        response = httpx.get(
            f"{self.url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            headers={"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}, timeout=30,
        )
        response.raise_for_status()
        return json.dumps(response.json())

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/api/v2/monitor/health", timeout=10).json())
