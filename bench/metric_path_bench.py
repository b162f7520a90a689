"""Per-batch timings of the in-process metric paths on SQLite, for old-vs-new comparisons.

Run by hand (not a test), alternating two trees in one sitting:

    PYTHONPATH=<tree>/core python bench/metric_path_bench.py [--batches 100]

Logs ``--batches`` batches of 1,000 points through ``LockgateClient.log_batch`` with ``Metric``
objects built in the loop (as bench/tracking_core_bench.py does, construction timed too), then
reads a 20,000-point history with ``client.get_metric_history`` 15 times. Prints one JSON line:
per-batch wall median and best, per-batch CPU median (``time.process_time``, which a loaded
machine inflates less than wall time), points/s over the whole loop by wall and by CPU time,
the history read's wall median and best and CPU median, and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LOCKGATE_HOME"] = os.path.join(tmp, "home")
        from lockgate import LockgateClient
        from lockgate.entities import Metric

        client = LockgateClient(f"sqlite:///{tmp}/bench.db")
        exp = client.create_experiment("metric-paths")
        run_id = client.create_run(exp, context_tags=False).info.run_id
        hist_id = client.create_run(exp, context_tags=False).info.run_id
        wall, cpu = [], []
        loop_wall, loop_cpu = time.perf_counter(), time.process_time()
        for b in range(args.batches):
            now = int(time.time() * 1000)
            w, c = time.perf_counter(), time.process_time()
            client.log_batch(run_id, metrics=[Metric(key="throughput", value=s * 0.001, timestamp=now, step=s)
                                              for s in range(b * 1000, b * 1000 + 1000)])
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
        loop_wall, loop_cpu = time.perf_counter() - loop_wall, time.process_time() - loop_cpu
        for b in range(20):
            now = int(time.time() * 1000)
            client.log_batch(hist_id, metrics=[Metric(key="hist", value=s * 0.001, timestamp=now, step=s)
                                               for s in range(b * 1000, b * 1000 + 1000)])
        hist_wall, hist_cpu = [], []
        for _ in range(15):
            w, c = time.perf_counter(), time.process_time()
            assert len(client.get_metric_history(hist_id, "hist")) == 20_000
            hist_wall.append(time.perf_counter() - w)
            hist_cpu.append(time.process_time() - c)

    def ms(x: float) -> float:
        return round(x * 1000, 2)

    print(json.dumps({
        "batch_wall_med_ms": ms(statistics.median(wall)), "batch_wall_best_ms": ms(min(wall)),
        "batch_cpu_med_ms": ms(statistics.median(cpu)),
        "points_per_s_wall": round(args.batches * 1000 / loop_wall), "points_per_s_cpu": round(args.batches * 1000 / loop_cpu),
        "history_wall_med_ms": ms(statistics.median(hist_wall)), "history_wall_best_ms": ms(min(hist_wall)),
        "history_cpu_med_ms": ms(statistics.median(hist_cpu)),
        "load": Path("/proc/loadavg").read_text().split()[0],
    }))


if __name__ == "__main__":
    main()
