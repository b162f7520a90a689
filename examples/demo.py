"""Lockgate's main demo: train, track, compare runs on the embedded SQLite default.

Run it with ``python3 dev.py demo`` (sets up its own environment) or, inside one,
``python examples/demo.py``. It trains gradient-boosting classifiers on scikit-learn's
bundled breast-cancer dataset with a few hyper-parameters, tracks each as a run (params,
per-iteration validation loss, final metrics, the dataset used), then searches the runs
and prints them side by side.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile

from rich.console import Console
from rich.table import Table

import lockgate

console = Console()


def _dataset_digest(X) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(X.tobytes()).hexdigest()[:16]


def train_and_track(experiment: str) -> list[str]:
    """Train one model per hyper-parameter set, each in its own tracked run."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    X_train, X_val, y_train, y_val = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0, stratify=data.target
    )
    lockgate.set_experiment(experiment)
    run_ids = []
    grid = [
        {"learning_rate": 0.3, "max_depth": 1, "n_estimators": 60},
        {"learning_rate": 0.1, "max_depth": 2, "n_estimators": 80},
        {"learning_rate": 0.05, "max_depth": 3, "n_estimators": 120},
    ]
    with lockgate.start_run(run_name="grid-search") as parent:
        lockgate.log_input(name="breast_cancer", digest=_dataset_digest(data.data),
                           source="sklearn.datasets.load_breast_cancer", context="training")
        for params in grid:
            name = f"gbm-lr{params['learning_rate']}-d{params['max_depth']}"
            with lockgate.start_run(run_name=name, nested=True) as run:
                lockgate.log_params(params)
                model = GradientBoostingClassifier(random_state=0, **params).fit(X_train, y_train)
                for step, proba in enumerate(model.staged_predict_proba(X_val)):
                    if step % 5 == 0:
                        lockgate.log_metric("val_loss", log_loss(y_val, proba), step=step)
                proba = model.predict_proba(X_val)[:, 1]
                lockgate.log_metrics({"val_auc": roc_auc_score(y_val, proba),
                                      "val_accuracy": float((model.predict(X_val) == y_val).mean())})
                run_ids.append(run.info.run_id)
        lockgate.set_tag("best_of", str(len(grid)))
    console.print(f"Tracked {len(run_ids)} runs under parent run [bold]{parent.info.run_id}[/]")
    return run_ids


def show_results(experiment: str) -> None:
    """Search the runs and print them side by side, best first."""
    client = lockgate.LockgateClient()
    runs = client.search_runs([experiment], "metrics.val_auc > 0.9", order_by=["metrics.val_auc DESC"])
    table = Table(title=f"Runs of {experiment!r} with val_auc > 0.9, best first")
    for col in ("run", "learning_rate", "max_depth", "n_estimators", "val_auc", "val_accuracy", "val_loss points"):
        table.add_column(col, justify="right" if col != "run" else "left")
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


def main() -> None:
    if "LOCKGATE_HOME" not in os.environ and "--keep" not in sys.argv:
        # A throwaway home keeps repeated demos from mixing; pass --keep to use ~/.lockgate.
        os.environ["LOCKGATE_HOME"] = tempfile.mkdtemp(prefix="lockgate-demo-")
    console.print(f"Lockgate home: {os.environ.get('LOCKGATE_HOME', '~/.lockgate')} "
                  f"(tracking URI {lockgate.get_tracking_uri()})")
    experiment = "breast-cancer-demo"
    train_and_track(experiment)
    show_results(experiment)


if __name__ == "__main__":
    main()
