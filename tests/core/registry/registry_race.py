"""Worker side of the concurrency tests: runs in a fresh (spawned) process per promoter."""

from __future__ import annotations

from typing import Any

from lockgate.registry import GateContext

# Set in each worker before it promotes; the rendezvous rule waits here so both workers
# have read the current holder before either commits.
BARRIER: Any = None


def rendezvous(ctx: GateContext) -> tuple[bool, str]:
    if BARRIER is not None:
        BARRIER.wait(timeout=60)
    return True, "met the other promoter"


def promote_worker(uri: str, name: str, version: int, target: dict[str, str], barrier: Any, start: Any,
                   results: Any, repeat: int = 1) -> None:
    """Promote ``version`` (``repeat`` times) and report each outcome as (version, kind, message)."""
    global BARRIER
    BARRIER = barrier
    from lockgate.registry.rule_catalog import register_gate_rule

    register_gate_rule("rendezvous", rendezvous)
    from lockgate.errors import Conflict, LockgateError
    from lockgate.registry.sql import SqlRegistry

    registry = SqlRegistry(uri)
    registry.get_registered_model(name)  # connect and migrate before the race starts
    if start is not None:
        start.wait(timeout=60)
    for _ in range(repeat):
        try:
            decision = registry.promote(name, version=version, actor=f"worker-{version}", **target)
            results.put((version, "ok" if decision.changed else "noop", ""))
        except Conflict as exc:
            results.put((version, "conflict", exc.message))
        except LockgateError as exc:
            results.put((version, type(exc).__name__, exc.message))
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            results.put((version, "crash", repr(exc)))


def register_worker(uri: str, run_id: str, start: Any, results: Any) -> None:
    """Register the same run and source as the other workers, at the same moment."""
    from lockgate.registry.sql import SqlRegistry

    registry = SqlRegistry(uri)
    registry.get_registered_model("churn")
    start.wait(timeout=60)
    try:
        mv = registry.create_model_version("churn", source=f"runs:/{run_id}/model", actor="retry")
        results.put(("ok", mv.version))
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(("crash", repr(exc)))
