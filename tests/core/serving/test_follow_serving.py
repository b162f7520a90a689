"""`lockgate models serve --follow`: a real server process swaps champions under load, refuses bad ones."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
from follow_support import register_version, scoring_server, wait_for
from live_server import free_port
from lockgate.models.signature import ColSpec, ModelSignature, Schema, TensorSpec
from lockgate.serving.compat import signature_incompatibility
from serving_support import training_frame

URI = "models:/churn@champion"
DOC = Path(__file__).resolve().parents[3] / "docs" / "serving.md"


def _doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def _body(rows: int = 5) -> dict[str, Any]:
    X, _ = training_frame()
    return {"dataframe_split": json.loads(X[:rows].to_json(orient="split", index=False))}


class Load:
    """Client threads posting /invocations back to back; every answer's status and version kept."""

    def __init__(self, base: str, *, threads: int = 6) -> None:
        self.base = base
        self.results: list[list[tuple[int, str | None, float]]] = [[] for _ in range(threads)]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, args=(i,)) for i in range(threads)]

    def _work(self, index: int) -> None:
        body = _body()
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    response = http.post("/invocations", json=body)
                    answer = (response.status_code, response.headers.get("x-lockgate-model-version"))
                except httpx.HTTPError as exc:
                    answer = (-1, type(exc).__name__)
                self.results[index].append((*answer, time.perf_counter() - started))

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def _health(base: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/health", timeout=5)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _refused(base: str, version: int) -> dict[str, Any] | None:
    health = _health(base)
    refused = health.get("refused")
    return health if refused and refused["version"] == version else None


def test_follow_swaps_under_load_and_refuses_bad_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lockgate.client import LockgateClient

    tracking_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    client = LockgateClient(tracking_uri)
    client.create_registered_model("churn")
    v1 = register_version(client, "churn", seed=0)
    v2 = register_version(client, "churn", seed=1, input_example=False)  # checked by signature only
    broken = register_version(client, "churn", seed=2, corrupt=True)
    renamed = register_version(client, "churn", seed=3, rename={"age": "years"})
    client.set_registered_model_alias("churn", "champion", v1)
    run_v2 = client.get_model_version("churn", v2).run_id

    with scoring_server(URI, port=free_port(), tracking_uri=tracking_uri, log_path=tmp_path / "serve.log") as base:
        first = httpx.get(f"{base}/version", timeout=5).json()["model"]
        assert first == {"uri": URI, "name": "churn", "alias": "champion", "version": v1,
                         "run_id": client.get_model_version("churn", v1).run_id}
        with Load(base) as load:
            wait_for(lambda: all(any(v == str(v1) for _, v, _ in thread) for thread in load.results),
                     what="every client to be answered by version 1")
            time.sleep(0.5)  # steady state on version 1
            client.set_registered_model_alias("churn", "champion", v2)
            wait_for(lambda: httpx.get(f"{base}/version", timeout=5).json()["model"]["version"] == v2,
                     timeout=30, what="the switch to version 2")
            time.sleep(1.0)  # steady state on version 2
        answers = [answer for thread in load.results for answer in thread]
        assert len(answers) >= 12  # at least two per client; far more on a quiet machine
        failed = [a for a in answers if a[0] != 200]
        assert failed == []
        for thread in load.results:  # each client sees 1 ... 1 2 ... 2: never back to the old one
            versions = [int(v) for _, v, _ in thread if v is not None]
            assert versions == sorted(versions) and versions[0] == v1 and versions[-1] == v2
        health = _health(base)
        assert health["status"] == "ok"
        assert health["model"] == {"uri": URI, "name": "churn", "alias": "champion", "version": v2,
                                   "run_id": run_v2}
        swap = health["last_swap"]
        assert swap["from_version"] == v1 and swap["to_version"] == v2
        assert 0 < swap["promotion_to_served_seconds"] < 30
        print(f"promotion to served: {swap['promotion_to_served_seconds']:.2f} s, "
              f"load and warm-up: {swap['load_seconds']:.2f} s, {len(answers)} requests, 0 failed")

        client.set_registered_model_alias("churn", "champion", broken)
        health = wait_for(lambda: _refused(base, broken), what="the broken version's refusal")
        assert health["status"] == "degraded" and health["model"]["version"] == v2
        assert "could not be loaded" in health["refused"]["reason"]
        version_doc, health_doc = (json.loads(block) for block in _doc_blocks("json"))
        assert health.keys() == health_doc.keys() and health["refused"].keys() == health_doc["refused"].keys()
        assert health["last_swap"].keys() == health_doc["last_swap"].keys()
        assert httpx.get(f"{base}/version", timeout=5).json().keys() == version_doc.keys()
        (check,) = _doc_blocks("python")
        capsys.readouterr()
        exec(compile(check, str(DOC), "exec"), {"SERVER": base})  # noqa: S102 - the documented check itself
        assert capsys.readouterr().out == f"still serving version {v2}: {health['refused']['reason']}\n"
        response = httpx.post(f"{base}/invocations", json=_body(), timeout=10)
        assert response.status_code == 200 and response.headers["x-lockgate-model-version"] == str(v2)

        client.set_registered_model_alias("churn", "champion", renamed)
        health = wait_for(lambda: _refused(base, renamed), what="the renamed-inputs version's refusal")
        assert health["model"]["version"] == v2
        assert health["refused"]["reason"] == (
            f"version {renamed} was refused: its signature is incompatible with version {v2}'s: "
            "it requires input column 'years', which the served version does not take")
        response = httpx.post(f"{base}/invocations", json=_body(), timeout=10)
        assert response.status_code == 200 and response.headers["x-lockgate-model-version"] == str(v2)

        client.set_registered_model_alias("churn", "champion", v2)  # back to the served one: healthy
        wait_for(lambda: _health(base)["status"] == "ok", what="health to recover")
    log = (tmp_path / "serve.log").read_text()
    assert f"Not switching churn@champion to version {broken}" in log
    assert f"Switched churn@champion from version {v1} to {v2}" in log


def test_follow_a_lockgate_server_with_a_token(tmp_path: Path) -> None:
    from live_server import ThreadServer
    from lockgate.client import LockgateClient
    from lockgate.server.app import create_app
    from lockgate.server.auth.store import AuthStore

    backend = f"sqlite:///{tmp_path / 'server.db'}"
    auth = AuthStore(backend)
    auth.create_user("deployer", "deployer-pass-123", admin=True)
    token = auth.create_token("deployer")
    server = ThreadServer(create_app(backend_store_uri=backend, artifacts_destination=str(tmp_path / "artifacts"),
                                     auth=True)).start()
    try:
        client = LockgateClient(server.url, token=token)
        client.create_registered_model("churn")
        v1 = register_version(client, "churn", seed=0)
        v2 = register_version(client, "churn", seed=1)
        client.set_registered_model_alias("churn", "champion", v1)
        with scoring_server(URI, port=free_port(), tracking_uri=server.url, log_path=tmp_path / "serve.log",
                            env={"LOCKGATE_TRACKING_TOKEN": token}) as base:
            assert httpx.get(f"{base}/version", timeout=5).json()["model"]["version"] == v1
            client.set_registered_model_alias("churn", "champion", v2)
            served = wait_for(
                lambda: (m := httpx.get(f"{base}/version", timeout=5).json()["model"])["version"] == v2 and m,
                timeout=30, what="the switch over HTTP")
            assert served["run_id"] == client.get_model_version("churn", v2).run_id
            response = httpx.post(f"{base}/invocations", json=_body(), timeout=10)
            assert response.status_code == 200 and response.headers["x-lockgate-model-version"] == str(v2)

            server.stop()  # the registry goes away: the model keeps serving, /health says why
            health = wait_for(lambda: (h := _health(base)).get("registry_error") and h, timeout=120,
                              what="the registry error in /health")
            assert health["status"] == "degraded" and health["model"]["version"] == v2
            assert server.url in health["registry_error"]
            response = httpx.post(f"{base}/invocations", json=_body(), timeout=10)
            assert response.status_code == 200 and response.headers["x-lockgate-model-version"] == str(v2)
    finally:
        server.stop()


def test_follow_needs_an_alias(tmp_path: Path) -> None:
    from lockgate.cli.models import models_app
    from typer.testing import CliRunner

    result = CliRunner().invoke(models_app, ["serve", "-m", "models:/churn/3", "--follow",
                                             "--tracking-uri", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 1
    assert "--follow needs a model URI that names an alias, like models:/churn@champion" in result.output


def _cols(*specs: tuple[str, str, bool]) -> ModelSignature:
    return ModelSignature(inputs=Schema([ColSpec(type=t, name=n, required=r) for n, t, r in specs]))


def _tensor(dtype: str, *shape: int) -> ModelSignature:
    return ModelSignature(inputs=Schema([TensorSpec(dtype=dtype, shape=shape)]))


@pytest.mark.parametrize(("old", "new", "reason"), [
    (_cols(("a", "long", True), ("b", "double", True)), _cols(("a", "long", True)), None),
    (_cols(("a", "long", True)), _cols(("a", "long", True), ("z", "string", False)), None),
    (_cols(("a", "long", True)), _cols(("a", "double", True)),
     "input column 'a' changed type from long to double"),
    (_cols(("a", "long", True)), _cols(("a", "long", True), ("z", "string", True)),
     "it requires input column 'z', which the served version does not take"),
    (_tensor("float32", -1, 4), _tensor("float32", 8, 4), None),
    (_tensor("float32", -1, 4), _tensor("float64", -1, 4),
     "input tensor #0 changed dtype from float32 to float64"),
    (_tensor("float32", -1, 4), _tensor("float32", -1, 5), "input tensor #0 changed shape from [-1, 4] to [-1, 5]"),
    (_tensor("float32", -1, 4), _cols(("a", "long", True)), "its inputs changed from tensors to columns"),
    (None, _cols(("a", "long", True)), None),
    (_cols(("a", "long", True)), ModelSignature(), None),
])
def test_signature_compatibility_rule(old: ModelSignature | None, new: ModelSignature, reason: str | None) -> None:
    assert signature_incompatibility(old, new) == reason
