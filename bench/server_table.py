#!/usr/bin/env python3
"""Turn two tracking_bench.py JSON results (MLflow, Lockgate) into the Markdown table of bench/README.md.

    python bench/server_table.py mlflow.json lockgate.json [--ready-mlflow S --ready-lockgate S]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

# (label, path into the JSON, higher is better)
ROWS: list[tuple[str, tuple[str, ...], bool]] = [
    ("w1 runs created (runs/s)", ("w1_create_runs", "runs_per_s"), True),
    ("w2a log-batch metric points (points/s)", ("w2a_log_batch_metrics", "points_per_s"), True),
    ("w2b single log-metric calls (calls/s)", ("w2b_log_metric_single", "calls_per_s"), True),
    ("w3 20,000-point history p50 (ms)", ("w3_get_history", "p50_ms"), False),
    ("w4 filtered search p50 (ms)", ("w4_search_filter", "p50_ms"), False),
    ("w4 unfiltered search of 1,000 runs p50 (ms)", ("w4_search_all", "p50_ms"), False),
    ("w5 model versions created (versions/s)", ("w5_registry", "model_versions_per_s"), True),
    ("w5 registry ops (ops/s)", ("w5_registry", "ops_per_s"), True),
    ("w6 8-thread log-batch (points/s)", ("w6_concurrency", "points_per_s"), True),
    ("w6 errors", ("w6_concurrency", "errors"), False),
    ("resident memory (MiB)", ("server_rss", "total_kib"), False),
]


def _get(data: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = data
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    if path[-1] == "total_kib" and value is not None:
        return round(value / 1024, 1)
    return value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mlflow")
    ap.add_argument("lockgate")
    ap.add_argument("--ready-mlflow", type=float)
    ap.add_argument("--ready-lockgate", type=float)
    args = ap.parse_args()
    mlf, lg = json.loads(Path(args.mlflow).read_text()), json.loads(Path(args.lockgate).read_text())
    print("| workload | MLflow | Lockgate | Lockgate vs MLflow |")
    print("|---|---:|---:|---:|")
    for label, path, higher in ROWS:
        a, b = _get(mlf, path), _get(lg, path)
        if a is None and b is None:
            continue
        ratio = ""
        if a and b:
            ratio = f"{(b / a if higher else a / b):.2f}x {'faster' if higher or 'ms' in label else 'smaller'}"
            if label.startswith("w6 errors"):
                ratio = ""
        print(f"| {label} | {a if a is not None else 'n/a'} | {b if b is not None else 'n/a'} | {ratio} |")
    if args.ready_mlflow and args.ready_lockgate:
        print(f"| ready after start (s) | {args.ready_mlflow:.1f} | {args.ready_lockgate:.1f} | "
              f"{args.ready_mlflow / args.ready_lockgate:.1f}x faster |")
    print(f"| processes | {mlf.get('server_rss', {}).get('processes', 'n/a')} | "
          f"{lg.get('server_rss', {}).get('processes', 'n/a')} | |")


if __name__ == "__main__":
    main()
