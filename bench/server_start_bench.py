"""How long ``lockgate server`` takes to answer after a start, a restart, and a worker crash.

Run by hand (not a test): ``python bench/server_start_bench.py --workers 2 --rounds 5``.
Each round starts the server as users do (``lockgate server``, through the whole CLI) on a
fresh port, waits for ``/health`` and for a first API call, kills the whole process group with
SIGKILL and starts it again (the outage a user sees after a crash), then kills one worker and
measures until uvicorn's replacement says it is serving.
``--src DIR`` puts ``DIR/core`` first on ``PYTHONPATH`` to measure another checkout (a baseline).
The wall times depend heavily on machine load; print ``uptime`` with them. The CPU seconds the
server's processes used until ``/health`` answered move much less with load (each figure is the
sum over the server's whole process group: supervisor and workers).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    def __init__(self, args: argparse.Namespace, home: Path) -> None:
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LOCKGATE_HOME": str(home)}
        if args.src:
            self.env["PYTHONPATH"] = str(Path(args.src) / "core")
        self.command = [sys.executable, "-m", "lockgate.cli", "server", "--port", str(self.port),
                        "--workers", str(args.workers), "--backend-store-uri", args.backend_store_uri,
                        "--artifacts-destination", str(home / "artifacts"), "--no-access-log"]
        self.lines: list[tuple[float, str]] = []

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by every process of the server's session."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.proc.pid:  # field 6, the session id (after state, ppid, pgrp)
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def start(self) -> tuple[float, float]:
        began = time.perf_counter()
        self.proc = subprocess.Popen(self.command, env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit("".join(line for _, line in self.lines))
            time.sleep(0.02)
        health = time.perf_counter() - began
        self.health_cpu = self.cpu_seconds()
        httpx.get(self.url + "/api/2.0/mlflow/experiments/search", params={"max_results": 1}, timeout=60)
        return health, time.perf_counter() - began

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.perf_counter(), line))

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def worker_restart(self) -> float | None:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False)
        pids = [int(p) for p in out.stdout.split() if "resource_tracker" not in _cmdline(int(p))]
        if not pids:
            return None
        seen = len(self.lines)
        began = time.perf_counter()
        os.kill(pids[0], signal.SIGKILL)
        deadline = began + 120
        while time.perf_counter() < deadline:
            for stamp, line in self.lines[seen:]:
                if re.search(r"Application startup complete", line):
                    return stamp - began
            time.sleep(0.02)
        return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend-store-uri", default="")
    parser.add_argument("--src", default="", help="measure this checkout instead (its core/ first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        args.backend_store_uri = args.backend_store_uri or f"sqlite:///{home / 'bench.db'}"
        figures: dict[str, list[float]] = {"start: /health": [], "start: CPU s until /health": [],
                                           "start: first API answer": [],
                                           "restart after kill -9 of all: /health": [],
                                           "one worker killed: replacement serving": []}
        for _ in range(args.rounds):
            server = _Server(args, home)
            health, api = server.start()
            figures["start: /health"].append(health)
            figures["start: CPU s until /health"].append(server.health_cpu)
            figures["start: first API answer"].append(api)
            if args.workers > 1:
                replaced = server.worker_restart()
                if replaced is not None:
                    figures["one worker killed: replacement serving"].append(replaced)
            server.kill()
            again = _Server(args, home)
            again.port, again.url = server.port, server.url
            again.command[again.command.index("--port") + 1] = str(server.port)
            figures["restart after kill -9 of all: /health"].append(again.start()[0])
            again.kill()
        load = os.getloadavg()
        print(f"workers={args.workers} rounds={args.rounds} load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")
        for name, values in figures.items():
            if values:
                print(f"{name:45s} median {statistics.median(values):6.2f} s  "
                      f"min {min(values):6.2f}  max {max(values):6.2f}")


if __name__ == "__main__":
    main()
