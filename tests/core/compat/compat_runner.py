"""Runs the differential scenario against one server and records normalized results.

A step is a function of a ``Ctx``; what it returns (entities, pages, plain values) is turned
into JSON-like data, and an ``MlflowException`` or an HTTP error becomes
``{"error": <error_code>, "message": <whether one is present>}``. Normalizing replaces what
each server generates on its own (run ids, logged-model ids, request ids, the current time)
by stable symbols, so the two recordings can be compared call by call.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

__all__ = ["STEPS", "Ctx", "Recording", "Step", "run_scenario", "step", "to_data"]


@dataclass
class Ctx:
    """What a step may use: the server URL, a stock MlflowClient, raw HTTP, names of generated ids."""

    url: str
    work: Path
    client: Any
    started_ms: int
    ids: dict[str, str] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)

    def name(self, symbol: str, value: str) -> str:
        """Remember a generated id under ``symbol`` (later steps read it from ``ids``)."""
        self.ids[symbol] = value
        self.symbols[value] = f"<{symbol}>"
        return value

    def rest(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One raw REST call (for input the stock client would refuse before sending)."""
        if "json" in kwargs:  # as the stock client sends it: NaN and Infinity as JSON literals
            kwargs["data"] = json.dumps(kwargs.pop("json"), allow_nan=True)
            kwargs["headers"] = {"Content-Type": "application/json"}
        response = requests.request(method, f"{self.url}{path}", timeout=60, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:200]}
        if response.status_code >= 400:
            return {"status": response.status_code, "error": body.get("error_code"),
                    "message": bool(body.get("message"))}
        return {"status": response.status_code, "body": body}


@dataclass(frozen=True)
class Step:
    name: str
    fn: Callable[[Ctx], Any]
    postgres: bool


STEPS: list[Step] = []


def step(name: str, *, postgres: bool = False) -> Callable[[Callable[[Ctx], Any]], Callable[[Ctx], Any]]:
    """Add a call to the scenario; ``postgres=True`` also runs it in the PostgreSQL subset."""

    def register(fn: Callable[[Ctx], Any]) -> Callable[[Ctx], Any]:
        if any(s.name == name for s in STEPS):
            raise ValueError(f"duplicate step {name!r}")
        STEPS.append(Step(name, fn, postgres))
        return fn

    return register


def to_data(value: Any) -> Any:
    """MLflow entities, protos, pages and containers as plain JSON-like data."""
    from google.protobuf.message import Message
    from mlflow.utils.proto_json_utils import message_to_json

    if isinstance(value, Message):
        return json.loads(message_to_json(value))
    if hasattr(value, "to_proto") and not isinstance(value, type):
        try:
            return json.loads(message_to_json(value.to_proto()))
        except (TypeError, AttributeError):
            pass
    if hasattr(value, "token") and isinstance(value, list):
        return {"items": [to_data(v) for v in value], "has_next_page": bool(value.token)}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if hasattr(value, "to_dictionary"):
        return to_data(value.to_dictionary())
    return value


def _error(exc: BaseException) -> dict[str, Any]:
    body = getattr(exc, "json", None)
    if isinstance(body, dict):
        return {"error": body.get("error_code"), "message": bool(body.get("message"))}
    return {"error": getattr(exc, "error_code", type(exc).__name__), "message": bool(str(exc))}


def _normalize(value: Any, ctx: Ctx) -> Any:
    if isinstance(value, dict):
        out = {k: _normalize(v, ctx) for k, v in value.items()}
        # A run's metrics, params and tags reach users as dicts: their wire order carries nothing.
        for key in ("metrics", "params", "tags"):
            items = out.get(key)
            if isinstance(items, list) and all(isinstance(i, dict) and "key" in i for i in items):
                out[key] = sorted(items, key=lambda i: str(i["key"]))
        return out
    if isinstance(value, list):
        return [_normalize(v, ctx) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value - ctx.started_ms) < 86_400_000:
        return "<now>"
    if isinstance(value, str):
        if value.isdigit() and abs(int(value) - ctx.started_ms) < 86_400_000:
            return "<now>"
        if value in ctx.symbols:
            return ctx.symbols[value]
        for generated, symbol in ctx.symbols.items():
            if len(generated) >= 8 and generated in value:
                value = value.replace(generated, symbol)
        if value.startswith(ctx.url):
            value = "<server>" + value[len(ctx.url):]
    return value


@dataclass
class Recording:
    """One server's normalized answers, by step name."""

    url: str
    results: dict[str, Any]


def run_scenario(url: str, work: Path, *, subset: str) -> Recording:
    """Run every step (or the PostgreSQL subset) in order against ``url``."""
    import compat_scenario  # noqa: F401 - registers the steps
    import mlflow
    from mlflow import MlflowClient

    work.mkdir(parents=True, exist_ok=True)
    # mlflow's set_*_uri also export MLFLOW_*_URI for subprocesses; put the environment back after,
    # or every later test's mlflow client (and its subprocesses) talks to this stopped server.
    saved_env = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    ctx = Ctx(url=url, work=work, client=MlflowClient(tracking_uri=url, registry_uri=url),
              started_ms=int(time.time() * 1000))
    results: dict[str, Any] = {}
    try:
        for s in STEPS:
            if subset == "postgres" and not s.postgres:
                continue
            try:
                raw = to_data(s.fn(ctx))
            except Exception as exc:  # noqa: BLE001 - an error is a result to compare
                raw = _error(exc)
            results[s.name] = raw
    finally:
        while mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    # Normalize at the end: ids named by later steps also apply to earlier answers.
    return Recording(url=url, results={k: _normalize(v, ctx) for k, v in results.items()})
