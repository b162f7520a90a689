"""Weekly churn-model retraining on Dagster, with the model registry and a promotion gate.

    dagster dev -f examples/dagster/retrain_churn.py

``features`` prepares a train/validation split, ``churn_model`` trains a classifier inside a
Lockgate run and returns it; ``LockgateModelIOManager`` registers it as a new version of the
``churn_model`` registered model. The blocking gate check promotes the version to
``@champion`` only if it reaches a validation AUC of 0.90 and is no worse than the current
champion; otherwise the check fails with each rule's verdict and ``scores`` does not run.
``scores`` loads ``@champion`` through pyfunc. The sensor re-scores whenever ``@champion``
moves, whoever moved it (this pipeline, the CLI, a reviewer's override).

The data is scikit-learn's bundled breast-cancer set standing in for churn records (a binary
label over 30 numeric features), so the example runs offline. Set ``LOCKGATE_TRACKING_URI``
to track into a server or PostgreSQL instead of the embedded SQLite database.
"""

import dagster as dg
import numpy as np
import pandas as pd
from lockgate.registry import BeatsChampion, GatePolicy, MetricThreshold
from lockgate_dagster import (
    LockgateModelIOManager,
    LockgateResource,
    build_promotion_gate_checks,
    build_promotion_sensor,
)

CHAMPION = "champion"
GATE = GatePolicy(
    description="A champion must be good in absolute terms and no worse than the one it replaces.",
    rules=[MetricThreshold(metric="val_auc", min=0.90), BeatsChampion(metric="val_auc", margin=0.0)],
)


class TrainConfig(dg.Config):
    """Hyperparameters of a retraining run."""

    n_estimators: int = 50
    max_depth: int = 4
    feature_count: int = 30  # the model looks at the first N features: fewer make it weaker


@dg.asset(description="Train/validation split of the customer records.")
def features() -> dict[str, pd.DataFrame]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "churned"})
    train, valid = train_test_split(frame, test_size=0.3, random_state=7, stratify=frame["churned"])
    return {"train": train.reset_index(drop=True), "valid": valid.reset_index(drop=True)}


@dg.asset(io_manager_key="model_io", code_version="2", description="Churn classifier; a registry version per run.")
def churn_model(
    context: dg.AssetExecutionContext, config: TrainConfig, lockgate: LockgateResource,
    features: dict[str, pd.DataFrame],
):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline

    train, valid = features["train"], features["valid"]
    x_train, x_valid = train.drop(columns=["churned"]), valid.drop(columns=["churned"])
    # Every model takes all columns, so any version can score the same input.
    used = list(x_train.columns[: config.feature_count])
    with lockgate.start_run(context):
        lockgate.log_params(config.model_dump())
        model = Pipeline([
            ("select", ColumnTransformer([("keep", "passthrough", used)], remainder="drop")),
            ("forest", RandomForestClassifier(
                n_estimators=config.n_estimators, max_depth=config.max_depth, random_state=0)),
        ]).fit(x_train, train["churned"])
        scores = model.predict_proba(x_valid)[:, 1]
        auc = float(roc_auc_score(valid["churned"], scores))
        lockgate.log_metric("val_auc", auc)
        lockgate.log_input(name="churn-records", digest=_digest(train), context="training")
        context.log.info(f"val_auc={auc:.4f} from {len(used)} features")
        return model


@dg.asset(
    ins={"churn_model": dg.AssetIn(metadata={"lockgate/alias": CHAMPION})},
    description="Churn probability per validation customer, scored by the champion.",
)
def scores(churn_model, features: dict[str, pd.DataFrame]) -> pd.DataFrame:
    valid = features["valid"].drop(columns=["churned"])
    predictions = np.asarray(churn_model.predict(valid))
    return pd.DataFrame({"customer": valid.index, "churn": predictions})


def _digest(frame: pd.DataFrame) -> str:
    return str(pd.util.hash_pandas_object(frame, index=True).sum() & 0xFFFFFFFFFFFF)


gate_checks = build_promotion_gate_checks(assets=[churn_model], alias=CHAMPION, policy=GATE)
retrain = dg.define_asset_job("retrain_churn", selection="*", description="Retrain, gate and score.")
weekly_retrain = dg.ScheduleDefinition(name="weekly_retrain", job=retrain, cron_schedule="0 3 * * 1")
rescore_on_promotion = build_promotion_sensor(model_name="churn_model", alias=CHAMPION, target=[scores])

defs = dg.Definitions(
    assets=[features, churn_model, scores],
    asset_checks=gate_checks,
    jobs=[retrain],
    schedules=[weekly_retrain],
    sensors=[rescore_on_promotion],
    resources={
        "lockgate": LockgateResource(experiment="churn"),
        "model_io": LockgateModelIOManager(experiment="churn"),
    },
)
