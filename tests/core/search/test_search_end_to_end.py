"""Search through the client and store on SQLite and PostgreSQL: runs, experiments, paging, errors."""

from __future__ import annotations

import math

import pytest
from lockgate import LockgateClient
from lockgate.errors import InvalidArgument
from lockgate.search import decode_page_token, encode_page_token


@pytest.fixture
def client(store_uri: str) -> LockgateClient:
    return LockgateClient(store_uri)


def _names(runs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.info.run_name for r in runs]


@pytest.fixture
def churn(client: LockgateClient) -> str:
    """Five runs in experiment 'churn' with distinct losses, depths, tags, statuses and datasets."""
    exp = client.create_experiment("churn")
    rows = [
        ("a", 0.01, "6", "risk", "FINISHED", "train"),
        ("b", 0.04, "6", "Risk", "FAILED", "eval"),
        ("c", 0.20, "6", "growth", "FINISHED", None),
        ("d", math.nan, "8", "risk", "FINISHED", "train"),
        ("e", None, "6", None, "RUNNING", None),
    ]
    for i, (name, loss, depth, team, status, context) in enumerate(rows):
        run_id = client.create_run(exp, run_name=name).info.run_id
        if loss is not None:
            client.log_metric(run_id, "loss", 9.0, step=0)
            client.log_metric(run_id, "loss", loss, step=1)  # the latest step is what search sees
        client.log_param(run_id, "depth", depth)
        if team:
            client.set_tag(run_id, "team", team)
        if context:
            client.log_input(run_id, name="iris", digest=f"d{i}", context=context)
        if status != "RUNNING":
            client.set_terminated(run_id, status)
    return exp


def test_the_issue_example(client: LockgateClient, churn: str) -> None:
    runs = client.search_runs(
        ["churn"], filter_string="metrics.loss < 0.05 and params.depth = '6'", order_by=["metrics.loss ASC"]
    )
    assert _names(runs) == ["a", "b"]
    assert runs[0].data.metrics["loss"] == 0.01


FILTER_CASES: list[tuple[str, list[str] | None]] = [
    ("metrics.loss != 0.2", ["a", "b", "d"]),  # NaN is != everything; a missing metric matches nothing
    ("metrics.loss >= 0", ["a", "b", "c"]),
    ("metrics.loss IS NULL", ["e"]),
    ("tags.team = 'risk'", ["a", "d"]),
    ("tags.team LIKE 'r%'", ["a", "d"]),
    ("tags.team ILIKE 'r%'", ["a", "b", "d"]),
    ("tags.team != 'risk'", ["b", "c"]),
    ("tags.team IS NULL", ["e"]),
    ("params.depth IN ('8', '9')", ["d"]),
    ("status NOT IN ('FINISHED')", ["b", "e"]),
    ("attributes.status = 'FAILED' or 1", None),
    ("datasets.context = 'train'", ["a", "d"]),
    ("datasets.name = 'iris' and datasets.digest IN ('d1', 'd2')", ["b"]),
    ("run_name ILIKE 'C'", ["c"]),
    ("attributes.end_time IS NULL", ["e"]),
]


def test_filters(client: LockgateClient, churn: str) -> None:
    for filter_string, expected in FILTER_CASES:
        if expected is None:
            with pytest.raises(InvalidArgument, match="position"):
                client.search_runs([churn], filter_string)
            continue
        assert sorted(_names(client.search_runs([churn], filter_string))) == expected, filter_string


def test_order_by_puts_nan_then_missing_last(client: LockgateClient, churn: str) -> None:
    assert _names(client.search_runs([churn], order_by=["metrics.loss ASC"])) == ["a", "b", "c", "d", "e"]
    assert _names(client.search_runs([churn], order_by=["metrics.loss DESC"])) == ["c", "b", "a", "d", "e"]
    assert _names(client.search_runs([churn], order_by=["tags.team DESC", "run_name"])) == ["a", "d", "c", "b", "e"]
    default = client.search_runs([churn])
    starts = [r.info.start_time for r in default]
    assert starts == sorted(starts, reverse=True)


def test_paging_walks_every_run_once(client: LockgateClient, churn: str) -> None:
    seen: list[str] = []
    token = None
    while True:
        page = client.search_runs([churn], order_by=["metrics.loss DESC"], max_results=2, page_token=token)
        seen += _names(page)
        token = page.token
        if token is None:
            break
    assert seen == ["c", "b", "a", "d", "e"]


def test_page_tokens() -> None:
    assert decode_page_token(encode_page_token(250)) == 250
    assert decode_page_token(None) == 0 and decode_page_token("") == 0
    for bad in ["%%%", "bm90IGpzb24=", encode_page_token(-1), "eyJvZmZzZXQiOiAiMTAifQ=="]:
        with pytest.raises(InvalidArgument, match="page token"):
            decode_page_token(bad)


def test_bad_order_by_is_invalid_argument(client: LockgateClient, churn: str) -> None:
    with pytest.raises(InvalidArgument, match="at position 13 near 'sideways'"):
        client.search_runs([churn], order_by=["metrics.loss sideways"])


def test_experiment_search(client: LockgateClient) -> None:
    ids = {
        name: client.create_experiment(name, tags=tags)
        for name, tags in [("churn-a", {"team": "risk"}), ("Churn-b", {"team": "Risk"}), ("fraud", {})]
    }

    def names(**kwargs: object) -> list[str]:
        return [e.name for e in client.search_experiments(**kwargs) if e.name != "Default"]  # type: ignore[arg-type]

    assert sorted(names(filter_string="name LIKE 'churn%'")) == ["churn-a"]
    assert sorted(names(filter_string="name ILIKE 'churn%'")) == ["Churn-b", "churn-a"]
    assert names(filter_string="tags.team = 'risk'") == ["churn-a"]
    assert sorted(names(filter_string="tags.team ILIKE 'RISK'")) == ["Churn-b", "churn-a"]
    assert names(filter_string="tags.team IS NULL") == ["fraud"]
    assert names(filter_string="attributes.name != 'fraud' and tags.team != 'risk'") == ["Churn-b"]
    created = client.get_experiment(ids["churn-a"]).creation_time
    assert "churn-a" in names(filter_string=f"creation_time >= {created}")
    assert names(order_by=["name ASC"]) == ["Churn-b", "churn-a", "fraud"]  # code-point order: upper case first
    assert names(order_by=["name DESC"]) == ["fraud", "churn-a", "Churn-b"]
    assert names(order_by=["experiment_id DESC"]) == ["fraud", "Churn-b", "churn-a"]
    newest_first = sorted(
        ids, key=lambda n: (-(client.get_experiment(ids[n]).creation_time or 0), int(ids[n]))
    )
    assert names() == newest_first  # default: creation_time DESC, then experiment_id ASC
    with pytest.raises(InvalidArgument, match="unknown prefix 'metrics.'"):
        client.search_experiments(filter_string="metrics.x > 1")
