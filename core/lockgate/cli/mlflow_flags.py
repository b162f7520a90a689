"""``mlflow server``'s flags that ``lockgate server`` has no use for, and what to do instead.

``lockgate server`` takes the flags that mean something here under MLflow's own names
(--backend-store-uri, --default-artifact-root, --serve-artifacts, --artifacts-destination,
--host/-h, --port/-p, --workers/-w, --app-name basic-auth, --dev). The flags below are
recognized so that a copied ``mlflow server`` command line fails with a message naming the
flag, instead of a bare "no such option".
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["UNSUPPORTED_MLFLOW_FLAGS", "unsupported_flag_message"]

UNSUPPORTED_MLFLOW_FLAGS: dict[str, str] = {
    "--gunicorn-opts": "Lockgate always runs uvicorn; use --workers, --keep-alive and --max-connections.",
    "--waitress-opts": "Lockgate always runs uvicorn; use --workers, --keep-alive and --max-connections.",
    "--uvicorn-opts": "uvicorn's settings are chosen by Lockgate; use --workers, --keep-alive and --max-connections.",
    "--expose-prometheus": "Lockgate has no Prometheus exporter; the access log (--access-log) times every request.",
    "--static-prefix": "Lockgate serves its API and UI at the root; put a reverse proxy in front to add a prefix.",
    "--allowed-hosts": "Lockgate does not filter Host headers; bind to loopback or put a reverse proxy in front.",
    "--cors-allowed-origins": "Lockgate answers no cross-origin requests; serve the UI from the same origin.",
    "--x-frame-options": "Lockgate's headers are fixed; set them in a reverse proxy.",
    "--disable-security-middleware": "Lockgate has no such switch; its auth is --auth/--no-auth.",
    "--artifacts-only": "Lockgate always serves tracking and artifacts together.",
    "--read-replica-backend-store-uri": "Lockgate reads and writes through --backend-store-uri only.",
    "--registry-store-uri": "Lockgate keeps the registry in --backend-store-uri, beside the runs its versions link to.",
    "--trace-archival-config": "Lockgate does not store traces.",
    "--secrets-cache-ttl": "Lockgate has no AI gateway secrets.",
    "--secrets-cache-max-size": "Lockgate has no AI gateway secrets.",
    "--workspace-store-uri": "Lockgate has no workspaces; use permissions (lockgate users) instead.",
    "--enable-workspaces": "Lockgate has no workspaces; use permissions (lockgate users) instead.",
    "--disable-workspaces": "Lockgate has no workspaces (this flag changes nothing, so drop it).",
}


def unsupported_flag_message(args: Sequence[str]) -> str | None:
    """A message naming the first MLflow-only flag in ``args`` (or any unknown one), else None."""
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in UNSUPPORTED_MLFLOW_FLAGS:
            return f"{flag} is an `mlflow server` flag that lockgate server does not support: " \
                   f"{UNSUPPORTED_MLFLOW_FLAGS[flag]}"
        if flag.startswith("-"):
            return f"No such option: {flag} (see lockgate server --help)."
    if args:
        return f"Unexpected argument {args[0]!r} (see lockgate server --help)."
    return None
