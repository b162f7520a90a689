"""The MLflow surface's row-to-JSON reads give what the entity path gives, on SQLite and
PostgreSQL: ``mlflow_run_page`` (``runs/search``) against ``run_json`` of ``search_runs``, and
``mlflow_history_json`` (``metrics/get-history``) against ``mlflow_history_points``."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from lockgate.entities import Dataset, DatasetInput, Metric, Param, RunStatus, RunTag, ViewType
from lockgate.errors import InvalidArgument, NotFound
from lockgate.server.wire import points_json, run_json
from lockgate.store.sql.metric_history import mlflow_history_json, mlflow_history_points
from lockgate.store.sql.run_pages import mlflow_run_page
from lockgate.store.sql.store import SqlStore

ODD_TEXT = "é\"\\'%_,{} ünï\n"


def _by_key(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for run in runs:
        for kind in ("metrics", "params", "tags"):
            run["data"][kind].sort(key=lambda item: item["key"])
    return runs


def _entity_page(store: SqlStore, exp: str, **kwargs: Any) -> tuple[list[dict[str, Any]], str | None]:
    page = store.search_runs([exp], **kwargs)
    return _by_key([run_json(r) for r in page]), page.token


def _fill(store: SqlStore) -> tuple[str, list[str]]:
    exp = store.create_experiment("run-page-json")
    full = store.create_run(experiment_id=exp, run_name="full", start_time=5, user_id="ann").info.run_id
    store.log_batch(full, metrics=[
        Metric(key="up", value=math.inf, timestamp=5, step=2), Metric(key="down", value=-math.inf, timestamp=6, step=0),
        Metric(key="nan", value=math.nan, timestamp=7, step=1), Metric(key="third", value=0.1 + 0.2, timestamp=8, step=3),
        Metric(key="whole", value=2.0, timestamp=9, step=0),
    ], params=[Param(key="lr", value="0.01"), Param(key="odd", value=ODD_TEXT)],
        tags=[RunTag(key="team", value=ODD_TEXT)])
    store.log_inputs(full, [
        DatasetInput(dataset=Dataset(name="train", digest="d1", source_type="local", source="/data",
                                     schema='{"cols": ["a"]}'), tags={"mlflow.data.context": "training"}),
    ])
    store.update_run_info(full, status=RunStatus.FINISHED, end_time=50)
    ids = [full]
    for i in range(4):
        run_id = store.create_run(experiment_id=exp, run_name=f"r{i}", start_time=4 - i).info.run_id
        store.log_batch(run_id, metrics=[Metric(key="acc", value=i / 4, timestamp=1, step=0)],
                        params=[Param(key="lr", value=str(i))])
        ids.append(run_id)
    gone = store.create_run(experiment_id=exp, run_name="gone", start_time=0).info.run_id
    store.delete_run(gone)
    return exp, ids + [gone]


def test_run_page_json_matches_entities(store_uri: str) -> None:
    store = SqlStore(store_uri)
    exp, ids = _fill(store)

    runs, token = mlflow_run_page(store, [exp], max_results=100)
    assert (_by_key(runs), token) == _entity_page(store, exp, max_results=100)
    assert [r["info"]["run_id"] for r in runs] == ids[:5]
    full = runs[0]
    assert full["info"]["end_time"] == 50 and full["info"]["status"] == "FINISHED" and full["info"]["user_id"] == "ann"
    assert "end_time" not in runs[1]["info"]
    values = {m["key"]: m["value"] for m in full["data"]["metrics"]}
    assert values == {"up": sys.float_info.max, "down": -sys.float_info.max, "nan": "NaN",
                      "third": 0.30000000000000004, "whole": 2.0}
    assert isinstance(values["whole"], float)
    assert {p["key"]: p["value"] for p in full["data"]["params"]} == {"lr": "0.01", "odd": ODD_TEXT}
    assert full["inputs"]["dataset_inputs"] == [{
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": "train", "digest": "d1", "source_type": "local", "source": "/data",
                    "schema": '{"cols": ["a"]}'},
    }]
    assert runs[1]["inputs"] == {"dataset_inputs": []}
    assert all("outputs" not in run for run in runs)


def test_run_page_json_carries_logged_model_outputs(store_uri: str) -> None:
    from lockgate.store.logged_models import RunOutput
    from lockgate.store.sql.logged_models import SqlLoggedModels

    store = SqlStore(store_uri)
    exp, ids = _fill(store)
    logged = SqlLoggedModels(store_uri)
    first = logged.create(exp, name="first", source_run_id=ids[1]).model_id
    second = logged.create(exp, name="second", source_run_id=ids[1]).model_id
    logged.log_outputs(ids[1], [RunOutput(model_id=first, step=0), RunOutput(model_id=second, step=3)])

    runs, _ = mlflow_run_page(store, [exp])
    produced = {r["info"]["run_id"]: r.get("outputs") for r in runs}
    assert sorted(produced[ids[1]]["model_outputs"], key=lambda o: o["step"]) == [
        {"model_id": first, "step": 0}, {"model_id": second, "step": 3}]
    assert [run_id for run_id, outputs in produced.items() if outputs] == [ids[1]]


def test_run_page_json_pages_filters_and_views(store_uri: str) -> None:
    store = SqlStore(store_uri)
    exp, ids = _fill(store)

    first, token = mlflow_run_page(store, [exp], max_results=2)
    assert token is not None and [r["info"]["run_id"] for r in first] == ids[:2]
    rest, last = mlflow_run_page(store, [exp], max_results=10, page_token=token)
    assert last is None and [r["info"]["run_id"] for r in rest] == ids[2:5]
    ordered = {"filter_string": "metrics.acc > 0.2 and params.lr != '3'", "order_by": ["metrics.acc DESC"]}
    runs, _ = mlflow_run_page(store, [exp], max_results=10, **ordered)
    assert _by_key(runs) == _entity_page(store, exp, max_results=10, **ordered)[0]
    assert [r["info"]["run_id"] for r in runs] == [ids[3], ids[2]]
    deleted, _ = mlflow_run_page(store, [exp], view_type=ViewType.DELETED_ONLY)
    assert [(r["info"]["run_id"], r["info"]["lifecycle_stage"]) for r in deleted] == [(ids[5], "deleted")]
    with pytest.raises(InvalidArgument):
        mlflow_run_page(store, [exp], page_token="not-a-token")


def test_history_json_matches_points(store_uri: str) -> None:
    store = SqlStore(store_uri)
    exp = store.create_experiment("history-json")
    run_id = store.create_run(experiment_id=exp, start_time=1).info.run_id
    empty = store.create_run(experiment_id=exp, start_time=1).info.run_id
    values = [0.5, math.nan, math.inf, -math.inf, 3.0, 0.5]
    store.log_batch(run_id, metrics=[Metric(key="m", value=v, timestamp=10 + i % 5, step=i % 5)
                                     for i, v in enumerate(values)])

    for max_results in (None, 2, 5, 6):
        pages, token = [], None
        while True:
            got, token = mlflow_history_json(store, run_id, "m", max_results=max_results, page_token=token)
            points, expected_token = mlflow_history_points(store, run_id, "m", max_results=max_results,
                                                           page_token=pages[-1][1] if pages else None)
            assert (got, token) == (points_json("m", points), expected_token)
            pages.append((got, token))
            if token is None:
                break
    whole, _ = mlflow_history_json(store, run_id, "m")
    assert [p["value"] for p in whole] == [0.5, "NaN", sys.float_info.max, -sys.float_info.max, 3.0]
    assert mlflow_history_json(store, empty, "m") == ([], None)
    with pytest.raises(NotFound):
        mlflow_history_json(store, "0" * 32, "m")
    with pytest.raises(InvalidArgument):
        mlflow_history_json(store, "bad id!", "m")
