"""Autologging overhead per training call: Lockgate's autolog() beside mlflow.autolog().

Run by hand (not a test):  python bench/autolog_bench.py [--fits 20] [--rounds 2]

For scikit-learn (a depth-4 DecisionTreeClassifier on breast cancer, 450 x 30) and XGBoost (``xgb.train``,
20 rounds of depth-3 trees with a train and a validation eval set) each tool runs in its own
child process (both patch the same libraries, so never in one), alternating, each against a
fresh SQLite store in a temp dir, and times one fit in three modes after a warm-up fit:

* untracked: autologging turned off (``disable=True``), the plain fit;
* tracking: ``log_models=False`` (run, params, metrics, tags, artifacts such as feature
  importance; the run started and ended around the fit);
* with model: ``log_models=True``, adding the model save and upload.

It prints the median fit time per mode and the overhead = median(mode) - median(untracked), so
"tracking" is the autolog cost and "with model - tracking" the model save.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

MODES = ("untracked", "tracking", "with model")
# one BLAS/OpenMP thread: on a shared machine oversubscription noise would swamp milliseconds
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _data() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x.columns = [c.replace(" ", "_") for c in x.columns]
    return x.iloc[:450], y.iloc[:450], x.iloc[450:], y.iloc[450:]


def _fit(library: str) -> Any:
    x, y, vx, vy = _data()
    if library == "sklearn":
        from sklearn.tree import DecisionTreeClassifier

        return lambda: DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y)
    import xgboost as xgb

    train, valid = xgb.DMatrix(x, label=y), xgb.DMatrix(vx, label=vy)
    params = {"objective": "binary:logistic", "max_depth": 3, "eval_metric": "logloss", "nthread": 1}
    return lambda: xgb.train(params, train, 20, evals=[(train, "train"), (valid, "valid")],
                             verbose_eval=False)


def _configure(tool: str, library: str, mode: str) -> None:
    options = {"disable": mode == "untracked", "log_models": mode == "with model", "silent": True}
    if tool == "lockgate":
        import lockgate

        getattr(lockgate, library).autolog(**options)
    else:
        import mlflow

        getattr(mlflow, library).autolog(**options)


def _child(tool: str, library: str, fits: int) -> dict[str, list[float]]:
    warnings.simplefilter("ignore")
    home = tempfile.mkdtemp(prefix=f"autolog-bench-{tool}-")
    if tool == "lockgate":
        import lockgate

        lockgate.set_tracking_uri(f"sqlite:///{home}/lockgate.db")
    else:
        import logging

        import mlflow

        logging.getLogger("mlflow").setLevel(logging.ERROR)
        mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
        mlflow.set_experiment("bench")
    _configure(tool, library, "with model")
    fit = _fit(library)
    fit()  # warm-up: imports, migrations, first run
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(fits):
        for mode in MODES:
            _configure(tool, library, mode)
            start = time.perf_counter()
            fit()
            times[mode].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=20, help="timed fits per mode and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two tools")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "LIBRARY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.fits)))
        return
    print(f"{'library':8} {'tool':9} " + " ".join(f"{m + ' ms':>14}" for m in MODES)
          + f" {'tracking +ms':>13} {'model save +ms':>15}", flush=True)
    for _ in range(args.rounds):
        for library in ("sklearn", "xgboost"):
            for tool in ("lockgate", "mlflow"):
                out = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--fits", str(args.fits),
                     "--child", tool, library], check=True, capture_output=True, text=True,
                    env={**os.environ, **SINGLE_THREAD})
                times = json.loads(out.stdout.strip().splitlines()[-1])
                median = {mode: statistics.median(times[mode]) * 1000 for mode in MODES}
                tracking = median["tracking"] - median["untracked"]
                model = median["with model"] - median["tracking"]
                print(f"{library:8} {tool:9} " + " ".join(f"{median[m]:14.1f}" for m in MODES)
                      + f" {tracking:13.1f} {model:15.1f}", flush=True)

if __name__ == "__main__":
    main()
