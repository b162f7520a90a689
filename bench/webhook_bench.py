"""Webhook delivery benchmark: promotion-to-arrival latency and deliveries per second (by hand).

    python bench/webhook_bench.py                 # Lockgate, then MLflow, on SQLite
    python bench/webhook_bench.py --events 200 --no-mlflow

Starts `lockgate server` (one process) and `mlflow server` (MLflow 3.17's webhooks) on fresh
SQLite files, one after the other, with a receiver in this process on 127.0.0.1. Prints:

- latency: N promotions one after another (Lockgate: a gated `promote` to @champion, so each is
  a `model_version.promoted` event; MLflow: `set_registered_model_alias`, its nearest event),
  from the moment the client sends the call to the moment the POST arrives, p50/p95/max.
  For Lockgate also from the event's commit time (`timestamp_ms` in the payload) to arrival.
  Target: p95 < 500 ms.
- throughput: N events recorded while the webhook is paused (Lockgate) and delivered as a
  backlog once it is resumed: deliveries per second. MLflow has no pause and delivers from a
  thread pool as events happen, so its figure is N events written back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

SECRET = "bench-secret"


class Arrivals:
    """What the receiver saw: (arrival time, parsed body) per POST."""

    def __init__(self) -> None:
        self.items: list[tuple[float, dict[str, object]]] = []
        self.lock = threading.Lock()

    def wait(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.items) >= count:
                    return
            time.sleep(0.005)
        raise SystemExit(f"only {len(self.items)} of {count} deliveries arrived within {timeout} s")


def start_receiver(arrivals: Arrivals) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms
            # to every keep-alive request and the receiver, not the sender, sets the pace.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.time()
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            with arrivals.lock:
                arrivals.items.append((now, json.loads(body)))

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(cmd: list[str], url: str, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, **env, "PATH": path}, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"{cmd[0]} did not start; see {log}:\n{log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server and every process it spawned (mlflow server runs uvicorn workers)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(ms: list[float]) -> str:
    return f"p50 {statistics.median(ms):7.1f} ms   p95 {pct(ms, 95):7.1f} ms   max {max(ms):7.1f} ms"


def bench_lockgate(tmp: Path, events: int) -> dict[str, object]:
    from lockgate import LockgateClient

    arrivals = Arrivals()
    receiver, hook_url = start_receiver(arrivals)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"LOCKGATE_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1", "HOOK_SECRET": SECRET, "LOCKGATE_HOME": str(tmp)}
    proc = start([sys.executable, "-m", "lockgate.cli.server", "--port", str(port), "--no-access-log",
                  "--backend-store-uri", f"sqlite:///{tmp}/lockgate.db", "--artifacts-destination", str(tmp / "a")],
                 url, tmp / "lockgate.log", env)
    try:
        os.environ["HOOK_SECRET"] = SECRET
        client = LockgateClient(url, user="bench", privileged=True)
        client.create_registered_model("churn")
        for n in (1, 2):
            client.create_model_version("churn", source=f"s3://b/{n}", tags={"qa": "ok"})
        client.set_gate_policy("churn", alias="champion", policy={"rules": [
            {"type": "require_tags", "tags": {"qa": "ok"}}]})
        hook = client.create_webhook(hook_url, events="model_version.promoted", model_name="churn",
                                     secret_env="HOOK_SECRET")
        sent: dict[int, float] = {}
        for i in range(events):
            t0 = time.time()
            decision = client.promote("churn", version=1 + i % 2, alias="champion")
            assert decision.event_id is not None
            sent[decision.event_id] = t0
        arrivals.wait(events, timeout=120)
        send_ms = [(at - sent[int(body["event_id"])]) * 1000 for at, body in arrivals.items]  # type: ignore[call-overload]
        commit_ms = [(at * 1000 - int(body["timestamp_ms"])) for at, body in arrivals.items]  # type: ignore[call-overload]

        # Throughput: a backlog of tag events delivered after the webhook is resumed.
        backlog = client.create_webhook(hook_url, events="model_version.tag_set", model_name="churn",
                                        secret_env="HOOK_SECRET", status="DISABLED")
        client.update_webhook(hook.webhook_id, status="DISABLED")
        for i in range(events):
            client.set_model_version_tag("churn", 1, "step", str(i))
        with arrivals.lock:
            arrivals.items.clear()
        t0 = time.time()
        client.update_webhook(backlog.webhook_id, status="ACTIVE")
        arrivals.wait(events, timeout=300)
        rate = events / (arrivals.items[-1][0] - t0)
        return {"send_ms": send_ms, "commit_ms": commit_ms, "rate": rate}
    finally:
        stop(proc)
        receiver.shutdown()


def bench_mlflow(tmp: Path, events: int) -> dict[str, object]:
    from mlflow import MlflowClient

    arrivals = Arrivals()
    receiver, hook_url = start_receiver(arrivals)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true"}
    proc = start(["mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                  "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db", "--artifacts-destination", str(tmp / "m"),
                  "--workers", "1"],
                 url, tmp / "mlflow.log", env)
    try:
        client = MlflowClient(url)
        client.create_registered_model("churn")
        for n in (1, 2):
            client.create_model_version("churn", source=f"s3://b/{n}")
        client.create_webhook(name="bench", url=hook_url, events=["model_version_alias.created"], secret=SECRET)
        send: list[float] = []
        for i in range(events):
            send.append(time.time())
            client.set_registered_model_alias("churn", "champion", str(1 + i % 2))
        arrivals.wait(events, timeout=120)
        with arrivals.lock:
            # MLflow's pool may deliver out of order; match the k-th call to the k-th arrival
            # by sorting both (its payload carries no sequence number).
            got = sorted(at for at, _ in arrivals.items)
        send_ms = [(a - s) * 1000 for a, s in zip(got, send, strict=True)]
        client.create_webhook(name="tags", url=hook_url, events=["model_version_tag.set"], secret=SECRET)
        with arrivals.lock:
            arrivals.items.clear()
        t0 = time.time()
        for i in range(events):
            client.set_model_version_tag("churn", "1", "step", str(i))
        arrivals.wait(events, timeout=300)
        rate = events / (max(at for at, _ in arrivals.items) - t0)
        return {"send_ms": send_ms, "rate": rate}
    finally:
        stop(proc)
        receiver.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow server")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        lg = bench_lockgate(Path(tmp), args.events)
        ml = None if args.no_mlflow else bench_mlflow(Path(tmp), args.events)
    print(f"{args.events} events each; load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print(f"Lockgate  promotion call -> arrival  {summary(lg['send_ms'])}")  # type: ignore[arg-type]
    print(f"Lockgate  event commit   -> arrival  {summary(lg['commit_ms'])}")  # type: ignore[arg-type]
    print(f"Lockgate  backlog delivered: {lg['rate']:.0f} deliveries/s   (target: p95 < 500 ms)")
    if ml is not None:
        print(f"MLflow    alias call     -> arrival  {summary(ml['send_ms'])}")  # type: ignore[arg-type]
        print(f"MLflow    events written back to back: {ml['rate']:.0f} deliveries/s")


if __name__ == "__main__":
    main()
