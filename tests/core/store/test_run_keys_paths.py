"""The column chooser's keys come back the same whichever way they are read: from a small
experiment's own runs, or by the walk of distinct keys a large experiment uses (forced here by
lowering the size limit), on SQLite and PostgreSQL; keys only other experiments or deleted runs
use are left out, ``contains`` filters case-insensitively, and ``max_results`` truncates."""

from __future__ import annotations

import pytest
from lockgate.entities import Metric, Param, RunTag, ViewType
from lockgate.store.sql import views
from lockgate.store.sql.store import SqlStore


def _fill(store: SqlStore) -> tuple[str, str]:
    mine = store.create_experiment("keys-mine")
    other = store.create_experiment("keys-other")
    for i in range(3):
        run = store.create_run(experiment_id=mine, run_name=f"r{i}").info.run_id
        store.log_batch(run, params=[Param(key=f"p{i}", value="1"), Param(key="Shared_LR", value="0.1")],
                        metrics=[Metric(key=f"m{i}", value=1.0, timestamp=1, step=0)],
                        tags=[RunTag(key="team", value="a")])
    gone = store.create_run(experiment_id=mine, run_name="gone").info.run_id
    store.log_batch(gone, params=[Param(key="only_deleted", value="x")],
                    metrics=[Metric(key="m_deleted", value=1.0, timestamp=1, step=0)])
    store.delete_run(gone)
    elsewhere = store.create_run(experiment_id=other, run_name="elsewhere").info.run_id
    store.log_batch(elsewhere, params=[Param(key="a_other_only", value="1"), Param(key="p0", value="2")],
                    metrics=[Metric(key="z_other", value=2.0, timestamp=1, step=0)],
                    tags=[RunTag(key="other_tag", value="b")])
    return mine, other


def _keys(store: SqlStore, exps: list[str], **kwargs: object) -> tuple[list[str], list[str], list[str], bool]:
    got = views.list_run_keys(store, exps, **kwargs)  # type: ignore[arg-type]
    return got.params, got.metrics, [t for t in got.tags if not t.startswith("mlflow.")], got.truncated


@pytest.mark.parametrize("walk", [False, True], ids=["from-runs", "key-walk"])
def test_both_paths_give_the_experiments_keys(store_uri: str, walk: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqlStore(store_uri)
    mine, other = _fill(store)
    if walk:
        monkeypatch.setattr(views, "SMALL_EXPERIMENT_RUNS", 0)
    assert _keys(store, [mine]) == (["Shared_LR", "p0", "p1", "p2"], ["m0", "m1", "m2"], ["team"], False)
    assert _keys(store, [mine], view_type=ViewType.ALL) == (
        ["Shared_LR", "only_deleted", "p0", "p1", "p2"], ["m0", "m1", "m2", "m_deleted"], ["team"], False)
    assert _keys(store, [other]) == (["a_other_only", "p0"], ["z_other"], ["other_tag"], False)
    assert _keys(store, [mine, other]) == (
        ["Shared_LR", "a_other_only", "p0", "p1", "p2"], ["m0", "m1", "m2", "z_other"], ["other_tag", "team"], False)
    assert _keys(store, [mine], contains="shared") == (["Shared_LR"], [], [], False)
    assert _keys(store, [mine], contains="%") == ([], [], [], False)
    params, metrics, _tags, truncated = _keys(store, [mine], max_results=2)
    assert (params, metrics, truncated) == (["Shared_LR", "p0"], ["m0", "m1"], True)
