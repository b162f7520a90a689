"""The example pipeline in Airflow's production topology, against a Lockgate server with auth on.

One Airflow deployment and one ``lockgate server`` for the module: the api-server,
scheduler (LocalExecutor), dag-processor and triggerer run as separate processes on a
PostgreSQL metadata database, the ``lockgate_default`` connection (stored in that database,
as users do) names the server and carries a token. ``retrain_churn`` runs by its schedule
(a good model) and by a trigger with conf (a worse one) while ``watch_churn`` waits in the
triggerer for the new version; a third DAG writes to the embedded store. Everything is read
back through the Lockgate client and Airflow's own API, and the scheduler must still be
alive and healthy at the end. The README's ``deploy_fraud`` DAG is scheduled on the asset
``lockgate://models/fraud@champion``: each promotion runs it through the triggerer's watcher.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_deployment import AirflowDeployment, LockgateServer, wait_for
from lockgate import LockgateClient
from lockgate.entities import RunStatus

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[2] / "examples" / "airflow"
TOPOLOGY_DAGS = HERE / "topology_dags"


class Topology:
    """The running deployment and what the tests share about it."""

    def __init__(self, work: Path) -> None:
        self.work = work
        # Artifacts go straight to the shared destination (as with S3 in production): loading
        # models through the server's artifact proxy is issue 20's defect 2, fixed elsewhere.
        self.server = LockgateServer(work, extra_args=("--no-serve-artifacts",))
        self.embedded_uri = f"sqlite:///{work / 'embedded.db'}"
        self.airflow: AirflowDeployment | None = None

    @property
    def af(self) -> AirflowDeployment:
        assert self.airflow is not None
        return self.airflow

    def client(self) -> LockgateClient:
        return LockgateClient(self.server.url, token=self.server.token)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    work = tmp_path_factory.mktemp("topology")
    topo = Topology(work)
    topo.server.start()
    readme_dags = work / "readme-dags"
    readme_dags.mkdir()
    (readme_dags / "deploy_fraud.py").write_text(_readme_asset_dag())
    topo.airflow = AirflowDeployment(
        work,
        bundles={"lockgate-examples": EXAMPLES, "lockgate-topology": TOPOLOGY_DAGS,
                 "lockgate-readme": readme_dags},
        extra_env={
            "LOCKGATE_HOME": str(work / "worker-lockgate-home"),
            "LOCKGATE_EXAMPLE_DATA": str(work / "data"),
        },
    )
    try:
        af = topo.af
        af.prepare()
        # Connections live in the metadata database, as users create them; the scheduler's
        # listener must find them without disturbing its own session.
        _run_readme_connection_snippet(af, topo.server)
        af.airflow("connections", "add", "lockgate_embedded", "--conn-type", "lockgate",
                   "--conn-extra", json.dumps({"tracking_uri": topo.embedded_uri}))
        af.start_processes()
        yield topo
    finally:
        if topo.airflow is not None:
            topo.airflow.stop()
        topo.server.stop()


def _shared_server_snippets() -> tuple[str, str]:
    """The README's "Running against a shared server" snippets: (bash, python)."""
    from test_airflow_readme import readme_blocks

    (bash,) = [b for b in readme_blocks("bash") if '--conn-host "$LOCKGATE_URL"' in b]
    (python,) = [b for b in readme_blocks("python") if "shared-server-check" in b]
    return bash, python


def _readme_asset_dag() -> str:
    """The README's "Deploy on promotion" DAG."""
    from test_airflow_readme import readme_blocks

    (dag_file,) = [b for b in readme_blocks("python") if "model_alias_asset" in b]
    return dag_file


def _run_readme_connection_snippet(af: AirflowDeployment, server: LockgateServer) -> None:
    bash, _ = _shared_server_snippets()
    env = {**af.env, "LOCKGATE_URL": server.url, "LOCKGATE_TOKEN": server.token,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{af.env.get('PATH', '')}"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", bash], env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, f"README snippet failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    (listing,) = [line for line in result.stdout.splitlines() if line.startswith("[{")]
    shown = json.loads(listing)
    assert shown[0]["conn_type"] == "lockgate" and shown[0]["host"] == server.url


def _events(client: LockgateClient, kind: str) -> list:  # type: ignore[type-arg]
    return [e for e in client.get_events(after_id=0, model_name="churn") if e.type.value == kind]


def test_retraining_under_a_real_scheduler_against_a_server(topology: Topology) -> None:
    af = topology.af
    for dag_id in ("retrain_churn", "watch_churn", "lg_topology_embedded"):
        af.wait_for_dag(dag_id)
    af.unpause("watch_churn")
    af.unpause("lg_topology_embedded")

    # 1. By its schedule: unpausing creates the run for the latest @weekly interval.
    af.unpause("retrain_churn")
    scheduled = wait_for(
        "the scheduler to create the scheduled run",
        lambda: [r for r in af.dag_runs("retrain_churn") if r["run_type"] == "scheduled"],
        timeout=180, interval=3, diagnose=af.diagnose,
    )[0]
    good = af.wait_for_run("retrain_churn", scheduled["dag_run_id"])
    assert good["state"] == "success", af.task_states("retrain_churn", good["dag_run_id"])

    # 2. A watcher waits for the next version in the triggerer (deferred, no worker slot).
    watch_id = af.trigger("watch_churn")
    wait_for("the sensor to defer", lambda: af.task_states("watch_churn", watch_id).get("wait_for_version")
             == "deferred", timeout=300, interval=3, diagnose=af.diagnose)

    # 3. By a trigger with conf: a worse model, which the gate refuses.
    poor_id = af.trigger("retrain_churn", {"quality": "poor"})
    poor = af.wait_for_run("retrain_churn", poor_id)
    watched = af.wait_for_run("watch_churn", watch_id)
    embedded_id = af.trigger("lg_topology_embedded")
    embedded = af.wait_for_run("lg_topology_embedded", embedded_id)

    # Airflow's own view: states, XComs and the verdicts in the promote task's log.
    good_id = good["dag_run_id"]
    assert af.task_states("retrain_churn", good_id) == {
        "ensure_gate": "success", "write_scoring_input": "success", "train": "success",
        "register": "success", "promote": "success", "score": "success",
    }
    assert poor["state"] == "failed" and poor["conf"] == {"quality": "poor"}
    assert af.task_states("retrain_churn", poor_id) == {
        "ensure_gate": "success", "write_scoring_input": "success", "train": "success",
        "register": "success", "promote": "failed", "score": "upstream_failed",
    }
    assert af.xcom("retrain_churn", good_id, "register") == 1
    assert af.xcom("retrain_churn", poor_id, "register") == 2
    scored = af.xcom("retrain_churn", good_id, "score")
    assert scored["version"] == 1 and scored["rows"] == 100
    refusal_log = af.task_log("retrain_churn", poor_id, "promote")
    assert "Gate refused churn version 2 -> @champion" in refusal_log
    assert "[FAIL] val_auc >= 0.9" in refusal_log
    assert watched["state"] == "success"
    assert af.xcom("watch_churn", watch_id, "wait_for_version") == 2
    assert af.xcom("watch_churn", watch_id, "report").startswith("churn version 2 from run ")
    assert embedded["state"] == "success"

    # Lockgate's view, through the server with the token.
    client = topology.client()
    v1, v2 = client.get_model_version("churn", 1), client.get_model_version("churn", 2)
    assert client.get_model_version_by_alias("churn", "champion").version == 1
    history = client.get_promotion_history("churn", alias="champion")
    assert [(e.type.value, e.to_version or e.version) for e in history] == [("ALIAS_SET", 1), ("GATE_REJECTED", 2)]
    refused = history[1].evidence or {}
    verdicts = {r["rule"]: r["passed"] for r in refused["results"]}
    rules = ["val_auc >= 0.9", "val_auc beats holder by 0 (higher is better)"]
    assert refused["passed"] is False and verdicts == dict.fromkeys(rules, False)
    assert {r["rule"]: r["passed"] for r in (history[0].evidence or {})["results"]} == dict.fromkeys(rules, True)

    def closed() -> list | None:  # type: ignore[type-arg]
        """The churn runs once the scheduler's listener (a background thread) closed both parents."""
        runs = list(client.search_runs(["churn"], max_results=100))
        parents = [r for r in runs if r.data.tags.get("lockgate.airflow.kind") == "dag_run"]
        return runs if len(parents) == 2 and all(RunStatus(p.info.status).is_terminal for p in parents) else None

    runs = wait_for("the scheduler to close both parent runs", closed, timeout=120, interval=2)
    trains = {r.data.tags["lockgate.airflow.run_id"]: r for r in runs
              if r.data.tags.get("lockgate.airflow.task_id") == "train"}
    parents = {r.data.tags["lockgate.airflow.run_id"]: r for r in runs
               if r.data.tags.get("lockgate.airflow.kind") == "dag_run"}
    assert set(trains) == set(parents) == {good_id, poor_id}
    for airflow_run_id, train in trains.items():
        assert train.data.tags["lockgate.airflow.dag_id"] == "retrain_churn"
        assert train.data.tags["lockgate.airflow.task_id"] == "train"
        assert train.info.parent_run_id == parents[airflow_run_id].info.run_id
        assert train.info.status == RunStatus.FINISHED
    assert (v1.run_id, v2.run_id) == (trains[good_id].info.run_id, trains[poor_id].info.run_id)
    assert trains[good_id].data.metrics["val_auc"] >= 0.9 > trains[poor_id].data.metrics["val_auc"]
    # The scheduler's listener closed both parents, on success and on failure.
    assert parents[good_id].info.status == RunStatus.FINISHED
    assert parents[poor_id].info.status == RunStatus.FAILED
    assert v1.tags["lockgate.airflow.run_id"] == good_id and v2.tags["lockgate.airflow.run_id"] == poor_id

    # The task buttons in Airflow's UI open the Lockgate pages (worked out on the worker).
    def links(task_id: str, run_id: str = good_id) -> dict[str, str | None]:
        return dict(af.api("GET", f"/dags/retrain_churn/dagRuns/{run_id}/taskInstances/{task_id}/links")
                    ["extra_links"])

    server_url = topology.server.url
    assert links("train") == {"Lockgate run": f"{server_url}/runs/{trains[good_id].info.run_id}"}
    assert links("register") == {
        "Lockgate run": f"{server_url}/runs/{trains[good_id].info.run_id}",
        "Lockgate model version": f"{server_url}/models/churn/versions/1",
    }
    assert links("promote", poor_id) == {"Lockgate model version": f"{server_url}/models/churn/versions/2"}
    assert links("score") == {"Lockgate model version": f"{server_url}/models/churn/versions/1"}

    # The embedded store got its run, closed by the scheduler too; the server got none of it.
    embedded_client = LockgateClient(topology.embedded_uri)
    (parent,) = wait_for(
        "the scheduler to close the embedded parent run",
        lambda: [r for r in embedded_client.search_runs_by_tags(["embedded"], {"lockgate.airflow.kind": "dag_run"})
                 if RunStatus(r.info.status).is_terminal],
        timeout=120, interval=2,
    )
    assert parent.data.tags["lockgate.airflow.run_id"] == embedded_id
    assert parent.info.status == RunStatus.FINISHED
    assert client.get_experiment_by_name("embedded") is None

    # The scheduler survived every DAG-run end and reports healthy.
    af.assert_alive()
    health = af.health()
    assert health["scheduler"]["status"] == "healthy", health
    assert health["triggerer"]["status"] == "healthy", health
    assert "DetachedInstanceError" not in af.log("scheduler").read_text(errors="replace")


def test_server_down_when_a_task_starts_fails_it_retryably(topology: Topology) -> None:
    af, server = topology.af, topology.server
    af.wait_for_dag("lg_topology_server")
    af.unpause("lg_topology_server")
    server.stop()
    try:
        run_id = af.trigger("lg_topology_server")
        wait_for("the first try to fail and wait for its retry",
                 lambda: af.task_states("lg_topology_server", run_id).get("train") == "up_for_retry",
                 timeout=300, interval=2, diagnose=af.diagnose)
        first_try = af.task_log("lg_topology_server", run_id, "train", 1)
        assert f"Lockgate server {server.url} is unreachable after 4 attempts" in first_try
        assert "(connection 'lockgate_default')" in first_try
        assert "ServiceUnavailable" in first_try
        af.assert_alive()
        assert af.health()["scheduler"]["status"] == "healthy"
    finally:
        server.start()
    # Whether the retry lands before or after the server is back depends on this machine's
    # load, so only the end is asserted: the DAG run ends and the scheduler carries on.
    assert af.wait_for_run("lg_topology_server", run_id)["state"] in ("success", "failed")
    af.assert_alive()
    assert af.health()["scheduler"]["status"] == "healthy"


def test_wrong_or_revoked_token_fails_with_a_clear_error(
    topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lockgate.errors import Unauthenticated
    from lockgate.server.auth.store import AuthStore
    from lockgate_airflow.hooks import LockgateHook

    server = topology.server
    store = AuthStore(server.db_uri)
    revoked = store.create_token(server.admin[0], name="to-revoke")
    (info,) = [t for t in store.list_tokens(server.admin[0]) if t.name == "to-revoke"]
    store.revoke_token(info.id)
    for conn_id, token in (("lg_wrong", "not-a-token"), ("lg_revoked", revoked)):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}",
                           json.dumps({"conn_type": "lockgate", "host": server.url, "password": token}))
        with pytest.raises(Unauthenticated) as caught:
            LockgateHook(conn_id, retries=0).get_conn()
        message = caught.value.message
        assert f"Lockgate server {server.url} refused the API token" in message
        assert f"(Airflow connection {conn_id!r})" in message
        assert "lockgate users create-token" in message
    monkeypatch.setenv("AIRFLOW_CONN_LG_GOOD",
                       json.dumps({"conn_type": "lockgate", "host": server.url, "password": server.token}))
    good = LockgateHook("lg_good", retries=0).get_conn()
    assert good.get_or_create_experiment("token-check").name == "token-check"


def test_readme_shared_server_snippet_runs_on_a_worker(
    topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = topology.server
    monkeypatch.setenv("AIRFLOW_CONN_LOCKGATE_DEFAULT",
                       json.dumps({"conn_type": "lockgate", "host": server.url, "password": server.token}))
    _, python = _shared_server_snippets()
    namespace: dict = {"__name__": "readme_shared_server"}
    exec(compile(python, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["client"].tracking_uri == server.url
    assert topology.client().get_experiment_by_name("shared-server-check") is not None


def test_a_promotion_runs_the_dag_scheduled_on_its_asset(topology: Topology) -> None:
    import httpx
    from lockgate_airflow.triggers.model_alias import CURSOR_KEY

    af = topology.af
    af.wait_for_dag("deploy_fraud")
    af.unpause("deploy_fraud")  # Airflow starts the watchers of assets that unpaused DAGs are scheduled on
    client = topology.client()
    client.create_registered_model("fraud")
    v1, v2 = (int(client.create_model_version("fraud", source=f"s3://models/fraud/{n}").version) for n in (1, 2))

    def fraud_asset() -> dict | None:  # type: ignore[type-arg]
        found = af.api("GET", "/assets", params={"uri_pattern": "lockgate://models/fraud"})["assets"]
        return found[0] if found and found[0]["watchers"] else None

    asset = wait_for("the asset's watcher to be registered", fraud_asset, timeout=300, interval=3,
                     diagnose=af.diagnose)
    assert asset["uri"] == "lockgate://models/fraud@champion"
    assert [w["name"] for w in asset["watchers"]] == ["lockgate-fraud-champion"]

    def stored_cursor() -> int | None:
        response = httpx.get(f"{af.url}/api/v2/assets/{asset['id']}/state-store/{CURSOR_KEY}",
                             headers={"Authorization": f"Bearer {af.token()}"}, timeout=10)
        return int(response.json()["value"]) if response.status_code == 200 else None

    # A new watcher starts after the newest event: promote only once it has read that far.
    wait_for("the watcher to store its cursor in the asset's state store", stored_cursor,
             timeout=300, interval=2, diagnose=af.diagnose)

    def promote_and_deploy(version: int, runs_before: int) -> dict:  # type: ignore[type-arg]
        client.set_registered_model_alias("fraud", "champion", version)
        (event,) = [e for e in client.get_events(model_name="fraud", types=["ALIAS_SET"]) if e.to_version == version]
        run = wait_for(
            "the promotion's asset event to start deploy_fraud",
            lambda: (runs := af.dag_runs("deploy_fraud")) and len(runs) > runs_before and runs[-1],
            timeout=300, interval=2, diagnose=af.diagnose,
        )
        assert run["run_type"] == "asset_triggered"
        ended = af.wait_for_run("deploy_fraud", run["dag_run_id"])
        assert ended["state"] == "success", af.task_states("deploy_fraud", run["dag_run_id"])
        deployed: dict = af.xcom("deploy_fraud", run["dag_run_id"], "deploy")  # type: ignore[type-arg]
        assert deployed["event_id"] == event.id
        assert f"deploying fraud version {version}" in af.task_log("deploy_fraud", run["dag_run_id"], "deploy")
        return deployed

    first = promote_and_deploy(v1, 0)
    assert {k: first[k] for k in ("type", "model_name", "alias", "version", "from_version", "actor")} == {
        "type": "ALIAS_SET", "model_name": "fraud", "alias": "champion", "version": v1, "from_version": None,
        "actor": topology.server.admin[0]}
    second = promote_and_deploy(v2, 1)
    assert (second["version"], second["from_version"]) == (v2, v1)
    # The cursor survives a triggerer restart: it is in Airflow's database, at the last event.
    wait_for("the cursor to reach the last event", lambda: stored_cursor() == second["event_id"],
             timeout=60, interval=2)

    # Airflow's own record: two asset events of the asset, each carrying the registry event.
    events = af.api("GET", "/assets/events", params={"asset_id": asset["id"], "order_by": "timestamp"})
    assert [e["extra"] for e in events["asset_events"]] == [
        {"from_trigger": True, "payload": first}, {"from_trigger": True, "payload": second}]
    af.assert_alive()
    assert af.health()["triggerer"]["status"] == "healthy"
