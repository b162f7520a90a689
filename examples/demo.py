"""Lockgate's main demo: train, track, register, gate and serve on the embedded SQLite default.

Run it with ``python3 dev.py demo`` (sets up its own environment) or, inside one,
``python examples/demo.py``. It trains gradient-boosting classifiers on scikit-learn's
bundled breast-cancer dataset, tracks each as a run (params, a validation-loss curve,
final metrics, the dataset, the model), compares the runs side by side, registers the best
model and promotes it to ``@champion`` through a gate, shows the gate refusing a weaker
challenger, prints the audit trail, then scores a Parquet file and a REST request with the
champion.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile

import lockgate
from rich.console import Console
from rich.table import Table

console = Console()


def _dataset_digest(X) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(X.tobytes()).hexdigest()[:16]


MODEL_NAME = "breast-cancer"


def _load_data():  # type: ignore[no-untyped-def]
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    X_train, X_val, y_train, y_val = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0, stratify=data.target
    )
    return data, X_train, X_val, y_train, y_val


def _train_one(params: dict, X_train, X_val, y_train, y_val, *, nested: bool = True) -> str:  # type: ignore[no-untyped-def]
    """Fit one model inside a tracked run: params, a loss curve, final metrics, the model."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import log_loss, roc_auc_score

    name = f"gbm-lr{params['learning_rate']}-d{params['max_depth']}-n{params['n_estimators']}"
    with lockgate.start_run(run_name=name, nested=nested) as run:
        lockgate.log_params(params)
        model = GradientBoostingClassifier(random_state=0, **params).fit(X_train, y_train)
        for step, proba in enumerate(model.staged_predict_proba(X_val)):
            if step % 5 == 0:
                lockgate.log_metric("val_loss", log_loss(y_val, proba), step=step)
        proba = model.predict_proba(X_val)[:, 1]
        lockgate.log_metrics({"val_auc": roc_auc_score(y_val, proba),
                              "val_accuracy": float((model.predict(X_val) == y_val).mean())})
        lockgate.sklearn.log_model(model, name="model", input_example=X_val.head(5))
        lockgate.set_tag("validation", "passed")
    return run.info.run_id


def train_and_track(experiment: str) -> list[str]:
    """Train one model per hyper-parameter set, each in its own tracked run under a parent."""
    data, X_train, X_val, y_train, y_val = _load_data()
    lockgate.set_experiment(experiment)
    grid = [
        {"learning_rate": 0.3, "max_depth": 1, "n_estimators": 60},
        {"learning_rate": 0.1, "max_depth": 2, "n_estimators": 80},
        {"learning_rate": 0.05, "max_depth": 3, "n_estimators": 120},
    ]
    with lockgate.start_run(run_name="grid-search") as parent:
        lockgate.log_input(name="breast_cancer", digest=_dataset_digest(data.data.to_numpy()),
                           source="sklearn.datasets.load_breast_cancer", context="training")
        run_ids = [_train_one(params, X_train, X_val, y_train, y_val) for params in grid]
    console.print(f"Tracked {len(run_ids)} runs under parent run [bold]{parent.info.run_id}[/]")
    return run_ids


def show_results(experiment: str) -> str:
    """Search the runs, print them side by side, best first; return the best run id."""
    client = lockgate.LockgateClient()
    runs = client.search_runs([experiment], "metrics.val_auc > 0.9", order_by=["metrics.val_auc DESC"])
    table = Table(title=f"Runs of {experiment!r} with val_auc > 0.9, best first")
    for col in ("run", "learning_rate", "max_depth", "n_estimators", "val_auc", "val_accuracy", "val_loss points"):
        table.add_column(col, justify="right" if col != "run" else "left", no_wrap=col == "run")
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "val_loss")
        table.add_row(
            run.info.run_name,
            run.data.params["learning_rate"],
            run.data.params["max_depth"],
            run.data.params["n_estimators"],
            f"{run.data.metrics['val_auc']:.4f}",
            f"{run.data.metrics['val_accuracy']:.4f}",
            str(len(history)),
        )
    console.print(table)
    if not runs:
        sys.exit("demo failed: no run reached val_auc > 0.9")
    return runs[0].info.run_id


def _verdicts(title: str, decision) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=title)
    for col in ("rule", "passed", "observed", "expected", "message"):
        table.add_column(col)
    for r in decision.results:
        table.add_row(r.rule, "yes" if r.passed else "[red]no[/]", str(r.observed), str(r.expected), r.message)
    console.print(table)


def register_and_gate(best_run_id: str) -> None:
    """Register the best model, promote it through a gate, then watch the gate stop a worse one."""
    from lockgate.errors import GateFailed
    from lockgate.registry import BeatsChampion, GatePolicy, MetricThreshold, RequireTags

    client = lockgate.LockgateClient()
    client.create_registered_model(MODEL_NAME, description="Demo classifier", tags={"team": "demo"})
    client.set_gate_policy(MODEL_NAME, alias="champion", policy=GatePolicy(rules=[
        MetricThreshold(metric="val_auc", min=0.95),
        BeatsChampion(metric="val_auc", margin=0.001),
        RequireTags(tags={"validation": "passed"}),
    ]))
    first = client.create_model_version(MODEL_NAME, source=f"runs:/{best_run_id}/model", run_id=best_run_id)
    decision = client.promote(MODEL_NAME, version=first.version, alias="champion", reason="best of the grid")
    _verdicts(f"Promote version {first.version} to @champion: passed={decision.passed}", decision)

    # A deliberately weak challenger: two shallow trees.
    _, X_train, X_val, y_train, y_val = _load_data()
    weak_run = _train_one({"learning_rate": 0.01, "max_depth": 1, "n_estimators": 2},
                          X_train, X_val, y_train, y_val, nested=False)
    weak = client.create_model_version(MODEL_NAME, source=f"runs:/{weak_run}/model", run_id=weak_run)
    try:
        client.promote(MODEL_NAME, version=weak.version, alias="champion", reason="weekly retrain")
        sys.exit("demo failed: the gate let a worse model through")
    except GateFailed as exc:
        console.print(f"[yellow]Gate refused version {weak.version}:[/] {exc.message}")
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    console.print(f"@champion is still version [bold]{champion.version}[/]")
    if str(champion.version) != str(first.version):
        sys.exit("demo failed: the champion moved")

    history = Table(title=f"Promotion history of {MODEL_NAME!r}")
    for col in ("id", "event", "version", "target", "from", "to", "actor", "reason"):
        history.add_column(col)
    for event in client.get_promotion_history(MODEL_NAME):
        history.add_row(str(event.id), event.type.value, str(event.version or ""),
                        event.alias or event.stage or "", str(event.from_version or ""),
                        str(event.to_version or ""), event.actor, event.reason or "")
    console.print(history)


def serve_and_score() -> None:
    """Score a file in batch and answer one REST request from the champion."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn
    from lockgate.models.pyfunc import load_model
    from lockgate.serving.app import create_scoring_app
    from lockgate.serving.batch import predict_batch

    _data, _, X_val, _, y_val = _load_data()
    home = os.environ["LOCKGATE_HOME"]
    source = os.path.join(home, "to_score.parquet")
    scored = os.path.join(home, "scored.parquet")
    X_val.to_parquet(source)
    result = predict_batch(f"models:/{MODEL_NAME}@champion", source, scored, chunk_size=50, progress=False)
    console.print(f"Batch prediction: {result}")

    model = load_model(f"models:/{MODEL_NAME}@champion")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_scoring_app(model), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/ping").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    rows = X_val.head(3)
    response = httpx.post(f"{url}/invocations", json={"dataframe_split": rows.to_dict(orient="split")})
    server.should_exit = True
    thread.join(timeout=10)
    console.print(f"POST /invocations -> {response.status_code} {response.json()} "
                  f"(true labels {list(y_val.head(3))})")
    if response.status_code != 200:
        sys.exit("demo failed: the scoring server did not answer")


def main() -> None:
    if "LOCKGATE_HOME" not in os.environ and "--keep" not in sys.argv:
        # A throwaway home keeps repeated demos from mixing; pass --keep to use ~/.lockgate.
        os.environ["LOCKGATE_HOME"] = tempfile.mkdtemp(prefix="lockgate-demo-")
    console.print(f"Lockgate home: {os.environ.get('LOCKGATE_HOME', '~/.lockgate')} "
                  f"(tracking URI {lockgate.get_tracking_uri()})")
    experiment = "breast-cancer-demo"
    train_and_track(experiment)
    best = show_results(experiment)
    register_and_gate(best)
    serve_and_score()
    show_ui_hint(experiment)


def show_ui_hint(experiment: str) -> None:
    """Tell the user how to look at what the demo made in the web UI."""
    exp = lockgate.LockgateClient().get_experiment_by_name(experiment)
    home = os.environ.get("LOCKGATE_HOME", "~/.lockgate")
    page = f"experiments/{exp.experiment_id}" if exp is not None else ""
    console.print(
        "\nSee it in the web UI:\n"
        f"  LOCKGATE_HOME={home} .nox/demo/bin/lockgate ui      (or `lockgate ui` where lockgate is installed)\n"
        f"  then open http://127.0.0.1:5000/{page}  (runs, charts, compare)"
    )


if __name__ == "__main__":
    main()
