"""Registry operators: register a run's model as a version, and promote a version through its gate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lockgate_airflow.links import (
    LockgateModelVersionLink,
    LockgateRunLink,
    model_version_url,
    record_link,
    run_url,
)
from lockgate_airflow.operators.base import (
    LockgateOperatorMixin,
    rendered_name,
    rendered_run_id,
    rendered_version,
)
from lockgate_airflow.version_compat import AirflowFailException, AirflowSkipException, BaseOperator

__all__ = ["PromoteModelOperator", "RegisterModelOperator"]


class RegisterModelOperator(LockgateOperatorMixin, BaseOperator):
    """Register the model a run logged as a new version; the task's XCom value is the version number.

    Registering the same run's model again (a retry, a cleared task) returns the version
    made the first time. The registered model is created if it does not exist yet.

    :param model_name: registered model name (templated).
    :param run_id: the run that logged the model, e.g. the output of a ``@task.lockgate`` task (templated).
    :param artifact_path: where in the run's artifacts the model lives (templated), default ``model``.
    :param tags: tags for the new version (templated).
    :param description: description of the new version (templated).
    :param lockgate_conn_id: the ``lockgate`` Airflow connection.
    """

    template_fields: Sequence[str] = ("model_name", "run_id", "artifact_path", "tags", "description")
    ui_color = "#d9ecf7"
    operator_extra_links = (LockgateRunLink(), LockgateModelVersionLink())

    def __init__(
        self,
        *,
        model_name: str,
        run_id: str,
        artifact_path: str = "model",
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        lockgate_conn_id: str = "lockgate_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.run_id = run_id
        self.artifact_path = artifact_path
        self.tags = tags
        self.description = description
        self.lockgate_conn_id = lockgate_conn_id

    def execute(self, context: Any) -> int:
        from lockgate.artifacts.run_artifacts import list_artifacts
        from lockgate.errors import InvalidArgument, NotFound

        name = rendered_name("model_name", self.model_name)
        run_id = rendered_run_id("run_id", self.run_id)
        path = rendered_name("artifact_path", self.artifact_path).strip("/")
        client = self.hook.get_conn()
        client.get_run(run_id)  # NotFound names the run
        logged = {f.path for f in list_artifacts(client, run_id, path)}
        if not logged:
            top = sorted(f.path for f in list_artifacts(client, run_id)) or ["nothing"]
            raise NotFound(
                f"Run {run_id} has no artifacts under {path!r}, so there is no model to register. "
                f"The run logged: {', '.join(top)}. Pass the artifact_path used in log_model(name=...)."
            )
        if not any(p.rsplit("/", 1)[-1] == "MLmodel" for p in logged):
            raise InvalidArgument(
                f"Run {run_id} has artifacts under {path!r} but no MLmodel file there: it is not a "
                "model logged with lockgate.<flavor>.log_model."
            )
        tags = {str(k): str(v) for k, v in (self.tags or {}).items()}
        tags.setdefault("lockgate.airflow.dag_id", str(context["ti"].dag_id))
        tags.setdefault("lockgate.airflow.run_id", str(context["ti"].run_id))
        ti = context["ti"]
        # A retry of this task instance gets back its version; another DAG run makes a new one.
        step = f"airflow:{ti.dag_id}/{ti.run_id}/{ti.task_id}/{getattr(ti, 'map_index', -1)}"
        version = client.register_model(
            name, source=f"runs:/{run_id}/{path}", run_id=run_id, tags=tags, description=self.description,
            idempotency_key=step,
        )
        self.log.info("Registered %s version %s from run %s (%s)", name, version.version, run_id, path)
        record_link(self, LockgateRunLink, run_url(client.tracking_uri, run_id))
        record_link(self, LockgateModelVersionLink, model_version_url(client.tracking_uri, name, version.version))
        context["ti"].xcom_push(key="model_uri", value=version.model_uri)
        return int(version.version)


class PromoteModelOperator(LockgateOperatorMixin, BaseOperator):
    """Move a version to an alias or stage through the registry's gate; XCom: the gate decision.

    A failing gate fails the task (no retries: the verdict would not change) with every
    rule's verdict in the log, or skips it when ``soft_fail=True``. Promoting a version
    that already holds the alias succeeds without recording a second event.

    :param model_name: registered model name (templated).
    :param version: version number, e.g. ``register.output`` (templated).
    :param alias: target alias such as ``champion`` (templated); give this or ``stage``.
    :param stage: target stage such as ``Production`` (templated).
    :param reason: why, recorded in the audit trail (templated).
    :param soft_fail: skip instead of fail when the gate refuses.
    :param lockgate_conn_id: the ``lockgate`` Airflow connection.
    """

    template_fields: Sequence[str] = ("model_name", "version", "alias", "stage", "reason")
    ui_color = "#fdebd0"
    operator_extra_links = (LockgateModelVersionLink(),)

    def __init__(
        self,
        *,
        model_name: str,
        version: int | str | Any,
        alias: str | None = None,
        stage: str | None = None,
        reason: str | None = None,
        soft_fail: bool = False,
        lockgate_conn_id: str = "lockgate_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (alias is None) == (stage is None):  # the values may be templates: render-time check in execute
            from lockgate.errors import InvalidArgument
            from lockgate.registry.entities import GateTarget

            try:
                GateTarget.of(alias=alias, stage=stage)
            except InvalidArgument as exc:
                raise InvalidArgument(f"PromoteModelOperator {self.task_id!r}: {exc.message}") from None
        self.model_name = model_name
        self.version = version
        self.alias = alias
        self.stage = stage
        self.reason = reason
        self.soft_fail = soft_fail
        self.lockgate_conn_id = lockgate_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from lockgate.errors import GateFailed
        from lockgate.registry.entities import GateTarget
        from lockgate.registry.verdicts import verdict_lines

        name = rendered_name("model_name", self.model_name)
        version = rendered_version("version", self.version)
        alias = rendered_name("alias", self.alias) if self.alias is not None else None
        stage = rendered_name("stage", self.stage) if self.stage is not None else None
        target = GateTarget.of(alias=alias, stage=stage)
        client = self.hook.get_conn()
        client.get_model_version(name, version)  # NotFound names the model or version
        record_link(self, LockgateModelVersionLink, model_version_url(client.tracking_uri, name, version))
        reason = self.reason or f"Airflow {context['ti'].dag_id}.{context['ti'].task_id} run {context['ti'].run_id}"
        try:
            decision = client.promote(name, version=version, alias=alias, stage=stage, reason=reason)
        except GateFailed as exc:
            verdicts = verdict_lines(exc.results)
            self.log.error("Gate refused %s version %s -> %s:\n%s", name, version, target, "\n".join(verdicts))
            message = f"Gate refused {name} version {version} -> {target}: " + "; ".join(verdicts)
            if self.soft_fail:
                raise AirflowSkipException(message) from None
            raise AirflowFailException(message) from None
        for line in verdict_lines(decision.results):
            self.log.info("%s", line)
        if decision.changed:
            self.log.info("Promoted %s version %s -> %s (was %s)", name, version, target, decision.previous_version)
        else:
            self.log.info("%s version %s already holds %s; nothing changed", name, version, target)
        return decision.model_dump(mode="json")

