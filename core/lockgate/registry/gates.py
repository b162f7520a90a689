"""Promotion gates: declarative rules a version must pass before it takes an alias or stage.

A ``GatePolicy`` is plain pydantic data, stored as JSON with the registered model; each rule
carries a ``type`` field so the stored document round-trips to the same objects. The
registry service builds a ``GateContext`` (candidate version and run, the current holder and
its run, approvals) and asks every rule for a ``RuleResult``. A rule never raises: a missing
metric, a broken custom rule or an unreachable run is a failed verdict with a clear message.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lockgate.entities import Run
from lockgate.errors import InvalidArgument
from lockgate.registry.entities import (
    GateDecision,
    GateTarget,
    ModelVersion,
    RegistryEvent,
    RuleResult,
)

__all__ = [
    "BeatsChampion",
    "CustomRule",
    "GateContext",
    "GateDecision",
    "GatePolicy",
    "GateRule",
    "MetricThreshold",
    "RequireApprovals",
    "RequireLineage",
    "RequireTags",
    "RuleResult",
    "check_rules_installed",
    "evaluate_policy",
    "uninstalled_rules",
]

# Differences smaller than this are float noise (0.81 - 0.805 is not exactly 0.005).
_EPS = 1e-12
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateContext:
    """Everything a rule may look at when judging a candidate version."""

    model_name: str
    target: GateTarget
    candidate: ModelVersion
    candidate_run: Run | None = None
    champion: ModelVersion | None = None
    champion_run: Run | None = None
    #: True when nobody holds the target now and ``champion`` is the version that held it last.
    champion_is_last_holder: bool = False
    approvals: tuple[RegistryEvent, ...] = ()
    actor: str = ""
    run_problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def candidate_metric(self, metric: str) -> tuple[float | None, str | None]:
        """The candidate run's latest value of ``metric``, or None and the reason why not."""
        if self.candidate_run is None:
            why = self.run_problem or f"version {self.candidate.version} has no run"
            return None, f"{why}; metric {metric!r} cannot be checked"
        metrics = self.candidate_run.data.metrics
        if metric not in metrics:
            return None, (
                f"run {self.candidate_run.info.run_id} never logged metric {metric!r}"
                + (f" (it has: {', '.join(sorted(metrics))})" if metrics else " (it logged no metrics)")
            )
        return metrics[metric], None


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def describe(self) -> str:
        """A short human label for tables and messages."""
        raise NotImplementedError

    def evaluate(self, ctx: GateContext) -> RuleResult:
        raise NotImplementedError

    def _result(self, passed: bool, observed: Any, expected: Any, message: str) -> RuleResult:
        return RuleResult(
            rule=self.describe(), passed=passed, observed=observed, expected=expected, message=message
        )


class MetricThreshold(_Rule):
    """The candidate's run must have logged ``metric`` within [``min``, ``max``]."""

    type: Literal["metric_threshold"] = "metric_threshold"
    metric: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> MetricThreshold:
        if self.min is None and self.max is None:
            raise ValueError("metric_threshold needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"metric_threshold min ({self.min}) is greater than max ({self.max})")
        return self

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return f"{self.metric} {' and '.join(parts)}"

    def _expected(self) -> dict[str, float]:
        return {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}

    def evaluate(self, ctx: GateContext) -> RuleResult:
        value, problem = ctx.candidate_metric(self.metric)
        if value is None:
            return self._result(False, None, self._expected(), problem or "")
        if math.isnan(value):
            return self._result(False, value, self._expected(), f"{self.metric} is NaN")
        if self.min is not None and value < self.min:
            return self._result(False, value, self._expected(), f"{self.metric}={value:g} is below {self.min:g}")
        if self.max is not None and value > self.max:
            return self._result(False, value, self._expected(), f"{self.metric}={value:g} is above {self.max:g}")
        return self._result(True, value, self._expected(), f"{self.metric}={value:g} is within bounds")


class BeatsChampion(_Rule):
    """The candidate must be at least ``margin`` better on ``metric`` than the current holder.

    When nobody holds the target now, the version that held it last (from the audit trail)
    is the one to beat, so removing the holder first does not lower the bar. With no holder
    ever, or one that never logged the metric, there is nothing to beat and the rule passes
    (saying so). ``margin=0`` means "no worse than the holder".
    """

    type: Literal["beats_champion"] = "beats_champion"
    metric: str = Field(min_length=1)
    margin: float = Field(default=0.0, ge=0.0)
    higher_is_better: bool = True

    def describe(self) -> str:
        direction = "higher" if self.higher_is_better else "lower"
        return f"{self.metric} beats holder by {self.margin:g} ({direction} is better)"

    def evaluate(self, ctx: GateContext) -> RuleResult:
        value, problem = ctx.candidate_metric(self.metric)
        if ctx.champion is None:
            return self._result(True, value, None, f"no version holds {ctx.target} yet; nothing to beat")
        champ_value = None
        if ctx.champion_run is not None:
            champ_value = ctx.champion_run.data.metrics.get(self.metric)
        holder = "last holder" if ctx.champion_is_last_holder else "holder"
        if champ_value is None or math.isnan(champ_value):
            return self._result(
                True, value, None,
                f"{'last' if ctx.champion_is_last_holder else 'current'} holder v{ctx.champion.version} "
                f"has no {self.metric!r}; nothing to compare",
            )
        sign = 1.0 if self.higher_is_better else -1.0
        needed = champ_value + sign * self.margin
        if value is None:
            return self._result(False, None, needed, problem or "")
        improvement = sign * (value - champ_value)
        passed = improvement + _EPS >= self.margin and not math.isnan(value)
        cmp = ">=" if self.higher_is_better else "<="
        verdict = "beats" if passed else "does not beat"
        return self._result(
            passed, value, needed,
            f"{self.metric}={value:g} {verdict} {holder} v{ctx.champion.version} "
            f"({champ_value:g}); needs {cmp} {needed:g}",
        )


class RequireTags(_Rule):
    """Tags that must be present with the given values (``None`` accepts any value).

    ``scope`` chooses where to look: the model version's tags, its run's tags, or either.
    """

    type: Literal["require_tags"] = "require_tags"
    tags: dict[str, str | None] = Field(min_length=1)
    scope: Literal["version", "run", "any"] = "any"

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" if v is not None else k for k, v in self.tags.items())
        return f"tags {shown}"

    def evaluate(self, ctx: GateContext) -> RuleResult:
        sources: list[Mapping[str, str]] = []
        if self.scope in ("version", "any"):
            sources.append(ctx.candidate.tags)
        if self.scope in ("run", "any") and ctx.candidate_run is not None:
            sources.append(ctx.candidate_run.data.tags)
        observed: dict[str, str | None] = {}
        missing: list[str] = []
        for key, wanted in self.tags.items():
            values = [s[key] for s in sources if key in s]
            observed[key] = values[0] if values else None
            if not values:
                missing.append(f"{key} is not set")
            elif wanted is not None and wanted not in values:
                missing.append(f"{key}={values[0]!r}, wanted {wanted!r}")
        if missing:
            return self._result(False, observed, dict(self.tags), "; ".join(missing))
        return self._result(True, observed, dict(self.tags), "all required tags present")


class RequireApprovals(_Rule):
    """At least ``count`` distinct users must have approved this version.

    ``approvers`` limits who counts; ``exclude_creator`` ignores the version's own author
    (four-eyes principle).
    """

    type: Literal["require_approvals"] = "require_approvals"
    count: int = Field(default=1, ge=1)
    approvers: list[str] | None = None
    exclude_creator: bool = False

    def describe(self) -> str:
        return f"{self.count} approval{'s' if self.count != 1 else ''}"

    def evaluate(self, ctx: GateContext) -> RuleResult:
        users = {e.actor for e in ctx.approvals}
        if self.approvers is not None:
            users &= set(self.approvers)
        if self.exclude_creator and ctx.candidate.user_id:
            users.discard(ctx.candidate.user_id)
        observed = sorted(users)
        if len(users) >= self.count:
            return self._result(True, observed, self.count, f"approved by {', '.join(observed)}")
        msg = f"{len(users)} of {self.count} required approvals"
        if observed:
            msg += f" (by {', '.join(observed)})"
        return self._result(False, observed, self.count, msg)


class RequireLineage(_Rule):
    """The candidate's run must record where it came from: named training datasets (by
    name, optionally in a context such as "training") and/or a source commit."""

    type: Literal["require_lineage"] = "require_lineage"
    datasets: list[str] = Field(default_factory=list)
    context: str | None = None
    source_commit: bool = False

    @model_validator(mode="after")
    def _something(self) -> RequireLineage:
        if not self.datasets and not self.source_commit:
            raise ValueError("require_lineage needs datasets, source_commit or both")
        return self

    def describe(self) -> str:
        parts = [f"datasets {', '.join(self.datasets)}"] if self.datasets else []
        if self.source_commit:
            parts.append("source commit")
        return "lineage: " + " and ".join(parts)

    def evaluate(self, ctx: GateContext) -> RuleResult:
        expected = {"datasets": self.datasets, "context": self.context, "source_commit": self.source_commit}
        run = ctx.candidate_run
        if run is None:
            why = ctx.run_problem or f"version {ctx.candidate.version} has no run"
            return self._result(False, None, expected, f"{why}; its lineage cannot be checked")
        used = [d.dataset.name for d in run.inputs.dataset_inputs
                if self.context is None or d.context == self.context]
        commit = run.data.tags.get("lockgate.source.git.commit") or run.data.tags.get("mlflow.source.git.commit")
        observed = {"datasets": used, "source_commit": commit}
        problems = [f"run {run.info.run_id} did not use dataset {name!r}"
                    + (f" for {self.context}" if self.context else "")
                    for name in self.datasets if name not in used]
        if self.source_commit and not commit:
            problems.append(f"run {run.info.run_id} records no source commit")
        if problems:
            return self._result(False, observed, expected, "; ".join(problems))
        return self._result(True, observed, expected, "lineage recorded")


class CustomRule(_Rule):
    """A check of your own, by the name the operator installed it under.

    ``rule`` names a function installed through the ``lockgate.gate_rules`` entry-point
    group, ``LOCKGATE_GATE_RULES`` or ``register_gate_rule`` (see
    ``lockgate.registry.rule_catalog``), never an import path. It is called as
    ``function(context, **params)`` and returns a ``RuleResult``, a bool, or
    ``(bool, message)``. A rule that is not installed, raises or returns anything else is
    a failed verdict that names the rule and what went wrong, never its internals.
    """

    type: Literal["custom"] = "custom"
    rule: str = Field(min_length=1, max_length=500)
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_path(cls, data: Any) -> Any:
        # Policies stored before rules were installed by name carried ``path``; they still
        # load (so the gate can fail closed on them) but name no installed rule.
        if isinstance(data, Mapping) and "path" in data and "rule" not in data:
            data = {("rule" if k == "path" else k): v for k, v in data.items()}
        return data

    def describe(self) -> str:
        return self.name or f"custom {self.rule}"

    def evaluate(self, ctx: GateContext) -> RuleResult:
        from lockgate.registry.rule_catalog import installed_gate_rules, load_gate_rule

        try:
            func = load_gate_rule(self.rule)
        except Exception:  # noqa: BLE001 - an installed rule that cannot load fails closed
            _log.exception("Installed gate rule %r could not be loaded", self.rule)
            return self._result(False, None, None,
                                f"installed rule {self.rule!r} could not be loaded (see the server log)")
        if func is None:
            allowed = ", ".join(installed_gate_rules()) or "none"
            return self._result(False, None, None,
                                f"{self.rule!r} is not an installed gate rule (installed: {allowed})")
        try:
            out = func(ctx, **self.params)
        except Exception as exc:  # noqa: BLE001 - the rule failing is a failed verdict
            _log.exception("Gate rule %r raised", self.rule)
            return self._result(False, None, None, f"rule {self.rule!r} raised {type(exc).__name__}")
        if isinstance(out, RuleResult):
            return out.model_copy(update={"rule": out.rule or self.describe()})
        if isinstance(out, bool):
            return self._result(out, out, True, "passed" if out else "failed")
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], bool):
            return self._result(out[0], out[0], True, str(out[1])[:1000])
        return self._result(
            False, None, None,
            f"rule {self.rule!r} returned {type(out).__name__}; expected RuleResult, bool or (bool, message)",
        )


def uninstalled_rules(policy: GatePolicy) -> list[str]:
    """The custom rule names in ``policy`` that this process has not installed."""
    from lockgate.registry.rule_catalog import installed_gate_rules

    installed = set(installed_gate_rules())
    return [r.rule for r in policy.rules if isinstance(r, CustomRule) and r.rule not in installed]


def check_rules_installed(policy: GatePolicy) -> None:
    """InvalidArgument naming the installed rules if ``policy`` names any other custom rule."""
    from lockgate.registry.rule_catalog import ENTRY_POINT_GROUP, ENV_VAR, installed_gate_rules

    missing = uninstalled_rules(policy)
    if missing:
        allowed = ", ".join(installed_gate_rules()) or "none"
        raise InvalidArgument(
            f"Gate policy names custom rule(s) {', '.join(repr(m[:100]) for m in missing)} that are not "
            f"installed; installed rules: {allowed}. An operator installs rules through the "
            f"{ENTRY_POINT_GROUP!r} entry-point group or {ENV_VAR}, never by import path.",
            details={"not_installed": [m[:100] for m in missing], "installed": installed_gate_rules()},
        )


GateRule = Annotated[
    MetricThreshold | BeatsChampion | RequireTags | RequireApprovals | RequireLineage | CustomRule,
    Field(discriminator="type"),
]

_RULE_TYPES = "metric_threshold, beats_champion, require_tags, require_approvals, require_lineage, custom"


class GatePolicy(BaseModel):
    """The rules guarding one alias or stage; all must pass for a move to happen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[GateRule] = Field(default_factory=list)
    description: str | None = None

    @classmethod
    def from_document(cls, document: GatePolicy | Mapping[str, Any] | str | bytes) -> GatePolicy:
        """A policy from a dict, or JSON/YAML text; InvalidArgument says what is wrong."""
        if isinstance(document, GatePolicy):
            return document
        data: Any = document
        if isinstance(document, (str, bytes)):
            text = document.decode() if isinstance(document, bytes) else document
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                import yaml

                try:
                    data = yaml.safe_load(text)
                except yaml.YAMLError as exc:
                    raise InvalidArgument(f"Gate policy is neither JSON nor YAML: {exc}") from None
        if isinstance(data, list):  # a bare list of rules is accepted for convenience
            data = {"rules": data}
        if not isinstance(data, Mapping):
            raise InvalidArgument(
                f"Gate policy must be a mapping with a 'rules' list, got {type(data).__name__}"
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise InvalidArgument(_explain(exc), details={"errors": _error_list(exc)}) from None

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready dict stored in the database (``from_document`` reads it back)."""
        return self.model_dump(mode="json", exclude_none=True)


def _error_list(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": ".".join(str(p) for p in err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(policy)"
        msg = err["msg"]
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            msg += f" (rule types: {_RULE_TYPES})"
        parts.append(f"{loc}: {msg}")
    return "Malformed gate policy: " + "; ".join(parts)


def evaluate_policy(
    policy: GatePolicy | None, ctx: GateContext, *, policy_version: int | None = None
) -> GateDecision:
    """Every rule's verdict for ``ctx``; the decision passes when all rules pass."""
    results: list[RuleResult] = []
    for rule in policy.rules if policy else []:
        try:
            results.append(rule.evaluate(ctx))
        except Exception as exc:  # noqa: BLE001 - a bug in a built-in rule must still not crash a promotion
            _log.exception("Gate rule %s crashed", rule.describe())
            results.append(RuleResult(rule=rule.describe(), passed=False,
                                      message=f"rule crashed ({type(exc).__name__}; see the server log)"))
    return GateDecision(
        passed=all(r.passed for r in results),
        results=results,
        model_name=ctx.model_name,
        version=ctx.candidate.version,
        target=ctx.target,
        policy_version=policy_version,
        previous_version=ctx.champion.version if ctx.champion and not ctx.champion_is_last_holder else None,
        changed=False,
        overridden=False,
    )
