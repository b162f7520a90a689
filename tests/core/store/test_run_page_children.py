"""A page of runs comes back with exactly the children each run holds, on SQLite (one query per
kind) and PostgreSQL (one query aggregating every kind to JSON): infinities, NaN, long and
unusual text, dataset inputs, the projection of ``columns``, and runs with no children at all."""

from __future__ import annotations

import math

from lockgate.entities import Dataset, DatasetInput, Metric, Param, RunTag
from lockgate.store.projection import RunColumns
from lockgate.store.sql.store import SqlStore

LONG_PARAM = ("é\"\\'%_" * 1000)[:6000]
LONG_TAG = ("{\"json\": [1, 2]} ünï " * 400)[:8000]


def _fill(store: SqlStore) -> tuple[str, str, str, str]:
    exp = store.create_experiment("children")
    full = store.create_run(experiment_id=exp, run_name="full", start_time=3).info.run_id
    store.log_batch(
        full,
        metrics=[Metric(key="up", value=math.inf, timestamp=5, step=2), Metric(key="down", value=-math.inf,
                 timestamp=6, step=0), Metric(key="nan", value=math.nan, timestamp=7, step=1),
                 Metric(key="tiny", value=5e-324, timestamp=8, step=4), Metric(key="third", value=0.1 + 0.2,
                 timestamp=2**40, step=2**40)],
        params=[Param(key="long", value=LONG_PARAM), Param(key="lr", value="0.01")],
        tags=[RunTag(key="note", value=LONG_TAG), RunTag(key="team", value="ranking")],
    )
    store.log_inputs(full, [
        DatasetInput(dataset=Dataset(name="train", digest="d1", source_type="local", source="/data/train",
                                     schema='{"cols": ["a"]}', profile=None), tags={"mlflow.data.context": "training"}),
        DatasetInput(dataset=Dataset(name="eval", digest="d2"), tags={}),
    ])
    other = store.create_run(experiment_id=exp, run_name="other", start_time=2).info.run_id
    store.log_batch(other, metrics=[Metric(key="up", value=1.5, timestamp=1, step=0)],
                    params=[Param(key="lr", value="0.1")])
    empty = store.create_run(experiment_id=exp, run_name="empty", start_time=1).info.run_id
    return exp, full, other, empty


def test_page_children_read_back_exactly(store_uri: str) -> None:
    store = SqlStore(store_uri)
    exp, full, other, empty = _fill(store)

    page = store.search_runs([exp], max_results=10)
    assert [r.info.run_id for r in page] == [full, other, empty]
    got = page[0].data
    assert got.metrics["up"] == math.inf and got.metrics["down"] == -math.inf and math.isnan(got.metrics["nan"])
    assert got.metrics["tiny"] == 5e-324 and got.metrics["third"] == 0.30000000000000004
    assert got.metric_points == {"up": (2, 5), "down": (0, 6), "nan": (1, 7), "tiny": (4, 8),
                                 "third": (2**40, 2**40)}
    assert got.params == {"long": LONG_PARAM, "lr": "0.01"}
    assert got.tags["note"] == LONG_TAG and got.tags["team"] == "ranking"
    inputs = {i.dataset.name: i for i in page[0].inputs.dataset_inputs}
    assert inputs["train"].dataset.schema_ == '{"cols": ["a"]}' and inputs["train"].dataset.source == "/data/train"
    assert inputs["train"].tags == {"mlflow.data.context": "training"} and inputs["eval"].tags == {}
    assert inputs["eval"].dataset.profile is None
    assert page[1].data.metrics == {"up": 1.5} and page[1].data.params == {"lr": "0.1"}
    assert page[1].inputs.dataset_inputs == []
    assert (page[2].data.metrics, page[2].data.params, page[2].data.metric_points) == ({}, {}, {})
    assert page[2].inputs.dataset_inputs == []
    assert store.get_run(full).data == got  # get_run reads through the same loader

    projected = store.search_runs([exp], max_results=10,
                                  columns=RunColumns(params=["lr"], metrics=["up", "missing"], tags=()))
    assert [(r.data.params, r.data.metrics, r.data.tags) for r in projected] == [
        ({"lr": "0.01"}, {"up": math.inf}, {}), ({"lr": "0.1"}, {"up": 1.5}, {}), ({}, {}, {})]
    assert projected[0].data.metric_points == {"up": (2, 5)}
    assert len(projected[0].inputs.dataset_inputs) == 2  # inputs are not projected


def test_search_leaves_parallel_setting_of_the_connection(postgres_uri: str) -> None:
    store = SqlStore(postgres_uri)
    exp = store.create_experiment("setting")
    store.create_run(experiment_id=exp, run_name="r")
    with store.engine.connect() as conn:
        before = conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()
    assert before != "0"
    assert len(store.search_runs([exp], filter_string="attributes.run_name = 'r'")) == 1
    for _ in range(3):  # every pooled connection is back at the server's setting
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == before
