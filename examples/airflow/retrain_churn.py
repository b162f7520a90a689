"""Weekly retraining with a promotion gate: train, register, promote only if better, score.

The dataset is scikit-learn's bundled breast-cancer table standing in for churn labels (a
real, offline binary classification set). Each run trains a model inside a Lockgate run
(``@task.lockgate``), registers it as a new version of ``churn``, and asks the registry to
move ``@champion`` to it. The gate on ``@champion`` demands ``val_auc >= 0.9`` and no loss
against the current champion; a worse model is refused: the promote task fails with every
rule's verdict in its log, scoring downstream is ``upstream_failed``, and ``@champion``
stays where it was (so scoring only ever runs right after a promotion, with the champion).

Trigger a deliberately worse model with ``{"quality": "poor"}`` as the run conf. Run it
locally with ``python examples/airflow/retrain_churn.py`` (needs this folder as a DAG bundle).
"""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

import lockgate
from airflow.sdk import Param, dag, task
from lockgate_airflow.operators import (
    BatchPredictOperator,
    PromoteModelOperator,
    RegisterModelOperator,
)

MODEL_NAME = "churn"
GATE = {
    "description": "A champion must be good and no worse than the one it replaces.",
    "rules": [
        {"type": "metric_threshold", "metric": "val_auc", "min": 0.9},
        {"type": "beats_champion", "metric": "val_auc", "margin": 0.0},
    ],
}
DATA_DIR = Path(os.environ.get("LOCKGATE_EXAMPLE_DATA", Path(tempfile.gettempdir()) / "lockgate-churn"))


@dag(
    dag_id="retrain_churn",
    schedule="@weekly",
    start_date=datetime.datetime(2024, 1, 1),
    catchup=False,
    params={"quality": Param("good", enum=["good", "poor"])},
    tags=["lockgate", "example"],
)
def retrain_churn():
    @task
    def ensure_gate() -> str:
        """Guard @champion with the policy above (only written when it changed)."""
        from lockgate.errors import NotFound
        from lockgate_airflow.hooks import LockgateHook

        client = LockgateHook().get_conn()
        try:
            client.get_registered_model(MODEL_NAME)
        except NotFound:
            client.create_registered_model(MODEL_NAME, description="Churn classifier (example)")
        current = client.get_gate_policy(MODEL_NAME, alias="champion")
        if current is None or current.policy != lockgate.registry.GatePolicy.from_document(GATE).to_document():
            current = client.set_gate_policy(MODEL_NAME, alias="champion", policy=GATE)
        return f"policy v{current.policy_version}"

    @task
    def write_scoring_input() -> str:
        """The rows to score this week, as a Parquet file."""
        from sklearn.datasets import load_breast_cancer

        frame = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path = DATA_DIR / "to_score.parquet"
        frame.tail(100).to_parquet(path)
        return str(path)

    @task.lockgate(experiment="churn")
    def train(params: dict | None = None) -> None:
        import numpy as np
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        quality = (params or {}).get("quality", "good")
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=7, stratify=y)
        if quality == "poor":
            # A deliberately bad model: trained on shuffled labels, it has learned nothing.
            y_train = y_train.sample(frac=1.0, random_state=1).to_numpy()
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=1.0))
        model.fit(X_train, np.asarray(y_train))
        auc = float(roc_auc_score(y_val, model.predict_proba(X_val)[:, 1]))
        lockgate.log_params({"C": 1.0, "quality": quality, "rows": len(X_train)})
        lockgate.log_metric("val_auc", auc)
        lockgate.sklearn.log_model(model, name="model", input_example=X_val.head(3))

    run_id = train()
    version = RegisterModelOperator(task_id="register", model_name=MODEL_NAME, run_id=run_id, artifact_path="model")
    promote = PromoteModelOperator(
        task_id="promote", model_name=MODEL_NAME, version=version.output, alias="champion"
    )
    score = BatchPredictOperator(
        task_id="score",
        model_uri=f"models:/{MODEL_NAME}@champion",
        input_path=write_scoring_input(),
        output_path=str(DATA_DIR / "scores_{{ ds_nodash }}_{{ ts_nodash }}.parquet"),
    )
    ensure_gate() >> promote >> score


dag_object = retrain_churn()

if __name__ == "__main__":
    dag_object.test()
