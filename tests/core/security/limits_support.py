"""Live servers for the security-limit tests: in-thread uvicorn, or ``lockgate server`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import httpx
from live_server import free_port, thread_server, wait_ready
from typing_extensions import Self

__all__ = ["ProcessServer", "error_body", "free_port", "rss_bytes", "thread_server", "wait_ready"]


class ProcessServer:
    """``python -m lockgate.cli.server`` as a real process group that tests may kill -9."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, port: int | None = None,
                 open_files: int | None = None) -> None:
        self.args = args
        self.open_files = open_files
        self.env = {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, *, timeout: float = 90.0) -> ProcessServer:
        command = [sys.executable, "-m", "lockgate.cli.server", "--port", str(self.port), *self.args]
        if self.open_files:
            # The server as started by a shell with `ulimit -n N` (soft and hard).
            command = ["prlimit", f"--nofile={self.open_files}:{self.open_files}", *command]
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env,
            start_new_session=True,
        )
        wait_ready(self.url, proc=self.proc, timeout=timeout)
        return self

    def kill_all(self) -> None:
        """kill -9 of the supervisor and every worker at once."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False).stdout
        pids = [int(p) for p in out.split()]
        # uvicorn's supervisor also forks a resource tracker; workers are the ones serving.
        return [p for p in pids if "multiprocessing.resource_tracker" not in _cmdline(p)]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill_all()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def open_fds(pid: int) -> int:
    """How many file handles a process holds right now."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (no timing involved)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def error_body(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The JSON error of ``response``, after checking its status, shape and code."""
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body) >= {"error_code", "message"}, body
    assert "Traceback" not in response.text
    if code is not None:
        assert body["error_code"] == code, body
    return body
