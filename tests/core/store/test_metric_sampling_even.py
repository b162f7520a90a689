"""MLflow's bulk-interval sampling (evenly spaced rows, first and last kept) next to Lockgate's
min/max-per-bucket sampling: each strategy answers for its own endpoint."""

from __future__ import annotations

import math

import pytest
from lockgate import LockgateClient
from lockgate.entities import Metric
from lockgate.errors import InvalidArgument
from lockgate.store.sql.sampling import (
    even_positions,
    evenly_sampled_histories,
    sample_metric_histories,
)

T0 = 1_600_000_000_000


def _ntile_firsts(total: int, groups: int) -> list[int]:
    """The reference: deal ``total`` rows into ``groups`` as SQL's NTILE does, keep each group's
    first row, then make the last pick the last row."""
    if total <= groups:
        return list(range(total))
    sizes = [total // groups + (1 if g < total % groups else 0) for g in range(groups)]
    firsts, at = [], 0
    for size in sizes:
        firsts.append(at)
        at += size
    firsts[-1] = total - 1
    return firsts


@pytest.mark.parametrize(("total", "max_results"), [(0, 5), (1, 1), (3, 5), (5, 5), (7, 3), (10, 4), (2501, 2500),
                                                     (1000, 1), (1000, 2), (1000, 7), (999, 10)])
def test_even_positions_are_ntile_first_rows_plus_last(total: int, max_results: int) -> None:
    picks = even_positions(total, max_results)
    assert picks == _ntile_firsts(total, max_results)
    assert len(picks) == min(total, max_results)
    if total:
        assert picks[-1] == total - 1 and (max_results == 1 or picks[0] == 0)


def test_evenly_sampled_histories_on_the_store(store_uri: str) -> None:
    client = LockgateClient(store_uri)
    run_id = client.create_run(client.create_experiment("even")).info.run_id
    values = [math.nan if step == 3 else float(step % 10) for step in range(200)]
    client.log_batch(run_id, metrics=[Metric(key="loss", value=v, timestamp=T0 + s, step=s)
                                      for s, v in enumerate(values)])
    # A point logged twice is one point (MLflow keeps one row per step, time and value).
    client.log_batch(run_id, metrics=[Metric(key="loss", value=5.0, timestamp=T0 + 5, step=5)])

    ((rid, points),) = evenly_sampled_histories(client.store, [run_id], "loss", max_results=7)
    assert rid == run_id
    assert [p.step for p in points] == [_ntile_firsts(200, 7)[i] for i in range(7)] == [0, 29, 58, 87, 116, 144, 199]
    assert [p.timestamp for p in points] == [T0 + p.step for p in points]

    ((_, window),) = evenly_sampled_histories(client.store, [run_id], "loss", max_results=10, start_step=1,
                                              end_step=4)
    assert [p.step for p in window] == [1, 2, 3, 4] and math.isnan(window[2].value)

    ((_, last),) = evenly_sampled_histories(client.store, [run_id], "loss", max_results=1)
    assert [(p.step, p.value) for p in last] == [(199, 9.0)]

    nothing = evenly_sampled_histories(client.store, [run_id, "f" * 32], "missing", max_results=5)
    assert nothing == [(run_id, []), ("f" * 32, [])]
    with pytest.raises(InvalidArgument, match="both must be specified"):
        evenly_sampled_histories(client.store, [run_id], "loss", max_results=5, start_step=1)
    with pytest.raises(InvalidArgument, match="end_step must be greater"):
        evenly_sampled_histories(client.store, [run_id], "loss", max_results=5, start_step=9, end_step=1)

    # Lockgate's own strategy keeps a spike the even one may skip.
    client.log_batch(run_id, metrics=[Metric(key="spiky", value=100.0 if s == 101 else 1.0, timestamp=T0, step=s)
                                      for s in range(200)])
    (series,) = sample_metric_histories(client.store, [run_id], ["spiky"], max_points=20)
    assert series.sampled and 100.0 in [p.value for p in series.points]
    ((_, even),) = evenly_sampled_histories(client.store, [run_id], "spiky", max_results=20)
    assert 100.0 not in [p.value for p in even]
