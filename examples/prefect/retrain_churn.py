"""Weekly churn retraining on Prefect, with a promotion gate guarding the champion model.

The flow trains a classifier on a synthetic churn table, logs it to Lockgate, registers
it as a new version of ``churn``, and asks the registry to make it ``@champion``. The gate
lets a version through only if its validation AUC is at least 0.9 and no worse than the
current champion's; a refused promotion fails the flow, with every rule's verdict in the
Prefect UI (a markdown artifact) and a ``lockgate.gate.failed`` event for automations.
When the champion does change, the flow scores a batch with ``models:/churn@champion``.

Run it once locally with ``python examples/prefect/retrain_churn.py --once``; without
``--once`` it serves a deployment that runs every Monday at 03:00 (``--start-at <ISO time>``
runs it weekly from that moment instead). Against a shared Lockgate server, save a
``LockgateCredentials`` block and set ``LOCKGATE_PREFECT_CREDENTIALS=<block name>`` for the
process that serves the flow: every run then tracks to, and promotes on, that server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path

import lockgate
from lockgate_prefect import batch_predict, promote_model, register_model_version, tracked
from prefect import flow, task

MODEL = "churn"
FEATURES = [f"f{i}" for i in range(8)]

CHAMPION_GATE = {
    "description": "A champion must be decent and no worse than the one it replaces.",
    "rules": [
        {"type": "metric_threshold", "metric": "val_auc", "min": 0.9},
        {"type": "beats_champion", "metric": "val_auc", "margin": 0.0},
    ],
}


@task
def load_customers(seed: int = 7, rows: int = 1500):  # type: ignore[no-untyped-def]
    """A synthetic churn table: eight behavioural features and a ``churned`` label."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows, n_features=len(FEATURES), n_informative=5, random_state=seed, class_sep=1.2
    )
    frame = pd.DataFrame(X, columns=FEATURES)
    frame["churned"] = y
    return frame


@task
def train(customers, *, max_depth: int, label_noise: float) -> str:  # type: ignore[no-untyped-def]
    """Fit a tree ensemble, log its validation AUC and the model; returns the Lockgate run id.

    ``label_noise`` flips that share of training labels: the knob that makes a worse model.
    """
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    X = customers[FEATURES]
    y = customers["churned"].to_numpy().copy()
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    rng = np.random.default_rng(0)
    flip = rng.random(len(y_train)) < label_noise
    y_train = np.where(flip, 1 - y_train, y_train)
    model = RandomForestClassifier(n_estimators=60, max_depth=max_depth, random_state=0)
    model.fit(X_train, y_train)
    auc = float(roc_auc_score(y_val, model.predict_proba(X_val)[:, 1]))
    lockgate.log_metric("val_auc", auc)
    lockgate.sklearn.log_model(model, name="model", input_example=X_val.head(3))
    run = lockgate.active_run()
    assert run is not None, "train runs inside the tracked flow's run"
    return run.info.run_id


@task
def ensure_champion_gate() -> int:
    """Guard ``@champion`` with CHAMPION_GATE (only writing it when it changed); its policy version."""
    from lockgate.registry import GatePolicy

    client = lockgate.LockgateClient()  # inside the tracked flow: the flow's store and token
    client.create_registered_model(
        MODEL, description="Will this customer leave next month?", exist_ok=True
    )
    wanted = GatePolicy.from_document(CHAMPION_GATE).to_document()
    current = client.get_gate_policy(MODEL, alias="champion")
    if current is not None and current.policy == wanted:
        return current.policy_version
    return client.set_gate_policy(MODEL, alias="champion", policy=wanted).policy_version


@task
def write_scoring_batch(customers, path: str) -> str:  # type: ignore[no-untyped-def]
    """This week's customers to score (the features only)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    customers[FEATURES].head(200).to_csv(path, index=False)
    return path


@flow(log_prints=True)
@tracked(experiment="churn")
def retrain_churn(
    max_depth: int = 6,
    label_noise: float = 0.0,
    workdir: str = str(Path(tempfile.gettempdir()) / "lockgate-churn"),
) -> dict[str, object]:
    """Train, register, promote through the gate, and score with the champion."""
    customers = load_customers()
    run_id = train(customers, max_depth=max_depth, label_noise=label_noise)
    ensure_champion_gate()
    version = register_model_version(MODEL, run_id=run_id, artifact_path="model")
    promote_model(MODEL, version=version.version, alias="champion")
    batch = write_scoring_batch(customers, f"{workdir}/to_score.csv")
    scored = batch_predict(
        f"models:/{MODEL}@champion", input_path=batch, output_path=f"{workdir}/scored_v{version.version}.csv"
    )
    print(f"{MODEL} v{version.version} is the champion; scored {scored.rows} customers")
    return {"run_id": run_id, "version": version.version, "scored": scored.output_path}


def main(argv: list[str] | None = None) -> None:
    """Run the flow once (``--once``) or serve its weekly deployment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run the flow once and exit")
    parser.add_argument(
        "--start-at", type=dt.datetime.fromisoformat, default=None,
        help="serve weekly from this ISO time instead of Mondays at 03:00",
    )
    args = parser.parse_args(argv)
    if args.once:
        retrain_churn()
    elif args.start_at is not None:
        from prefect.schedules import Interval

        retrain_churn.serve(name="weekly", schedule=Interval(dt.timedelta(weeks=1), anchor_date=args.start_at))
    else:
        retrain_churn.serve(name="weekly", cron="0 3 * * 1")


if __name__ == "__main__":
    main()
