"""Two (or more) processes promoting different versions of one model at the same moment.

Semantics under test: a move is judged against the holder the gate saw; if another promotion
moves the target in between, the late one raises Conflict and changes nothing. So a race ends
with exactly one holder and either one winner plus one Conflict, or moves that happened one
after the other, each recorded with the previous holder as its ``from_version``.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

import pytest
from lockgate.registry import CustomRule, EventType, GatePolicy
from lockgate.registry.rule_catalog import register_gate_rule, unregister_gate_rule
from registry_race import rendezvous
from registry_support import RegistryClient

TARGETS = [pytest.param({"alias": "champion"}, id="alias"), pytest.param({"stage": "Production"}, id="stage")]


def _run_workers(uri: str, versions: list[int], target: dict[str, str], *, rendezvous: bool,
                 repeat: int = 1) -> list[tuple[int, str, str]]:
    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    barrier = ctx.Barrier(len(versions)) if rendezvous else None
    start = ctx.Barrier(len(versions))
    from registry_race import promote_worker

    procs = [ctx.Process(target=promote_worker, args=(uri, "churn", v, target, barrier, start, results, repeat))
             for v in versions]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in range(len(versions) * repeat)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return outcomes


def _holders(client: RegistryClient, target: dict[str, str]) -> list[int]:
    if "alias" in target:
        return [client.get_model_version_by_alias("churn", target["alias"]).version]
    return [v.version for v in client.search_model_versions(f"name = 'churn' AND current_stage = '{target['stage']}'")]


def _moves(client: RegistryClient, target: dict[str, str]) -> list[Any]:
    kind = EventType.ALIAS_SET if "alias" in target else EventType.STAGE_CHANGED
    return [e for e in client.get_promotion_history("churn", **target) if e.type is kind]


@pytest.mark.parametrize("target", TARGETS)
def test_two_processes_racing_one_wins_one_conflicts(store_uri: str, target: dict[str, str]) -> None:
    client = RegistryClient(store_uri, user="setup")
    client.create_registered_model("churn")
    for i in range(3):
        client.create_model_version("churn", source=f"s3://b/{i}")
    client.promote("churn", version=1, **target)
    register_gate_rule("rendezvous", rendezvous)  # each worker installs it too
    try:
        # The rule holds both promoters until each has read "version 1 holds the target".
        client.set_gate_policy("churn", policy=GatePolicy(rules=[CustomRule(rule="rendezvous")]),
                               **target)
        outcomes = _run_workers(store_uri, [2, 3], target, rendezvous=True)
    finally:
        unregister_gate_rule("rendezvous")  # installed rules are process-wide: leave none behind
    kinds = sorted(kind for _, kind, _ in outcomes)
    assert kinds == ["conflict", "ok"], outcomes
    winner = next(v for v, kind, _ in outcomes if kind == "ok")
    loser_message = next(msg for _, kind, msg in outcomes if kind == "conflict")
    assert "changed from version 1 to version" in loser_message and "nothing was changed" in loser_message
    assert _holders(client, target) == [winner]
    moves = _moves(client, target)
    assert [(e.from_version, e.to_version) for e in moves] == [(None, 1), (1, winner)]
    assert moves[-1].actor == f"worker-{winner}"


@pytest.mark.parametrize("target", TARGETS)
def test_free_race_keeps_one_holder_and_a_consistent_chain(store_uri: str, target: dict[str, str]) -> None:
    client = RegistryClient(store_uri, user="setup")
    client.create_registered_model("churn")
    versions = [1, 2, 3, 4]
    for v in versions:
        client.create_model_version("churn", source=f"s3://b/{v}")
    outcomes = _run_workers(store_uri, versions, target, rendezvous=False, repeat=5)
    assert {kind for _, kind, _ in outcomes} <= {"ok", "noop", "conflict"}, outcomes
    successes = [o for o in outcomes if o[1] == "ok"]
    moves = _moves(client, target)
    assert len(moves) == len(successes) >= 1
    # Every move starts from the holder the previous one left: no lost or phantom move.
    previous = None
    for event in moves:
        assert event.from_version == previous
        previous = event.to_version
    assert _holders(client, target) == [previous]


@pytest.mark.parametrize("key", ["dag-1/register/0", None], ids=["same-key", "no-key"])
def test_concurrent_registrations_one_per_key_else_one_each(store_uri: str, key: str | None) -> None:
    client = RegistryClient(store_uri, user="setup")
    client.create_registered_model("churn")
    exp = client.create_experiment("race")
    run_id = client.create_run(exp).info.run_id
    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    start = ctx.Barrier(3)
    from registry_race import register_worker

    procs = [ctx.Process(target=register_worker, args=(store_uri, run_id, start, results, key))
             for _ in range(3)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    if key is not None:  # retries of one step: one version, every retry gets it
        assert outcomes == [("ok", 1)] * 3
        assert [v.version for v in client.search_model_versions("name = 'churn'")] == [1]
        assert len(client.get_events(model_name="churn", types=["VERSION_CREATED"])) == 1
    else:  # as in MLflow: three registrations, three versions, no number lost or repeated
        assert sorted(outcomes) == [("ok", 1), ("ok", 2), ("ok", 3)]
        assert [v.version for v in client.search_model_versions("name = 'churn'")] == [3, 2, 1]
        assert len(client.get_events(model_name="churn", types=["VERSION_CREATED"])) == 3
