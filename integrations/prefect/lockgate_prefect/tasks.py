"""Prefect tasks for the model registry: register, promote through gates, load, score, wait.

Every task takes ``credentials`` (a ``LockgateCredentials`` block or its saved name) and
otherwise uses the environment's default store. They are safe to retry: registering the
same run and path again returns the same version, and promoting a version that already
holds the target changes nothing. Errors that a retry cannot fix (a refused gate, an
unknown model or version, a malformed argument) are never retried, even when the task is
given ``retries``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lockgate.errors import (
    AlreadyExists,
    GateFailed,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from lockgate.registry.verdicts import verdict_rows
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from lockgate_prefect import _compat
from lockgate_prefect.artifacts import lockgate_links, publish_verdicts, verdict_markdown
from lockgate_prefect.credentials import CredentialsLike, client_for
from lockgate_prefect.events import emit_gate_failed, emit_promoted

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.registry.entities import GateDecision, ModelVersion, RegistryEvent

__all__ = [
    "TASK_OPTIONS",
    "BatchPrediction",
    "batch_predict",
    "gate_failure_message",
    "load_model",
    "promote_model",
    "register_model_version",
    "wait_for_promotion",
]

_PERMANENT = (GateFailed, NotFound, InvalidArgument, PermissionDenied, Unauthenticated, AlreadyExists)


def _retry_unless_permanent(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry connection trouble and conflicts, not refusals."""
    data = getattr(state, "data", None)
    if not isinstance(data, BaseException):
        try:
            data = state.result(raise_on_failure=False)
        except Exception:  # noqa: BLE001 - any failure here has the same fallback
            return True
    return not isinstance(data, _PERMANENT)


#: What every Lockgate task is made with: no result caching, no retry of permanent errors.
TASK_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, "retry_condition_fn": _retry_unless_permanent}


def _target(alias: str | None, stage: str | None) -> str:
    from lockgate.registry.entities import GateTarget

    return str(GateTarget.of(alias=alias, stage=stage))


def _active_run_id() -> str | None:
    import lockgate

    active = lockgate.active_run()
    return active.info.run_id if active else None


def _check_model_logged(client: LockgateClient, run_id: str, artifact_path: str) -> None:
    list_artifacts = getattr(client, "list_artifacts", None)
    if list_artifacts is None:
        return
    try:
        files = list_artifacts(run_id, artifact_path)
    except NotFound:
        files = []
    if not any(Path(f.path).name == "MLmodel" for f in files):
        top = sorted(f.path for f in list_artifacts(run_id))
        raise NotFound(
            f"Run {run_id} has no logged model at {artifact_path!r} (no MLmodel file there; "
            f"its artifacts: {', '.join(top) if top else 'none'}). Log one with "
            f"lockgate.sklearn.log_model(model, name={artifact_path!r}) or pass the right artifact_path."
        )


@task(name="register_model_version", **TASK_OPTIONS)
def register_model_version(
    name: str,
    *,
    run_id: str | None = None,
    artifact_path: str = "model",
    source: str | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    credentials: CredentialsLike = None,
) -> ModelVersion:
    """A new version of registered model ``name`` (created if missing) from a run's logged model.

    ``run_id`` defaults to the active Lockgate run (the tracked flow's run); the model is
    the one logged under ``artifact_path``. Pass ``source`` to register any artifact URI.
    The version links back to this Prefect flow run.
    """
    client = client_for(credentials)
    run_id = run_id or _active_run_id()
    if source is None:
        if run_id is None:
            raise InvalidArgument(
                "register_model_version needs run_id= (or source=) when no Lockgate run is active."
            )
        path = artifact_path.strip("/")
        if not path:
            raise InvalidArgument("artifact_path must name the model's folder in the run, e.g. 'model'.")
        client.get_run(run_id)  # NotFound names the run
        _check_model_logged(client, run_id, path)
        source = f"runs:/{run_id}/{path}"
    flow_run_id, url = _compat.current_flow_run_link()
    all_tags = dict(tags or {})
    if flow_run_id:
        all_tags.setdefault("lockgate.prefect.flow_run_id", flow_run_id)
    # A retry of this task run gets back its version; a new flow run makes a new one.
    task_run_id = _compat.current_task_run_id()
    version = client.register_model(
        name, source=source, run_id=run_id, tags=all_tags, run_link=url, description=description,
        idempotency_key=f"prefect:{task_run_id}" if task_run_id else None,
    )
    _compat.run_logger().info("Registered %s version %s from %s", name, version.version, source)
    return version


def gate_failure_message(
    name: str, *, version: int | str, target: str, results: list[Any], holder_version: int | None
) -> str:
    """Why a gate refused a version: one line per rule, passed and failed alike."""
    rows = verdict_rows(results)
    failed = sum(1 for row in rows if row["verdict"] == "FAIL")
    head = f"Gate for {name!r} {target} refused version {version} ({failed} of {len(rows)} rules failed"
    head += f"; current holder v{holder_version})" if holder_version is not None else ")"
    lines = [head + ":"]
    lines += [f"  {row['verdict'].upper()} {row['rule']}: {row['message']}" for row in rows]
    return "\n".join(lines)


def _last_event(
    client: LockgateClient, name: str, *, alias: str | None, stage: str | None, version: int, rejected: bool
) -> RegistryEvent | None:
    """The newest move of ``version`` onto the target (or, ``rejected``, its newest refusal)."""
    kind = "GATE_REJECTED" if rejected else _move_type(alias)
    try:
        return client.get_latest_event(
            model_name=name, types=[kind],
            where=lambda event: _moves_to(event, alias=alias, stage=stage, version=version))
    except Exception:  # noqa: BLE001 - the event only enriches the Prefect event; never fail for it
        return None


def _event_by_id(client: LockgateClient, name: str, event_id: int | None) -> RegistryEvent | None:
    if event_id is None:
        return None
    try:
        page = client.get_events(after_id=int(event_id) - 1, model_name=name, limit=1)
    except Exception:  # noqa: BLE001 - the event only enriches the Prefect event; never fail for it
        return None
    return page[0] if page and page[0].id == event_id else None


@task(name="promote_model", **TASK_OPTIONS)
def promote_model(
    name: str,
    *,
    version: int | str,
    alias: str | None = None,
    stage: str | None = None,
    reason: str | None = None,
    override: bool = False,
    credentials: CredentialsLike = None,
) -> GateDecision:
    """Move ``version`` to ``alias`` (or ``stage``) if the registry's gate policy lets it.

    The verdicts are attached to the Prefect run as a markdown artifact and sent as a
    ``lockgate.model.promoted`` or ``lockgate.gate.failed`` event. A refused gate changes
    nothing and fails the task (GateFailed, not retried) with every rule's verdict in the
    message.
    """
    target = _target(alias, stage)
    client = client_for(credentials)
    mv = client.get_model_version(name, version)  # NotFound names the model or version
    links = lockgate_links(client.tracking_uri, name=name, version=mv.version, run_id=mv.run_id)
    try:
        decision = client.promote(
            name, version=mv.version, alias=alias, stage=stage, reason=reason, override=override
        )
    except GateFailed as exc:
        results = list(exc.results)
        holder = (exc.details.get("decision") or {}).get("previous_version")
        message = gate_failure_message(
            name, version=mv.version, target=target, results=results, holder_version=holder
        )
        publish_verdicts(
            verdict_markdown(name, version=mv.version, target=target, passed=False, results=results,
                             holder_version=holder, links=links),
            name=name, target=target, description=f"Gate verdicts: {name} v{mv.version} → {target}",
        )
        emit_gate_failed(
            name, version=mv.version, alias=alias, stage=stage, holder_version=holder,
            results=results, run_id=mv.run_id, message=message,
            registry_event=_last_event(client, name, alias=alias, stage=stage, version=mv.version, rejected=True),
        )
        raise GateFailed(message, results=results, details=exc.details) from None
    note = None if decision.changed else f"v{mv.version} already held {target}; nothing changed."
    if decision.overridden:
        note = f"Gate overridden by {client.user}: {reason}"
    publish_verdicts(
        verdict_markdown(name, version=mv.version, target=target, passed=True, results=decision.results,
                         holder_version=decision.previous_version, note=note, links=links),
        name=name, target=target, description=f"Gate verdicts: {name} v{mv.version} → {target}",
    )
    move = _event_by_id(client, name, decision.event_id) if decision.changed else _last_event(
        client, name, alias=alias, stage=stage, version=mv.version, rejected=False)
    event_id = decision.event_id if decision.changed else (move.id if move is not None else None)
    emit_promoted(
        name, version=mv.version, alias=alias, stage=stage, previous_version=decision.previous_version,
        results=decision.results, run_id=mv.run_id, registry_event_id=event_id,
        tracking_uri=client.tracking_uri, overridden=decision.overridden,
        registry_event=move,
    )
    _compat.run_logger().info(
        "%s v%s %s %s", name, mv.version, "now holds" if decision.changed else "already held", target
    )
    return decision


def _local_model(model_uri: str, client: LockgateClient) -> str:
    from lockgate.artifacts.uri import download_artifact_uri

    return download_artifact_uri(model_uri, client=client)


def _resolved_version(model_uri: str, client: LockgateClient) -> int | None:
    if not isinstance(model_uri, str) or not model_uri.strip():
        raise InvalidArgument(f"model_uri must be a models:/, runs:/ or artifact URI, got {model_uri!r}")
    if not model_uri.startswith("models:/"):
        return None
    return int(client.resolve_model_uri(model_uri).version)


@task(name="load_model", **TASK_OPTIONS)
def load_model(model_uri: str, *, credentials: CredentialsLike = None) -> Any:
    """The model at ``model_uri`` (``models:/churn@champion``, ``runs:/<id>/model`` ...) as a pyfunc model."""
    from lockgate.models.pyfunc import load_model as load_pyfunc

    client = client_for(credentials)
    version = _resolved_version(model_uri, client)
    model = load_pyfunc(_local_model(model_uri, client))
    if version is not None:
        _compat.run_logger().info("Loaded %s (version %s)", model_uri, version)
    return model


class BatchPrediction(BaseModel):
    """What ``batch_predict`` wrote: where, how many rows, and which model version."""

    model_uri: str
    model_version: int | None = None
    input_path: str
    output_path: str
    rows: int


@task(name="batch_predict", **TASK_OPTIONS)
def batch_predict(
    model_uri: str,
    *,
    input_path: str | Path,
    output_path: str | Path,
    prediction_column: str = "prediction",
    engine: str = "local",
    credentials: CredentialsLike = None,
) -> BatchPrediction:
    """Score a .csv/.parquet/.jsonl file with the model and write the rows plus predictions.

    The output has the input's columns and ``prediction_column`` (one column per output
    when the model returns several). The version a ``models:/`` URI resolved to is
    returned, and tagged on the active Lockgate run, so a score can be traced to its model.
    ``engine`` is ``local`` (this process), ``spark`` (the active SparkSession, or a local
    one) or ``dask`` (the Dask scheduler in force; both read .csv/.parquet files and need
    ``lockgate[spark]`` / ``lockgate[dask]``). The scoring is ``lockgate.serving.engines.score_file``.
    """
    from lockgate.serving.engines import score_file

    client = client_for(credentials)
    version = _resolved_version(model_uri, client)
    # Prefect shows its own progress; the local engine's bar would only clutter the task log.
    options: dict[str, Any] = {"progress": False} if engine == "local" else {}
    # score_file checks the files and engine before it fetches the model through ``client``.
    rows = score_file(model_uri, input_path, output_path, engine=engine,
                      output_column=prediction_column, client=client, **options).rows
    run_id = _active_run_id()
    if run_id is not None:
        import lockgate

        lockgate.set_tags({"lockgate.batch_predict.model_uri": model_uri,
                           **({"lockgate.batch_predict.model_version": str(version)} if version else {})})
    _compat.run_logger().info("Scored %d rows with %s (engine %s) into %s", rows, model_uri, engine, output_path)
    return BatchPrediction(
        model_uri=model_uri, model_version=version, input_path=str(input_path),
        output_path=str(output_path), rows=rows,
    )


def _is_registered(client: LockgateClient, name: str) -> bool:
    try:
        client.get_registered_model(name)
    except NotFound:
        return False
    return True


def _move_type(alias: str | None) -> str:
    return "ALIAS_SET" if alias is not None else "STAGE_CHANGED"


def _moves_to(event: RegistryEvent, *, alias: str | None, stage: str | None, version: int | str | None) -> bool:
    """Whether ``event`` is about ``alias`` (or ``stage``) and puts ``version`` there (any, when None)."""
    if alias is not None and event.alias != alias:
        return False
    if stage is not None and (event.stage or "").lower() != stage.lower():
        return False
    moved_to = event.to_version if event.to_version is not None else event.version
    return version is None or moved_to == int(version)


def _is_promotion(
    event: RegistryEvent, *, alias: str | None, stage: str | None, version: int | str | None
) -> bool:
    return event.type.value == _move_type(alias) and _moves_to(event, alias=alias, stage=stage, version=version)


@task(name="wait_for_promotion", **TASK_OPTIONS)
def wait_for_promotion(
    name: str,
    *,
    alias: str | None = None,
    stage: str | None = None,
    version: int | str | None = None,
    after_event_id: int | None = None,
    timeout_seconds: float = 600.0,
    poll_interval_seconds: float = 5.0,
    credentials: CredentialsLike = None,
) -> RegistryEvent:
    """The registry event that next moves ``alias`` (or ``stage``) of ``name``, optionally to ``version``.

    Polls the registry's event cursor from ``after_event_id`` (default: the newest event
    when the task starts, so only a promotion from now on counts). A model that is not
    registered yet is waited for too, so a watcher can start before the first training.
    Raises TimeoutError after ``timeout_seconds``.
    """
    target = _target(alias, stage)
    if timeout_seconds < 0 or poll_interval_seconds <= 0:
        raise InvalidArgument("timeout_seconds must be >= 0 and poll_interval_seconds > 0.")
    client = client_for(credentials)
    registered = _is_registered(client, name)
    if not registered:
        _compat.run_logger().info("%s is not registered yet; waiting for it to take %s", name, target)
    if after_event_id is not None:
        cursor = int(after_event_id)
    else:  # a model registered later has only events to come: read them all
        cursor = client.get_latest_event_id(model_name=name) if registered else 0
    deadline = time.monotonic() + timeout_seconds
    while True:
        for event in client.iter_events(after_id=cursor, model_name=name, page_size=1000):
            cursor = event.id
            if _is_promotion(event, alias=alias, stage=stage, version=version):
                moved_to = event.to_version if event.to_version is not None else event.version
                _compat.run_logger().info("%s v%s took %s (event %s)", name, moved_to, target, event.id)
                return event
        if time.monotonic() >= deadline:
            wanted = f" v{version}" if version is not None else ""
            never = "" if _is_registered(client, name) else f"; {name!r} was never registered"
            raise TimeoutError(
                f"No promotion of {name!r}{wanted} to {target} within {timeout_seconds:g}s "
                f"(last event seen: {cursor}{never})."
            )
        time.sleep(max(0.0, min(poll_interval_seconds, deadline - time.monotonic())))
