"""The differential scenario: one ordered list of calls made with the stock ``mlflow`` client.

Each ``@step`` runs against a real ``mlflow server`` and against ``lockgate server``; what it
returns is compared after normalization (see compat_runner). Calls the stock client would
refuse before sending (bad keys, wrong types, oversized batches) go over raw REST, so the
servers' own validation is what is compared. Steps marked ``postgres=True`` also run against
the PostgreSQL pair. Steps only read ids that earlier steps named with ``ctx.name``.
"""

from __future__ import annotations

from typing import Any

from compat_runner import Ctx, step

API = "/api/2.0/mlflow"
T0 = 1_600_000_000_000  # fixed timestamps the scenario sets itself are compared literally


def _run(ctx: Ctx, key: str) -> str:
    return ctx.ids[key]


# ------------------------------------------------------------------ experiments
@step("experiment.create", postgres=True)
def experiment_create(ctx: Ctx) -> Any:
    exp_id = ctx.client.create_experiment("compat-exp", tags={"team": "risk", "tier": "1"})
    ctx.ids["exp"] = exp_id
    return ctx.client.get_experiment(exp_id)


@step("experiment.create_duplicate", postgres=True)
def experiment_create_duplicate(ctx: Ctx) -> Any:
    return ctx.client.create_experiment("compat-exp")


@step("experiment.create_empty_name")
def experiment_create_empty_name(ctx: Ctx) -> Any:
    return ctx.rest("POST", f"{API}/experiments/create", json={"name": ""})


@step("experiment.create_missing_name")
def experiment_create_missing_name(ctx: Ctx) -> Any:
    return ctx.rest("POST", f"{API}/experiments/create", json={})


@step("experiment.get_by_name")
def experiment_get_by_name(ctx: Ctx) -> Any:
    return ctx.client.get_experiment_by_name("compat-exp")


@step("experiment.get_by_name_missing")
def experiment_get_by_name_missing(ctx: Ctx) -> Any:
    return {"client": ctx.client.get_experiment_by_name("no-such-exp"),
            "rest": ctx.rest("GET", f"{API}/experiments/get-by-name", params={"experiment_name": "no-such-exp"})}


@step("experiment.get_missing", postgres=True)
def experiment_get_missing(ctx: Ctx) -> Any:
    return ctx.client.get_experiment("987654")


@step("experiment.get_bad_id")
def experiment_get_bad_id(ctx: Ctx) -> Any:
    return ctx.rest("GET", f"{API}/experiments/get", params={"experiment_id": "abc"})


@step("experiment.tags_rename")
def experiment_tags_rename(ctx: Ctx) -> Any:
    ctx.client.set_experiment_tag(ctx.ids["exp"], "tier", "2")
    ctx.client.delete_experiment_tag(ctx.ids["exp"], "team")
    ctx.client.rename_experiment(ctx.ids["exp"], "compat-exp-renamed")
    return ctx.client.get_experiment(ctx.ids["exp"])


@step("experiment.delete_restore", postgres=True)
def experiment_delete_restore(ctx: Ctx) -> Any:
    from mlflow.entities import ViewType

    tmp = ctx.client.create_experiment("compat-doomed")
    ctx.client.delete_experiment(tmp)
    deleted = ctx.client.get_experiment(tmp)
    active = [e.name for e in ctx.client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    everything = [e.name for e in ctx.client.search_experiments(view_type=ViewType.ALL)]
    try:
        ctx.client.create_experiment("compat-doomed")
        reuse: Any = "created"
    except Exception as exc:  # noqa: BLE001
        reuse = getattr(exc, "error_code", "error")
    ctx.client.restore_experiment(tmp)
    return {"deleted": deleted, "in_active": "compat-doomed" in active,
            "in_all": "compat-doomed" in everything, "reuse_name": reuse,
            "restored": ctx.client.get_experiment(tmp).lifecycle_stage}


@step("experiment.delete_default")
def experiment_delete_default(ctx: Ctx) -> Any:
    return ctx.rest("POST", f"{API}/experiments/delete", json={"experiment_id": "0"})


@step("experiment.search_filter_order_pages", postgres=True)
def experiment_search_pages(ctx: Ctx) -> Any:
    for name in ("pg-a", "pg-b", "pg-c", "pg-d", "pg-e"):
        ctx.client.create_experiment(name, tags={"letter": name[-1]})
    pages = []
    token = None
    while True:
        page = ctx.client.search_experiments(filter_string="name LIKE 'pg-%'", order_by=["name DESC"],
                                             max_results=2, page_token=token)
        pages.append([e.name for e in page])
        token = page.token
        if not token:
            break
    tagged = ctx.client.search_experiments(filter_string="tags.letter = 'c'")
    return {"pages": pages, "tagged": [e.name for e in tagged]}


@step("experiment.search_bad_filter")
def experiment_search_bad_filter(ctx: Ctx) -> Any:
    return ctx.client.search_experiments(filter_string="name ~ 'x'")


# ------------------------------------------------------------------ runs
@step("run.create", postgres=True)
def run_create(ctx: Ctx) -> Any:
    run = ctx.client.create_run(ctx.ids["exp"], start_time=T0, tags={"team": "risk"}, run_name="first")
    ctx.name("run1", run.info.run_id)
    return run


@step("run.create_missing_experiment")
def run_create_missing_experiment(ctx: Ctx) -> Any:
    return ctx.client.create_run("987654")


@step("run.get_missing", postgres=True)
def run_get_missing(ctx: Ctx) -> Any:
    return ctx.client.get_run("0" * 32)


@step("run.log_params_metrics_tags", postgres=True)
def run_log(ctx: Ctx) -> Any:
    run_id = _run(ctx, "run1")
    ctx.client.log_param(run_id, "lr", "0.1")
    ctx.client.log_param(run_id, "depth", 6)
    for i, value in enumerate([1.0, 0.5, 0.25, float("nan"), float("inf"), float("-inf"), 0.125]):
        ctx.client.log_metric(run_id, "loss", value, timestamp=T0 + i, step=i)
    ctx.client.log_metric(run_id, "acc", 0.9, timestamp=T0, step=3)
    ctx.client.log_metric(run_id, "acc", 0.8, timestamp=T0 + 5, step=1)
    ctx.client.log_metric(run_id, "neg_step", 1.5, timestamp=T0, step=-4)
    ctx.client.set_tag(run_id, "stage", "dev")
    ctx.client.set_tag(run_id, "temp", "x")
    ctx.client.delete_tag(run_id, "temp")
    return ctx.client.get_run(run_id)


@step("run.metric_history", postgres=True)
def run_metric_history(ctx: Ctx) -> Any:
    return {key: ctx.client.get_metric_history(_run(ctx, "run1"), key) for key in ("loss", "acc", "missing")}


@step("run.metric_history_bulk_interval", postgres=True)
def run_metric_history_bulk_interval(ctx: Ctx) -> Any:
    run_id = _run(ctx, "run1")
    query = {"run_ids": [run_id], "metric_key": "loss", "max_results": 3}
    return {
        "sampled": ctx.rest("GET", f"{API}/metrics/get-history-bulk-interval", params=query),
        "window": ctx.rest("GET", f"{API}/metrics/get-history-bulk-interval",
                           params={**query, "start_step": 1, "end_step": 3, "max_results": 10}),
        "no_runs": ctx.rest("GET", f"{API}/metrics/get-history-bulk-interval", params={"metric_key": "loss"}),
    }


@step("run.param_change_refused", postgres=True)
def run_param_change(ctx: Ctx) -> Any:
    return ctx.client.log_param(_run(ctx, "run1"), "lr", "0.2")


@step("run.param_same_value_ok")
def run_param_same(ctx: Ctx) -> Any:
    ctx.client.log_param(_run(ctx, "run1"), "lr", "0.1")
    return ctx.client.get_run(_run(ctx, "run1")).data.params


@step("run.log_batch", postgres=True)
def run_log_batch(ctx: Ctx) -> Any:
    from mlflow.entities import Metric, Param, RunTag

    run_id = _run(ctx, "run1")
    ctx.client.log_batch(run_id, metrics=[Metric("b", float(i), T0 + i, i) for i in range(5)],
                         params=[Param("batch_p", "v")], tags=[RunTag("batch_t", "w")])
    run = ctx.client.get_run(run_id)
    return {"metrics": run.data.metrics, "params": run.data.params,
            "history": ctx.client.get_metric_history(run_id, "b")}


@step("run.update_terminate", postgres=True)
def run_update(ctx: Ctx) -> Any:
    run_id = _run(ctx, "run1")
    ctx.client.update_run(run_id, status="FINISHED", name="first-renamed")
    ctx.client.set_terminated(run_id, status="FINISHED", end_time=T0 + 10_000)
    return ctx.client.get_run(run_id).info


@step("run.update_bad_status")
def run_update_bad_status(ctx: Ctx) -> Any:
    return ctx.rest("POST", f"{API}/runs/update", json={"run_id": _run(ctx, "run1"), "status": "DONE"})


@step("run.nested_fluent")
def run_nested(ctx: Ctx) -> Any:
    import mlflow

    mlflow.set_experiment(experiment_id=ctx.ids["exp"])
    with mlflow.start_run(run_name="parent") as parent:
        ctx.name("parent", parent.info.run_id)
        mlflow.log_metric("p", 1.0, step=0)
        with mlflow.start_run(run_name="child", nested=True) as child:
            ctx.name("child", child.info.run_id)
            mlflow.log_metrics({"c": 2.0, "d": 3.0}, step=2)
            mlflow.log_params({"k": "v"})
    got = ctx.client.get_run(ctx.ids["child"])
    user_tags = {k: v for k, v in got.data.tags.items() if not k.startswith(("mlflow.source", "mlflow.user"))}
    return {"child_tags": user_tags, "status": got.info.status,
            "parent_status": ctx.client.get_run(ctx.ids["parent"]).info.status}


@step("run.delete_restore", postgres=True)
def run_delete_restore(ctx: Ctx) -> Any:
    from mlflow.entities import ViewType

    run = ctx.client.create_run(ctx.ids["exp"], start_time=T0, run_name="doomed")
    ctx.name("doomed", run.info.run_id)
    ctx.client.delete_run(run.info.run_id)
    deleted = ctx.client.get_run(run.info.run_id).info.lifecycle_stage
    active = {r.info.run_name for r in ctx.client.search_runs([ctx.ids["exp"]], run_view_type=ViewType.ACTIVE_ONLY)}
    deleted_only = {r.info.run_name for r in ctx.client.search_runs([ctx.ids["exp"]],
                                                                   run_view_type=ViewType.DELETED_ONLY)}
    ctx.client.restore_run(run.info.run_id)
    return {"deleted": deleted, "active_has_it": "doomed" in active, "deleted_only": sorted(deleted_only),
            "restored": ctx.client.get_run(run.info.run_id).info.lifecycle_stage}


# ------------------------------------------------------------------ search runs
@step("search.setup", postgres=True)
def search_setup(ctx: Ctx) -> Any:
    exp = ctx.client.create_experiment("compat-search")
    ctx.ids["search_exp"] = exp
    for i in range(7):
        run = ctx.client.create_run(exp, start_time=T0 + i * 1000, run_name=f"r{i}",
                                    tags={"parity": "even" if i % 2 == 0 else "odd", "i": str(i)})
        ctx.name(f"s{i}", run.info.run_id)
        ctx.client.log_param(run.info.run_id, "lr", str([0.1, 0.01][i % 2]))
        ctx.client.log_metric(run.info.run_id, "loss", [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, float("nan")][i],
                              timestamp=T0, step=0)
        if i < 5:
            ctx.client.log_metric(run.info.run_id, "acc", i / 10, timestamp=T0, step=0)
        if i in (1, 4):
            ctx.client.set_terminated(run.info.run_id, status="FAILED", end_time=T0 + 99)
    return "ok"


def _names(page: Any) -> Any:
    return {"names": [r.info.run_name for r in page], "has_next_page": bool(page.token)}


SEARCHES: dict[str, tuple[str, list[str]]] = {
    "metric_lt": ("metrics.loss < 0.5", ["metrics.loss ASC"]),
    "param_eq": ("params.lr = '0.1'", ["attributes.start_time DESC"]),
    "tag_eq_and_metric": ("tags.parity = 'odd' and metrics.loss > 0.15", []),
    "status": ("attributes.status = 'FAILED'", ["attributes.run_name ASC"]),
    "run_name_like": ("attributes.run_name LIKE 'r%'", ["metrics.acc DESC"]),
    "ilike_tag": ("tags.parity ILIKE 'EV%'", ["tags.i ASC"]),
    "in_list": ("tags.i IN ('1', '3', '5')", ["params.lr ASC", "attributes.run_name DESC"]),
    "nan_order": ("", ["metrics.loss DESC"]),
    "missing_metric_order": ("", ["metrics.acc ASC"]),
    "not_equal": ("params.lr != '0.1'", ["start_time ASC"]),
    "tag_not_equal": ("tags.i != '0'", ["attributes.start_time ASC"]),
}

for _key, (_filter, _order) in SEARCHES.items():
    def _search(ctx: Ctx, _f: str = _filter, _o: list[str] = _order) -> Any:
        return _names(ctx.client.search_runs([ctx.ids["search_exp"]], filter_string=_f, order_by=_o))

    step(f"search.{_key}", postgres=_key in ("metric_lt", "nan_order", "ilike_tag"))(_search)


@step("search.pages", postgres=True)
def search_pages(ctx: Ctx) -> Any:
    pages = []
    token = None
    while True:
        page = ctx.client.search_runs([ctx.ids["search_exp"]], order_by=["metrics.loss ASC"], max_results=3,
                                      page_token=token)
        pages.append(_names(page))
        token = page.token
        if not token:
            break
    exact = ctx.client.search_runs([ctx.ids["search_exp"]], max_results=7)
    return {"pages": pages, "exact_page_has_next": bool(exact.token)}


@step("search.bad_filter")
def search_bad_filter(ctx: Ctx) -> Any:
    return ctx.client.search_runs([ctx.ids["search_exp"]], filter_string="metrics.loss <<< 3")


@step("search.bad_order")
def search_bad_order(ctx: Ctx) -> Any:
    return ctx.client.search_runs([ctx.ids["search_exp"]], order_by=["metrics.loss SIDEWAYS"])


@step("search.bad_page_token")
def search_bad_page_token(ctx: Ctx) -> Any:
    return ctx.rest("POST", f"{API}/runs/search", json={"experiment_ids": [ctx.ids["search_exp"]],
                                                       "page_token": "not-a-token"})


@step("search.max_results_too_big")
def search_max_results(ctx: Ctx) -> Any:
    return ctx.rest("POST", f"{API}/runs/search", json={"experiment_ids": [ctx.ids["search_exp"]],
                                                       "max_results": 50001})


# ------------------------------------------------------------------ validation (raw REST)
def _log_metric(ctx: Ctx, **fields: Any) -> Any:
    body = {"run_id": ctx.ids["val"], "key": "m", "value": 1.0, "timestamp": T0, "step": 0, **fields}
    return ctx.rest("POST", f"{API}/runs/log-metric", json={k: v for k, v in body.items() if v is not _DROP})


_DROP = object()


@step("validation.setup", postgres=True)
def validation_setup(ctx: Ctx) -> Any:
    run = ctx.client.create_run(ctx.ids["exp"], start_time=T0, run_name="validation")
    ctx.name("val", run.info.run_id)
    return "ok"


BAD_KEYS = {
    "star": "a*b", "double_slash": "a//b", "trailing_slash": "a/", "dot_segment": "a/./b",
    "leading_dot": "./a", "leading_slash": "/a", "dotdot": "..", "dotdot_inside": "a/../b", "empty": "",
    "dot": ".", "len_250": "k" * 250, "len_251": "k" * 251, "unicode": "größe", "colon_space": "a: b",
    "tab": "a\tb", "backslash": "a\\b",
}

for _name, _bad in BAD_KEYS.items():
    def _keys(ctx: Ctx, _k: str = _bad) -> Any:
        return {
            "metric": _log_metric(ctx, key=_k),
            "param": ctx.rest("POST", f"{API}/runs/log-parameter",
                              json={"run_id": ctx.ids["val"], "key": _k, "value": "v"}),
            "tag": ctx.rest("POST", f"{API}/runs/set-tag", json={"run_id": ctx.ids["val"], "key": _k, "value": "v"}),
        }

    step(f"validation.key.{_name}", postgres=_name in ("star", "len_251"))(_keys)

METRIC_FIELDS: dict[str, dict[str, Any]] = {
    "value_string": {"value": "abc"},
    "value_numeric_string": {"value": "1.5"},
    "value_null": {"value": None},
    "value_missing": {"value": _DROP},
    "value_bool": {"value": True},
    "value_nan_literal": {"value": float("nan")},
    "value_inf_literal": {"value": float("inf")},
    "value_nan_string": {"value": "NaN"},
    "value_infinity_string": {"value": "Infinity"},
    "value_huge": {"value": 1e308},
    "timestamp_negative": {"timestamp": -1},
    "timestamp_zero": {"timestamp": 0},
    "timestamp_float": {"timestamp": 1.5},
    "timestamp_string": {"timestamp": "abc"},
    "timestamp_numeric_string": {"timestamp": "1600000000000"},
    "timestamp_missing": {"timestamp": _DROP},
    "timestamp_huge": {"timestamp": 2**63},
    "step_negative": {"step": -7},
    "step_float": {"step": 2.5},
    "step_string": {"step": "x"},
    "step_missing": {"step": _DROP},
    "step_huge": {"step": 2**63},
    "key_missing": {"key": _DROP},
    "run_missing": {"run_id": "f" * 32},
}

for _name, _fields in METRIC_FIELDS.items():
    def _metric(ctx: Ctx, _f: dict[str, Any] = _fields) -> Any:
        return _log_metric(ctx, **_f)

    step(f"validation.metric.{_name}", postgres=_name in ("value_string", "timestamp_negative", "step_huge"))(_metric)


@step("validation.metric_readback")
def validation_metric_readback(ctx: Ctx) -> Any:
    run = ctx.client.get_run(ctx.ids["val"])
    return {"metrics": sorted(run.data.metrics), "history": ctx.client.get_metric_history(ctx.ids["val"], "m")}


@step("validation.param_value_long", postgres=True)
def validation_param_long(ctx: Ctx) -> Any:
    run_id = ctx.ids["val"]
    ok = ctx.rest("POST", f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "p6000", "value": "v" * 6000})
    long = ctx.rest("POST", f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "p6001", "value": "v" * 6001})
    params = ctx.client.get_run(run_id).data.params
    return {"ok": ok, "long": long, "stored": {k: len(v) for k, v in params.items() if k.startswith("p6")}}


@step("validation.tag_value_long")
def validation_tag_long(ctx: Ctx) -> Any:
    run_id = ctx.ids["val"]
    long = ctx.rest("POST", f"{API}/runs/set-tag", json={"run_id": run_id, "key": "t8001", "value": "v" * 8001})
    tags = ctx.client.get_run(run_id).data.tags
    return {"long": long, "stored": len(tags.get("t8001", ""))}


@step("validation.param_value_types")
def validation_param_types(ctx: Ctx) -> Any:
    run_id = ctx.ids["val"]
    return {kind: ctx.rest("POST", f"{API}/runs/log-parameter", json={"run_id": run_id, "key": f"pt_{kind}",
                                                                       "value": value})
            for kind, value in {"int": 5, "null": None, "list": [1], "empty": ""}.items()}


def _batch(ctx: Ctx, **fields: Any) -> Any:
    return ctx.rest("POST", f"{API}/runs/log-batch", json={"run_id": ctx.ids["val"], **fields})


def _metric_rows(n: int, key: str = "bm") -> list[dict[str, Any]]:
    return [{"key": key, "value": float(i), "timestamp": T0, "step": i} for i in range(n)]


@step("validation.batch_limits", postgres=True)
def validation_batch_limits(ctx: Ctx) -> Any:
    params = [{"key": f"bp{i}", "value": "v"} for i in range(101)]
    tags = [{"key": f"bt{i}", "value": "v"} for i in range(101)]
    return {
        "metrics_1000": _batch(ctx, metrics=_metric_rows(1000)),
        "metrics_1001": _batch(ctx, metrics=_metric_rows(1001, "bm2")),
        "params_101": _batch(ctx, params=params),
        "tags_101": _batch(ctx, tags=tags),
        "total_1001": _batch(ctx, metrics=_metric_rows(950, "bm3"), params=params[:51]),
        "params_100": _batch(ctx, params=params[:100]),
    }


@step("validation.batch_bad_entries")
def validation_batch_bad(ctx: Ctx) -> Any:
    return {
        "duplicate_params": _batch(ctx, params=[{"key": "dup", "value": "1"}, {"key": "dup", "value": "2"}]),
        "duplicate_same_value": _batch(ctx, params=[{"key": "dup2", "value": "1"}, {"key": "dup2", "value": "1"}]),
        "bad_metric_key": _batch(ctx, metrics=[{"key": "a*b", "value": 1.0, "timestamp": T0, "step": 0}]),
        "bad_metric_value": _batch(ctx, metrics=[{"key": "ok", "value": "x", "timestamp": T0, "step": 0}]),
        "negative_timestamp": _batch(ctx, metrics=[{"key": "ok", "value": 1.0, "timestamp": -5, "step": 0}]),
        "missing_timestamp": _batch(ctx, metrics=[{"key": "ok2", "value": 1.0, "step": 0}]),
        "param_changed": _batch(ctx, params=[{"key": "p6000", "value": "other"}]),
        "empty": _batch(ctx),
        "missing_run": ctx.rest("POST", f"{API}/runs/log-batch", json={"metrics": _metric_rows(1)}),
    }


@step("validation.batch_long_values", postgres=True)
def validation_batch_long_values(ctx: Ctx) -> Any:
    answer = _batch(ctx, params=[{"key": "bp_long", "value": "x" * 7000}], tags=[{"key": "bt_long", "value": "y" * 9000}])
    run = ctx.client.get_run(ctx.ids["val"])
    return {"answer": answer, "param": len(run.data.params["bp_long"]), "tag": len(run.data.tags["bt_long"])}


@step("validation.odd_fields_readback")
def validation_odd_fields_readback(ctx: Ctx) -> Any:
    run = ctx.client.create_run(ctx.ids["exp"], start_time=T0, run_name="odd-fields")
    run_id = ctx.name("odd", run.info.run_id)
    sent = {
        "bare_nan": {"value": float("nan")},
        "bare_inf": {"value": float("inf")},
        "bool": {"value": True, "step": 1},
        "int_float_ts": {"timestamp": 2.0, "step": 2},
        "numeric_strings": {"value": "2.5", "timestamp": "1600000000009", "step": "3"},
        "huge_ts_drops_step": {"step": 4, "timestamp": 2**63},
    }
    answers = {name: ctx.rest("POST", f"{API}/runs/log-metric",
                              json={"run_id": run_id, "key": "o", "value": 1.0, "timestamp": T0, "step": 0, **f})
               for name, f in sent.items()}
    batch = ctx.rest("POST", f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [
        {"key": "o2", "value": 1.0, "timestamp": T0, "step": 1}, {"key": "o2", "value": [1], "timestamp": T0, "step": 2},
        {"key": "o2", "value": 3.0, "timestamp": T0, "step": 3}], "params": [{"key": "lost", "value": "p"}]})
    updates = {repr(status): ctx.rest("POST", f"{API}/runs/update", json={"run_id": run_id, "status": status,
                                                                           "end_time": T0 + 7})
               for status in ("KILLED", "done", "9", 9, 4)}
    got = ctx.client.get_run(run_id)
    return {"answers": answers, "batch": batch, "updates": updates, "history": ctx.client.get_metric_history(run_id, "o"),
            "history2": ctx.client.get_metric_history(run_id, "o2"), "params": got.data.params,
            "status": got.info.status, "end_time": got.info.end_time}


@step("validation.experiment_tag_long")
def validation_experiment_tag_long(ctx: Ctx) -> Any:
    exp = ctx.ids["exp"]
    ok = ctx.rest("POST", f"{API}/experiments/set-experiment-tag", json={"experiment_id": exp, "key": "long",
                                                                        "value": "z" * 20000})
    stored = len(ctx.client.get_experiment(exp).tags.get("long", ""))
    too_long = ctx.rest("POST", f"{API}/experiments/set-experiment-tag", json={"experiment_id": exp, "key": "long2",
                                                                              "value": "z" * 20001})
    ctx.client.delete_experiment_tag(exp, "long")
    return {"ok": ok, "stored": stored, "too_long": too_long}


# ------------------------------------------------------------------ datasets
@step("dataset.log_input", postgres=True)
def dataset_log_input(ctx: Ctx) -> Any:
    import mlflow
    import pandas as pd

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, name="churn-train", targets="y")
    mlflow.set_experiment(experiment_id=ctx.ids["exp"])
    with mlflow.start_run(run_name="with-data") as run:
        ctx.name("data_run", run.info.run_id)
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
    got = ctx.client.get_run(run.info.run_id)
    return got.inputs


@step("dataset.search_by_dataset")
def dataset_search(ctx: Ctx) -> Any:
    page = ctx.client.search_runs([ctx.ids["exp"]], filter_string="datasets.name = 'churn-train'")
    return [r.info.run_name for r in page]


# ------------------------------------------------------------------ artifacts (through the proxy)
@step("artifacts.log_list_download", postgres=True)
def artifacts_roundtrip(ctx: Ctx) -> Any:
    run_id = ctx.ids["run1"]
    src = ctx.work / "art"
    (src / "sub").mkdir(parents=True, exist_ok=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    ctx.client.log_artifacts(run_id, str(src), artifact_path="bundle")
    ctx.client.log_text(run_id, "hello", "notes/readme.md")
    ctx.client.log_dict(run_id, {"k": [1, 2]}, "conf.json")
    listing = {p or "<root>": [(f.path, f.is_dir, f.file_size) for f in ctx.client.list_artifacts(run_id, p)]
               for p in (None, "bundle", "bundle/sub", "bundle/a.txt", "nope")}
    out = ctx.client.download_artifacts(run_id, "bundle", str(ctx.work / "down"))
    import mlflow

    return {
        "listing": listing,
        "downloaded": sorted(str(p.relative_to(out)) for p in __import__("pathlib").Path(out).rglob("*")),
        "text": mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.md"),
        "dict": mlflow.artifacts.load_dict(f"runs:/{run_id}/conf.json"),
    }


@step("artifacts.download_missing")
def artifacts_missing(ctx: Ctx) -> Any:
    return ctx.client.download_artifacts(ctx.ids["run1"], "does/not/exist.txt", str(ctx.work / "missing"))


@step("artifacts.proxy_raw")
def artifacts_proxy_raw(ctx: Ctx) -> Any:
    base = "/api/2.0/mlflow-artifacts/artifacts"
    return {
        "put": ctx.rest("PUT", f"{base}/raw/x.txt", data=b"xyz")["status"],  # the client ignores the body
        "list": ctx.rest("GET", base, params={"path": "raw"}),
        "traversal": ctx.rest("GET", base, params={"path": "../etc"}),
    }


@step("artifacts.multipart_create")
def artifacts_multipart(ctx: Ctx) -> Any:
    return ctx.rest("POST", "/api/2.0/mlflow-artifacts/mpu/create/raw/big.bin",
                    json={"path": "big.bin", "num_parts": 2})


@step("artifacts.multipart_complete_abort")
def artifacts_multipart_rest(ctx: Ctx) -> Any:
    return {
        "complete": ctx.rest("POST", "/api/2.0/mlflow-artifacts/mpu/complete/raw/big.bin",
                             json={"path": "big.bin", "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]}),
        "abort": ctx.rest("POST", "/api/2.0/mlflow-artifacts/mpu/abort/raw/big.bin",
                          json={"path": "big.bin", "upload_id": "u"}),
    }


@step("server.info")
def server_info(ctx: Ctx) -> Any:
    answer = ctx.rest("GET", "/api/3.0/mlflow/server-info")
    body = answer.get("body", {})
    return {"status": answer["status"], "multipart_uploads_enabled": body.get("multipart_uploads_enabled"),
            "multipart_downloads_enabled": body.get("multipart_downloads_enabled")}


@step("server.tracing_endpoint")
def server_tracing(ctx: Ctx) -> Any:
    return {"search": ctx.rest("POST", "/api/3.0/mlflow/traces/search", json={"max_results": 1}),
            "get": ctx.rest("GET", "/api/3.0/mlflow/traces/tr-0123/info")}


@step("server.unknown_endpoint")
def server_unknown(ctx: Ctx) -> Any:
    return ctx.rest("POST", f"{API}/no-such-thing", json={})


# ------------------------------------------------------------------ registry
@step("registry.create_model", postgres=True)
def registry_create(ctx: Ctx) -> Any:
    return ctx.client.create_registered_model("compat-model", tags={"owner": "ana"}, description="first")


@step("registry.create_duplicate", postgres=True)
def registry_duplicate(ctx: Ctx) -> Any:
    return ctx.client.create_registered_model("compat-model")


@step("registry.create_bad_name")
def registry_bad_name(ctx: Ctx) -> Any:
    return {"empty": ctx.rest("POST", f"{API}/registered-models/create", json={"name": ""}),
            "missing": ctx.rest("POST", f"{API}/registered-models/create", json={})}


@step("registry.versions", postgres=True)
def registry_versions(ctx: Ctx) -> Any:
    run_id = ctx.ids["run1"]
    source = f"runs:/{run_id}/model"
    v1 = ctx.client.create_model_version("compat-model", source, run_id=run_id, tags={"k": "v"}, description="d1")
    v2 = ctx.client.create_model_version("compat-model", source, run_id=run_id)
    v3 = ctx.client.create_model_version("compat-model", source, run_id=run_id)
    return [v1, v2, v3]


@step("registry.version_missing_model")
def registry_version_missing_model(ctx: Ctx) -> Any:
    return ctx.client.create_model_version("no-such-model", f"runs:/{ctx.ids['run1']}/model")


@step("registry.get_version", postgres=True)
def registry_get_version(ctx: Ctx) -> Any:
    return {"v2": ctx.client.get_model_version("compat-model", "2"),
            "missing": _try(lambda: ctx.client.get_model_version("compat-model", "99")),
            "bad": ctx.rest("GET", f"{API}/model-versions/get", params={"name": "compat-model", "version": "x"})}


def _try(fn: Any) -> Any:
    from compat_runner import to_data

    try:
        return to_data(fn())
    except Exception as exc:  # noqa: BLE001
        body = getattr(exc, "json", None) or {}
        return {"error": body.get("error_code", getattr(exc, "error_code", None)), "message": bool(body.get("message"))}


@step("registry.update_and_tags", postgres=True)
def registry_update_tags(ctx: Ctx) -> Any:
    c = ctx.client
    c.update_registered_model("compat-model", description="second")
    c.set_registered_model_tag("compat-model", "team", "risk")
    c.delete_registered_model_tag("compat-model", "owner")
    c.update_model_version("compat-model", "1", description="d1b")
    c.set_model_version_tag("compat-model", "1", "validated", "yes")
    c.delete_model_version_tag("compat-model", "1", "k")
    return {"model": c.get_registered_model("compat-model"), "v1": c.get_model_version("compat-model", "1"),
            "missing_tag_delete": _try(lambda: c.delete_registered_model_tag("compat-model", "nope")),
            "missing_version_tag_delete": _try(lambda: c.delete_model_version_tag("compat-model", "1", "nope")),
            "tag_of_missing_version": _try(lambda: c.delete_model_version_tag("compat-model", "99", "nope"))}


@step("registry.tag_limits")
def registry_tag_limits(ctx: Ctx) -> Any:
    # SQLite only: MLflow's PostgreSQL column for registered-model tags is 5000 wide, so its
    # server fails there on a value its own validation allows (up to 100,000 characters).
    c = ctx.client
    answers = {
        "model_long": _try(lambda: c.set_registered_model_tag("compat-model", "long", "x" * 6000)),
        "model_too_long": _try(lambda: c.set_registered_model_tag("compat-model", "long2", "x" * 100_001)),
        "version_long": _try(lambda: c.set_model_version_tag("compat-model", "1", "long", "v" * 100_000)),
        "version_too_long": _try(lambda: c.set_model_version_tag("compat-model", "1", "long2", "v" * 100_001)),
        "path_key": _try(lambda: c.set_registered_model_tag("compat-model", "a/../b", "x")),
        "bad_character": _try(lambda: c.set_model_version_tag("compat-model", "1", "semi;colon", "x")),
    }
    model_tags = c.get_registered_model("compat-model").tags
    version_tags = c.get_model_version("compat-model", "1").tags
    answers["stored"] = {
        "model": {k: len(v) for k, v in model_tags.items() if k.startswith("long")},
        "version": {k: len(v) for k, v in version_tags.items() if k.startswith("long")},
    }
    # Leave the model as the later steps expect it.
    c.delete_registered_model_tag("compat-model", "long")
    c.delete_model_version_tag("compat-model", "1", "long")
    return answers


@step("registry.aliases", postgres=True)
def registry_aliases(ctx: Ctx) -> Any:
    c = ctx.client
    c.set_registered_model_alias("compat-model", "champion", "1")
    c.set_registered_model_alias("compat-model", "challenger", "2")
    c.set_registered_model_alias("compat-model", "champion", "3")
    return {
        "by_alias": c.get_model_version_by_alias("compat-model", "champion"),
        "model_aliases": c.get_registered_model("compat-model").aliases,
        "v3_aliases": c.get_model_version("compat-model", "3").aliases,
        "missing_alias": _try(lambda: c.get_model_version_by_alias("compat-model", "nope")),
        "bad_alias_name": _try(lambda: c.set_registered_model_alias("compat-model", "v1", "1")),
        "alias_missing_version": _try(lambda: c.set_registered_model_alias("compat-model", "x", "42")),
        "deleted": _try(lambda: c.delete_registered_model_alias("compat-model", "challenger")),
        "after_delete": c.get_registered_model("compat-model").aliases,
    }


@step("registry.stages", postgres=True)
def registry_stages(ctx: Ctx) -> Any:
    c = ctx.client
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = c.transition_model_version_stage("compat-model", "1", "Production")
        second = c.transition_model_version_stage("compat-model", "2", "Production", archive_existing_versions=True)
        staging = c.transition_model_version_stage("compat-model", "3", "staging")
        latest = c.get_latest_versions("compat-model")
        latest_prod = c.get_latest_versions("compat-model", stages=["Production"])
        bad = _try(lambda: c.transition_model_version_stage("compat-model", "3", "Live"))
    return {"first": first, "second": second, "staging": staging, "latest": latest, "latest_prod": latest_prod,
            "v1_after": c.get_model_version("compat-model", "1").current_stage, "bad": bad}


@step("registry.search", postgres=True)
def registry_search(ctx: Ctx) -> Any:
    c = ctx.client
    for name in ("compat-zeta", "compat-alpha", "other-model"):
        c.create_registered_model(name, tags={"kind": name.split("-")[0]})
    pages = []
    token = None
    while True:
        page = c.search_registered_models(filter_string="name LIKE 'compat%'", order_by=["name ASC"],
                                          max_results=2, page_token=token)
        pages.append([m.name for m in page])
        token = page.token
        if not token:
            break
    versions = c.search_model_versions("name = 'compat-model'", order_by=["version_number DESC"])
    return {
        "pages": pages,
        "by_tag": [m.name for m in c.search_registered_models("tags.kind = 'other'")],
        "versions": [(v.version, v.current_stage) for v in versions],
        "versions_by_run": len(c.search_model_versions(f"run_id = '{ctx.ids['run1']}'")),
        "bad_filter": _try(lambda: c.search_registered_models("name = ")),
    }


@step("registry.rename", postgres=True)
def registry_rename(ctx: Ctx) -> Any:
    c = ctx.client
    c.rename_registered_model("compat-alpha", "compat-beta")
    return {
        "new": c.get_registered_model("compat-beta").name,
        "old": _try(lambda: c.get_registered_model("compat-alpha")),
        "clash": _try(lambda: c.rename_registered_model("compat-beta", "compat-zeta")),
        "renamed_model_versions": _try(lambda: c.rename_registered_model("compat-model", "compat-model-2")),
        "version_after_rename": c.get_model_version("compat-model-2", "1").name,
        "alias_after_rename": c.get_model_version_by_alias("compat-model-2", "champion").version,
    }


@step("registry.delete", postgres=True)
def registry_delete(ctx: Ctx) -> Any:
    c = ctx.client
    c.delete_model_version("compat-model-2", "3")
    return {
        "version_gone": _try(lambda: c.get_model_version("compat-model-2", "3")),
        "alias_gone": c.get_registered_model("compat-model-2").aliases,
        "next_version": c.create_model_version("compat-model-2", f"runs:/{ctx.ids['run1']}/model",
                                               run_id=ctx.ids["run1"]).version,
        "delete_model": _try(lambda: c.delete_registered_model("compat-beta")),
        "model_gone": _try(lambda: c.get_registered_model("compat-beta")),
        "delete_missing": _try(lambda: c.delete_registered_model("compat-beta")),
    }


# ------------------------------------------------------------------ model logging and loading
@step("models.log_register_load", postgres=True)
def models_log_load(ctx: Ctx) -> Any:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LinearRegression

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LinearRegression().fit(X, np.array([1.0, 3.0, 5.0, 7.0]))
    mlflow.set_experiment(experiment_id=ctx.ids["exp"])
    with mlflow.start_run(run_name="model-run") as run:
        ctx.name("model_run", run.info.run_id)
        # Fixed requirements and no input example: inferring either spawns a process per call.
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="compat-sk",
                                        pip_requirements=["scikit-learn"])
        mlflow.log_metric("r2", 1.0)
    ctx.name("model_id", info.model_id)
    logged = ctx.client.get_logged_model(info.model_id)
    by_version = mlflow.pyfunc.load_model("models:/compat-sk/1")
    by_id = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    version = ctx.client.get_model_version("compat-sk", "1")
    return {
        "flavors": sorted(info.flavors),
        "logged": {"name": logged.name, "status": str(logged.status), "source_run_id": logged.source_run_id,
                   "experiment_id": logged.experiment_id, "metrics": [(m.key, m.value) for m in logged.metrics or []]},
        "predict_version": [round(float(v), 6) for v in by_version.predict(np.array([[4.0]]))],
        "predict_id": [round(float(v), 6) for v in by_id.predict(np.array([[5.0]]))],
        "version": {"run_id": version.run_id, "model_id": version.model_id, "status": version.status},
    }


@step("models.search_logged_models")
def models_search_logged(ctx: Ctx) -> Any:
    page = ctx.client.search_logged_models(experiment_ids=[ctx.ids["exp"]])
    return [(m.name, m.source_run_id) for m in page]


@step("models.get_logged_model_missing")
def models_missing(ctx: Ctx) -> Any:
    return ctx.client.get_logged_model("m-" + "0" * 32)


# Last: it creates an experiment, which would shift the ids of experiments created after it.
@step("experiment.create_long_name")
def experiment_create_long_name(ctx: Ctx) -> Any:
    ok = ctx.rest("POST", f"{API}/experiments/create", json={"name": "n" * 500})
    too_long = ctx.rest("POST", f"{API}/experiments/create", json={"name": "n" * 501})
    return {"500": ok.get("status"), "501": too_long}
