"""A throwaway PostgreSQL server of the test's own, which a test may stop, restart or make read-only
without disturbing the shared cluster on 5432 that other tests use.

``initdb`` into a temporary directory and ``pg_ctl start`` on a free loopback port, with the
binaries of the newest ``/usr/lib/postgresql/*/bin`` (or ``LOCKGATE_PG_BIN``). PostgreSQL
refuses to run as root, so under root the server runs as the ``postgres`` system user
(``runuser``). Anything missing fails the test with what to install; it never skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

__all__ = ["PrivatePostgres"]


def _bin_dir() -> Path:
    configured = os.environ.get("LOCKGATE_PG_BIN")
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                                        key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(candidates):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    pytest.fail("No PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin: install the "
                "postgresql package or point LOCKGATE_PG_BIN at the folder holding them.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """One PostgreSQL instance in its own data directory; ``url`` is its ``postgres`` database."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = _free_port()
        # Not under pytest's tmp_path: that sits in root's 0700 folder, out of the postgres user's reach.
        self.root = Path(tempfile.mkdtemp(prefix="lockgate-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                shutil.chown(self.root, user="postgres")
            except LookupError:
                pytest.fail("Running as root needs the `postgres` system user to own a private PostgreSQL "
                            "server (install the postgresql package, which creates it).")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [*self._as_user, str(self.bin / tool), *args]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log[-2000:]}")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A fast shutdown: open sessions are terminated, as in a restart or failover."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def sql(self, statement: str) -> None:
        """Run one statement as the superuser, outside any transaction."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                            "-w", "stop"], check=False, capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_down(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)
