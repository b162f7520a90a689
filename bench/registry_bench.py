"""In-process model registry benchmark on SQLite (run by hand, not a test).

    python bench/registry_bench.py

Prints, against the issue's targets:
- model versions created per second (from runs, and from plain artifact URIs)  target >= 1,000/s
- alias lookup and ``models:/`` resolution latency (median)                    target < 2 ms
- a promotion through a 3-rule gate (threshold, beats champion, tags)         target < 10 ms
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typing_extensions import Self


class _Clock:
    """Wall time and this process's CPU time (user + system) of a block.

    On a shared machine the wall figure includes waiting for a core; the CPU figure is
    what the work itself costs, and is what an idle machine's wall time approaches
    (SQLite in WAL mode with synchronous=NORMAL does not wait for the disk on commit).
    """

    def __enter__(self) -> Self:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def _median_ms(fn: Callable[[], Any], repeat: int = 200) -> tuple[float, float]:
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        with _Clock() as clock:
            fn()
        walls.append(clock.wall * 1000)
        cpus.append(clock.cpu * 1000)
    return statistics.median(walls), statistics.mean(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=2_000, help="versions to create per variant")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["LOCKGATE_HOME"] = tmp
        from lockgate import LockgateClient
        from lockgate.registry import BeatsChampion, GatePolicy, MetricThreshold, RequireTags
        from lockgate.registry.sql import SqlRegistry

        uri = f"sqlite:///{Path(tmp) / 'lockgate.db'}"
        client = LockgateClient(uri)
        registry = SqlRegistry(uri, client.store)
        exp = client.create_experiment("bench")
        runs = []
        for i in range(args.versions):
            run = client.create_run(exp)
            runs.append(run.info.run_id)
        for i, run_id in enumerate(runs[:50]):
            client.log_metric(run_id, "val_auc", 0.80 + i * 0.001)

        registry.create_registered_model("from-runs")
        with _Clock() as from_runs:
            for run_id in runs:
                registry.create_model_version("from-runs", source=f"runs:/{run_id}/model", run_id=run_id,
                                              actor="bench")

        registry.create_registered_model("from-uris")
        with _Clock() as from_uris:
            for i in range(args.versions):
                registry.create_model_version("from-uris", source=f"s3://bucket/model/{i}", actor="bench")

        name = "from-runs"
        registry.set_gate_policy(name, alias="champion", policy=GatePolicy(rules=[
            MetricThreshold(metric="val_auc", min=0.5),
            BeatsChampion(metric="val_auc", margin=0.0),
            RequireTags(tags={"validation": "passed"}),
        ]), actor="bench")
        for v in range(1, 51):
            registry.set_model_version_tag(name, v, "validation", "passed", actor="bench")
        registry.promote(name, version=1, alias="champion", actor="bench")

        alias_ms = _median_ms(lambda: registry.get_model_version_by_alias(name, "champion"))
        uri_alias_ms = _median_ms(lambda: registry.resolve_model_uri(f"models:/{name}@champion"))
        uri_version_ms = _median_ms(lambda: registry.resolve_model_uri(f"models:/{name}/42"))
        uri_latest_ms = _median_ms(lambda: registry.resolve_model_uri(f"models:/{name}/latest"))

        # Each promotion moves the alias to a better version, so every one is a real move.
        walls, cpus = [], []
        for v in range(2, 51):
            with _Clock() as clock:
                decision = registry.promote(name, version=v, alias="champion", actor="bench")
            walls.append(clock.wall * 1000)
            cpus.append(clock.cpu * 1000)
            assert decision.changed and len(decision.results) == 3 and decision.passed
        promote_ms = (statistics.median(walls), statistics.mean(cpus))
        eval_ms = _median_ms(lambda: registry.evaluate_gate(name, version=10, alias="champion"), repeat=100)

        def rate(label: str, clock: _Clock) -> None:
            wall, cpu = args.versions / clock.wall, args.versions / clock.cpu
            print(f"{label:<44} {wall:>8,.0f}/s wall {cpu:>8,.0f}/s cpu   target >= 1,000/s "
                  f"{'ok' if wall >= 1000 else ('ok on cpu' if cpu >= 1000 else 'MISSED')}")

        def latency(label: str, figures: tuple[float, float], target_ms: float | None) -> None:
            wall, cpu = figures
            verdict = "" if target_ms is None else (
                "ok" if wall < target_ms else ("ok on cpu" if cpu < target_ms else "MISSED"))
            target = f"target < {target_ms:g} ms " if target_ms else ""
            print(f"{label:<44} {wall:>7.2f} ms wall {cpu:>7.2f} ms cpu   {target}{verdict}")

        import os as _os

        print(f"SQLite, in process, {args.versions} versions per variant; load average "
              f"{_os.getloadavg()[0]:.1f} on {_os.cpu_count()} cores")
        rate("versions created from runs (runs:/ source)", from_runs)
        rate("versions created from artifact URIs", from_uris)
        latency("alias lookup (get_model_version_by_alias)", alias_ms, 2)
        latency("resolve models:/name@alias", uri_alias_ms, 2)
        latency("resolve models:/name/<version>", uri_version_ms, 2)
        latency("resolve models:/name/latest", uri_latest_ms, 2)
        latency("promotion through a 3-rule gate", promote_ms, 10)
        latency("dry-run evaluate_gate (3 rules)", eval_ms, None)


if __name__ == "__main__":
    main()
