"""Train a tiny churn classifier (logistic regression, pure Python) and log it to Lockgate.

Run as a project: ``lockgate run examples/projects/churn -e train -P lr=0.1``. The data is
synthetic and seeded, so a re-run with the same parameters gives the same accuracy.
"""

from __future__ import annotations

import argparse
import math
import random

import lockgate


def make_data(rng: random.Random, n: int) -> list[tuple[list[float], int]]:
    """Customers as (tenure, monthly charges, support calls) with a churn label."""
    rows = []
    for _ in range(n):
        x = [rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0, 1)]
        logit = -2.0 * x[0] + 1.5 * x[1] + 2.5 * x[2] - 0.8
        rows.append((x, 1 if rng.random() < 1 / (1 + math.exp(-logit)) else 0))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    data = make_data(rng, 400)
    train, test = data[:300], data[300:]
    weights, bias = [0.0, 0.0, 0.0], 0.0
    with lockgate.start_run():  # the run `lockgate run` created (LOCKGATE_RUN_ID)
        for epoch in range(args.epochs):
            loss = 0.0
            for x, y in train:
                p = 1 / (1 + math.exp(-(sum(w * v for w, v in zip(weights, x)) + bias)))
                loss -= y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12)
                weights = [w - args.lr * (p - y) * v for w, v in zip(weights, x)]
                bias -= args.lr * (p - y)
            lockgate.log_metric("train_loss", loss / len(train), step=epoch)
        correct = sum(
            (sum(w * v for w, v in zip(weights, x)) + bias > 0) == bool(y) for x, y in test
        )
        accuracy = correct / len(test)
        lockgate.log_metric("accuracy", accuracy)
        print(f"accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
