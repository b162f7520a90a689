"""``build_promotion_gate_checks``: blocking asset checks that promote a model asset's new version.

```python
gate = build_promotion_gate_checks(assets=[churn_model], alias="champion")
defs = dg.Definitions(assets=[features, churn_model, scores], asset_checks=gate, ...)
```

Each check takes the version the asset's latest materialization registered (the
``lockgate/version`` metadata ``LockgateModelIOManager`` writes) and asks the registry to
promote it to the alias. The registry evaluates the alias's gate policy; the check passes
when the version now holds the alias and fails, with every rule's verdict as metadata, when
the gate refuses it. The checks are blocking, so a refused model stops downstream assets.
Running a check again for a version that already holds the alias passes without a second move.
"""

# No `from __future__ import annotations`: Dagster reads the check's context annotation at runtime.
import re
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from lockgate.errors import GateFailed, LockgateError, ServiceUnavailable
from lockgate.registry.entities import GateTarget, RuleResult
from lockgate.registry.verdicts import as_rule_results, verdict_markdown_table

from lockgate_dagster._compat import (
    dagster_run_id,
    latest_materialization_metadata,
    partition_key_of,
)
from lockgate_dagster.connection import unreachable_as_error
from lockgate_dagster.io_manager import VERSION_METADATA, model_name_for

__all__ = ["build_promotion_gate_checks", "verdict_metadata"]

AssetRef = dg.AssetsDefinition | dg.AssetSpec | dg.AssetKey | str | Sequence[str]


def _keys_of(ref: AssetRef) -> list[tuple[dg.AssetKey, Any]]:
    """(asset key, definition metadata) pairs that ``ref`` names."""
    if isinstance(ref, dg.AssetsDefinition):
        return [(spec.key, spec.metadata) for spec in ref.specs]
    if isinstance(ref, dg.AssetSpec):
        return [(ref.key, ref.metadata)]
    if isinstance(ref, dg.AssetKey):
        return [(ref, {})]
    if isinstance(ref, str):
        return [(dg.AssetKey.from_user_string(ref), {})]
    return [(dg.AssetKey(list(ref)), {})]


def verdict_metadata(results: Sequence[RuleResult | Mapping[str, Any]]) -> dict[str, Any]:
    """Check metadata holding every rule's verdict: one entry per rule, and a table of them all.

    ``results`` may be ``RuleResult`` entities or their JSON (as a server returns them).
    """
    rules = as_rule_results(results)
    meta: dict[str, Any] = {}
    for rule in rules:
        verdict = rule.model_dump(include={"passed", "observed", "expected", "message"})
        meta[f"rule: {rule.rule}"] = dg.MetadataValue.json(_jsonable(verdict))
    if rules:
        meta["lockgate/verdicts"] = dg.MetadataValue.md(verdict_markdown_table(rules))
    meta["lockgate/rules_failed"] = dg.MetadataValue.int(sum(1 for r in rules if not r.passed))
    return meta


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def build_promotion_gate_checks(
    *,
    assets: Sequence[AssetRef],
    alias: str,
    model_name: str | None = None,
    resource_key: str = "lockgate",
    policy: Any = None,
    blocking: bool = True,
    reason: str | None = None,
) -> list[dg.AssetChecksDefinition]:
    """One blocking check per model asset that promotes its new version to ``alias`` through the gate.

    ``policy`` (a ``lockgate.registry.GatePolicy`` or its document) keeps the gate in code: each
    check stores it for the alias before promoting (storing the policy already in force is a
    no-op). Without it the policy set in the registry (CLI, API) applies. ``model_name``
    overrides the registered model (default: the one the IO manager used, recorded on the
    materialization). The checks need a ``LockgateResource`` under ``resource_key``.
    """
    if not assets:
        raise ValueError("build_promotion_gate_checks needs at least one asset.")
    target = GateTarget.of(alias=alias)
    if not re.fullmatch(r"[\w\-]+", target.name):
        raise ValueError(f"Invalid alias {alias!r}: use letters, digits, '_' and '-'.")
    checks: list[dg.AssetChecksDefinition] = []
    for ref in assets:
        for key, metadata in _keys_of(ref):
            checks.append(_gate_check(key, metadata, alias=alias, model_name=model_name, policy=policy,
                                      resource_key=resource_key, blocking=blocking, reason=reason))
    return checks


def _gate_check(
    key: dg.AssetKey, metadata: Any, *, alias: str, model_name: str | None, policy: Any,
    resource_key: str, blocking: bool, reason: str | None,
) -> dg.AssetChecksDefinition:
    check_name = "lockgate_gate_" + re.sub(r"\W", "_", alias)
    default_model = model_name_for(key, configured=model_name, metadata=metadata)

    @dg.asset_check(
        asset=key,
        name=check_name,
        blocking=blocking,
        required_resource_keys={resource_key},
        description=(
            f"Promotes the new version of model {default_model!r} to alias {alias!r} if the "
            "registry's gate policy passes; fails with every rule's verdict otherwise."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        lockgate = getattr(context.resources, resource_key)
        # In a partitioned run the check gates the version this partition's materialization made.
        partition = partition_key_of(context.op_execution_context)
        produced = latest_materialization_metadata(context.instance, key, partition=partition)
        name = model_name or str(produced.get("lockgate/model_name") or default_model)
        version = produced.get(VERSION_METADATA)
        base: dict[str, Any] = {"lockgate/model_name": name, "lockgate/alias": alias}
        if partition is not None:
            base["lockgate/partition_key"] = partition
        if version is None:
            where = f" partition {partition!r}" if partition is not None else ""
            return dg.AssetCheckResult(
                passed=False, metadata=base,
                description=(
                    f"Asset {key.to_user_string()!r}{where} has no materialization with a registered "
                    "model version; store it with LockgateModelIOManager."
                ),
            )
        version = int(version)
        base["lockgate/version"] = dg.MetadataValue.int(version)
        base["lockgate/model_uri"] = f"models:/{name}/{version}"
        why = reason or f"Dagster run {dagster_run_id(context)}: asset check {check_name}" + (
            f" [{partition}]" if partition is not None else "")
        client = lockgate.get_client()
        with unreachable_as_error(lockgate.resolved_tracking_uri()):
            try:
                if policy is not None:
                    client.set_gate_policy(name, alias=alias, policy=policy)
                decision = client.promote(name, version=version, alias=alias, reason=why)
            except GateFailed as refused:
                return dg.AssetCheckResult(
                    passed=False,
                    metadata={**base, **verdict_metadata(refused.results)},
                    description=refused.message,
                )
            except ServiceUnavailable:
                raise  # not a verdict: fail the step so a retry policy can run it again
            except LockgateError as exc:
                return dg.AssetCheckResult(
                    passed=False, metadata={**base, "lockgate/error": exc.code}, description=exc.message,
                )
        meta = {**base, **verdict_metadata(decision.results)}
        meta["lockgate/changed"] = bool(decision.changed)
        if decision.previous_version is not None:
            meta["lockgate/previous_version"] = dg.MetadataValue.int(int(decision.previous_version))
        if decision.event_id is not None:
            meta["lockgate/event_id"] = dg.MetadataValue.int(int(decision.event_id))
        if decision.policy_version is not None:
            meta["lockgate/policy_version"] = dg.MetadataValue.int(int(decision.policy_version))
        moved = "now holds" if decision.changed else "already held"
        return dg.AssetCheckResult(
            passed=True, metadata=meta,
            description=f"Version {version} of {name!r} {moved} alias {alias!r}.",
        )

    return _check
