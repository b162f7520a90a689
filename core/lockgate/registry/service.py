"""``RegistryService``: the model registry, backend-independent, over a ``RegistryStore``.

It validates every input, evaluates gates, decides what a move or a guarded change does and
which events record it; the store (``lockgate.store.sql.registry_store.SqlRegistryStore``)
only keeps rows. ``SqlRegistry`` is this service on a SQL store. Gate policies, approvals
and the audit trail are in ``policy_service.py`` (mixed in).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from lockgate.entities import PagedList, Run
from lockgate.errors import AlreadyExists, InvalidArgument, NotFound
from lockgate.registry.alias_rules import look_alike
from lockgate.registry.entities import (
    EventType,
    GateDecision,
    GateTarget,
    ModelVersion,
    ModelVersionLineage,
    ModelVersionStage,
    RegisteredModel,
)
from lockgate.registry.filters import (
    parse_model_filter,
    parse_model_order_by,
    parse_version_filter,
    parse_version_order_by,
)
from lockgate.registry.guards import check_override
from lockgate.registry.moves import MoveEngine, rejection_event
from lockgate.registry.persistence import (
    EventRecord,
    ModelHolders,
    MoveSnapshot,
    Refused,
    RegistryStore,
)
from lockgate.registry.policy_service import GatePolicyMixin
from lockgate.registry.uris import parse_model_uri
from lockgate.registry.validation import (
    MAX_MODELS_PAGE,
    MAX_SOURCE_LENGTH,
    MAX_VERSIONS_PAGE,
    UNGUARDED_STAGES,
    check_page_size,
    gate_target,
    validate_alias,
    validate_idempotency_key,
    validate_model_name,
    validate_tag,
    version_number,
)
from lockgate.store.base import TrackingStore
from lockgate.store.paging import decode_page_token, encode_page_token

__all__ = ["RegistryService"]

_RUNS_URI = re.compile(r"^runs:/([^/]+)(?:/(.*))?$")


def _now_ms() -> int:
    return int(time.time() * 1000)


class RegistryService(GatePolicyMixin):
    """Registered models, versions, aliases, stages, gate policies and the audit trail.

    ``store`` keeps the rows; ``tracking_store`` is where runs are read for gates and lineage.
    """

    def __init__(self, store: RegistryStore, tracking_store: TrackingStore | None = None) -> None:
        self._rows = store
        self._tracking = tracking_store
        self._moves = MoveEngine(store, self._get_run, _now_ms, shares_runs=self._shares_runs)

    @property
    def tracking_store(self) -> TrackingStore | None:
        """The store runs are read from."""
        return self._tracking

    def _shares_runs(self) -> bool:
        """True when the runs live in the registry's own database (a gate may read them there)."""
        return self.tracking_store is not None and self._rows.shares_database_with(self.tracking_store)

    def _get_run(self, run_id: str) -> tuple[Run | None, str | None]:
        store = self.tracking_store
        if store is None:
            return None, f"no tracking store is configured to read run {run_id}"
        try:
            return store.get_run(run_id), None
        except NotFound:
            return None, f"run {run_id} no longer exists"

    def _guarded_change(self, name: str, what: str, *, actor: str, reason: str | None, override: bool,
                        privileged: bool, change: Any, affected: Any) -> Any:
        """Run ``change(decide)`` where ``decide`` refuses (recording GATE_REJECTED) unless
        ``override`` when ``affected(holders)`` names guarded targets."""
        check_override(name, override=override, reason=reason, privileged=privileged, what=what)

        def decide(holders: ModelHolders) -> list[EventRecord]:
            targets, version, events = affected(holders)
            if targets and not override:
                raise Refused(holders.model_id, targets, version)
            for ev in events:
                ev.setdefault("actor", actor)
                ev.setdefault("reason", reason)
                ev.setdefault("override", bool(targets))
            return list(events)

        try:
            return change(decide)
        except Refused as refusal:
            event, error = rejection_event(refusal, name=name, what=what, actor=actor, reason=reason)
            self._rows.append_events(refusal.model_id, name, [event])
            raise error from None

    # ======================================================= registered models
    def create_registered_model(
        self, name: str, *, description: str | None = None, tags: Mapping[str, Any] | None = None,
        exist_ok: bool = False, actor: str = "",
    ) -> RegisteredModel:
        """A new, empty registered model; AlreadyExists if the name is taken, unless
        ``exist_ok`` (for retried pipeline steps), which returns the existing model unchanged."""
        validate_model_name(name)
        tag_items = [validate_tag(k, v) for k, v in (tags or {}).items()]
        now = _now_ms()
        try:
            self._rows.create_model(name, description=description, tags=tag_items, now=now, event={
                "type": EventType.MODEL_CREATED, "actor": actor,
                "details": {"description": description, "tags": dict(tag_items)}})
        except AlreadyExists:
            if exist_ok:
                return self.get_registered_model(name)
            raise
        return RegisteredModel(name=name, description=description, creation_timestamp=now,
                               last_updated_timestamp=now, tags=dict(tag_items))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and latest version per stage."""
        return self._rows.get_model(validate_model_name(name))

    def rename_registered_model(
        self, name: str, new_name: str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> RegisteredModel:
        """The model under its new name; versions, aliases, policies and history follow it.

        A model with gate policies is a guarded change (its old name would be free for an
        ungated model): it needs ``override=True`` and a ``reason`` from a privileged caller.
        """
        validate_model_name(name)
        validate_model_name(new_name)

        def affected(h: ModelHolders) -> tuple[list[GateTarget], None, list[EventRecord]]:
            guarded = h.guarded_targets()
            return guarded, None, [{"type": EventType.MODEL_RENAMED, "model_name": new_name,
                                    "details": {"from": name, "to": new_name}}]

        self._guarded_change(
            name, f"renaming {name!r} to {new_name!r}", actor=actor, reason=reason, override=override,
            privileged=privileged, affected=affected,
            change=lambda decide: self._rows.rename_model(name, new_name, now=_now_ms(), decide=decide))
        return self.get_registered_model(new_name)

    def update_registered_model(self, name: str, *, description: str | None, actor: str = "") -> RegisteredModel:
        """The model with its new description."""
        self._rows.update_model(validate_model_name(name), description=description, now=_now_ms(), event={
            "type": EventType.MODEL_UPDATED, "actor": actor, "details": {"description": description}})
        return self.get_registered_model(name)

    def delete_registered_model(
        self, name: str, *, actor: str = "", reason: str | None = None, override: bool = False,
        privileged: bool = False,
    ) -> None:
        """Delete the model with all its versions, tags, aliases and policies (events stay).

        A model with gate policies is a guarded change: ``override=True`` and a ``reason``
        from a privileged caller.
        """
        validate_model_name(name)

        def affected(h: ModelHolders) -> tuple[list[GateTarget], None, list[EventRecord]]:
            guarded = h.guarded_targets()
            return guarded, None, [{"type": EventType.MODEL_DELETED, "details": {
                "versions": h.live_versions, "guarded": [str(t) for t in guarded]}}]

        self._guarded_change(name, f"deleting model {name!r}", actor=actor, reason=reason, override=override,
                             privileged=privileged, affected=affected,
                             change=lambda decide: self._rows.delete_model(name, decide=decide))

    def search_registered_models(
        self, *, filter_string: str | None = None, max_results: int = 100,
        order_by: Sequence[str] | None = None, page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Models matching MLflow's registered-model filter, a page at a time."""
        check_page_size(max_results, MAX_MODELS_PAGE)
        comparisons = parse_model_filter(filter_string)
        sort = parse_model_order_by(order_by)
        offset = decode_page_token(page_token)
        models, more = self._rows.search_models(comparisons, sort, offset=offset, limit=max_results)
        return PagedList(models, encode_page_token(offset + max_results) if more else None)

    def set_registered_model_tag(self, name: str, key: str, value: Any, *, actor: str = "") -> None:
        """Set (or replace) a tag on the model; the same value again records nothing."""
        key, text_value = validate_tag(key, value)
        self._rows.set_model_tag(validate_model_name(name), key, text_value, now=_now_ms(), event={
            "type": EventType.MODEL_TAG_SET, "actor": actor, "details": {"key": key, "value": text_value}})

    def delete_registered_model_tag(self, name: str, key: str, *, actor: str = "") -> None:
        """Remove a tag from the model; a tag that is not set is ignored, as in MLflow."""
        self._rows.delete_model_tag(validate_model_name(name), key, event={
            "type": EventType.MODEL_TAG_DELETED, "actor": actor, "details": {"key": key}})

    # ========================================================== model versions
    def create_model_version(
        self, name: str, *, source: str, run_id: str | None = None, tags: Mapping[str, Any] | None = None,
        run_link: str | None = None, description: str | None = None, actor: str = "",
        idempotency_key: str | None = None,
    ) -> ModelVersion:
        """A new version of ``name`` from ``source`` (``runs:/<id>/path`` or any artifact URI).

        Every call makes a new version, as in MLflow. ``idempotency_key`` (unique per model,
        stored with the version) makes a retry safe: the same key again returns the version
        it made (InvalidArgument if the retry names another source or run).
        """
        idempotency_key = validate_idempotency_key(idempotency_key)
        if not isinstance(source, str) or not source.strip():
            raise InvalidArgument(f"Invalid model source {source!r}: give the artifact URI of the model")
        if len(source) > MAX_SOURCE_LENGTH:
            raise InvalidArgument(
                f"Model source {source[:60]!r}... is {len(source)} characters; the limit is {MAX_SOURCE_LENGTH}"
            )
        validate_model_name(name)
        match = _RUNS_URI.match(source)
        if match:
            if run_id is not None and run_id != match.group(1):
                raise InvalidArgument(
                    f"Source {source!r} belongs to run {match.group(1)!r}, not to run_id {run_id!r}"
                )
            run_id = match.group(1)
        tag_items = [validate_tag(k, v) for k, v in (tags or {}).items()]
        run_path = (match.group(2) or "").strip("/") if match else None
        # A tracking store on the store's own database is read inside its transaction; any
        # other (REST, another database) goes through the protocol first.
        store = self.tracking_store if run_id is not None else None
        run_info: tuple[str, str] | None = None
        same_db = store is not None and self._rows.shares_database_with(store)
        if store is not None and not same_db:
            run = store.get_run(run_id)  # type: ignore[arg-type]  # NotFound names the run
            run_info = (run.info.experiment_id, run.info.artifact_uri)
        return self._rows.create_version(
            name, source=source, run_id=run_id, run_path=run_path, run_info=run_info, read_run=same_db,
            tags=tag_items,
            run_link=run_link, description=description, actor=actor, now=_now_ms(),
            idempotency_key=idempotency_key,
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """The version with its tags and aliases; NotFound if unknown or deleted."""
        return self._rows.get_version(validate_model_name(name), version_number(version))

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are (the run's artifact location for ``runs:/`` sources)."""
        return self.get_model_version(name, version).storage_location

    def get_model_version_lineage(self, name: str, version: int | str) -> ModelVersionLineage:
        """The run, experiment, datasets and git commit a version was built from."""
        mv = self.get_model_version(name, version)
        lineage: dict[str, Any] = {"name": mv.name, "version": mv.version, "source": mv.source,
                                   "run_id": mv.run_id, "experiment_id": mv.experiment_id}
        if mv.run_id:
            run, _ = self._get_run(mv.run_id)
            if run is not None:
                lineage.update(
                    experiment_id=run.info.experiment_id,
                    run_name=run.info.run_name,
                    run_status=run.info.status.value,
                    source_commit=run.data.tags.get("lockgate.source.git.commit")
                    or run.data.tags.get("mlflow.source.git.commit"),
                    datasets=[
                        {"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source,
                         "source_type": d.dataset.source_type, "context": d.context}
                        for d in run.inputs.dataset_inputs
                    ],
                )
        return ModelVersionLineage(**lineage)

    def update_model_version(
        self, name: str, version: int | str, *, description: str | None, actor: str = ""
    ) -> ModelVersion:
        """The version with its new description."""
        number = version_number(version)
        self._rows.update_version(validate_model_name(name), number, description=description, now=_now_ms(),
                                  event={"type": EventType.VERSION_UPDATED, "version": number, "actor": actor,
                                         "details": {"description": description}})
        return self.get_model_version(name, number)

    def delete_model_version(
        self, name: str, version: int | str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> None:
        """Delete a version; its aliases go with it and its number is never reused.

        Deleting the holder of a guarded alias or stage is a guarded change: ``override=True``
        and a ``reason`` from a privileged caller.
        """
        number = version_number(version)
        validate_model_name(name)

        def affected(h: ModelHolders) -> tuple[list[GateTarget], int, list[EventRecord]]:
            held = sorted(a for a, v in h.aliases.items() if v == number)
            holds = [GateTarget(kind="alias", name=a) for a in held]
            if number in h.stages:
                holds.append(GateTarget(kind="stage", name=h.stages[number]))
            guarded = [t for t in holds if h.is_guarded(t)]
            shown = {str(t) for t in guarded}
            events: list[EventRecord] = [{
                "type": EventType.ALIAS_DELETED, "version": number, "alias": alias, "from_version": number,
                "reason": f"version deleted: {reason}" if reason else "version deleted",
                "override": f"@{alias}" in shown,
            } for alias in held]
            events.append({"type": EventType.VERSION_DELETED, "version": number,
                           "details": {"stage": h.stages.get(number, ModelVersionStage.NONE.value),
                                       "guarded": sorted(shown)}})
            return guarded, number, events

        self._guarded_change(
            name, f"deleting version {number} of {name!r}", actor=actor, reason=reason, override=override,
            privileged=privileged, affected=affected,
            change=lambda decide: self._rows.delete_version(name, number, now=_now_ms(), decide=decide))

    def search_model_versions(
        self, *, filter_string: str | None = None, max_results: int = 1000,
        order_by: Sequence[str] | None = None, page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions matching MLflow's model-version filter, a page at a time."""
        check_page_size(max_results, MAX_VERSIONS_PAGE)
        comparisons = parse_version_filter(filter_string)
        sort = parse_version_order_by(order_by)
        offset = decode_page_token(page_token)
        versions, more = self._rows.search_versions(comparisons, sort, offset=offset, limit=max_results)
        return PagedList(versions, encode_page_token(offset + max_results) if more else None)

    def get_latest_versions(self, name: str, *, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage (all four stages when none are named)."""
        wanted = [ModelVersionStage.parse(s).value for s in stages] if stages else None
        model = self.get_registered_model(name)
        return [mv for mv in model.latest_versions if wanted is None or mv.current_stage in wanted]

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any, *, actor: str = "") -> None:
        """Set (or replace) a tag on one version; the same value again records nothing."""
        number = version_number(version)
        key, text_value = validate_tag(key, value)
        self._rows.set_version_tag(validate_model_name(name), number, key, text_value, now=_now_ms(), event={
            "type": EventType.VERSION_TAG_SET, "version": number, "actor": actor,
            "details": {"key": key, "value": text_value}})

    def delete_model_version_tag(self, name: str, version: int | str, key: str, *, actor: str = "") -> None:
        """Remove a tag from one version; a tag that is not set is ignored, as in MLflow."""
        number = version_number(version)
        self._rows.delete_version_tag(validate_model_name(name), number, key, event={
            "type": EventType.VERSION_TAG_DELETED, "version": number, "actor": actor, "details": {"key": key}})

    # ================================================================= aliases
    def _refuse_look_alike(self, snap: MoveSnapshot, alias: str) -> None:
        """InvalidArgument if ``alias`` is new and looks like a different guarded alias (the
        move's snapshot carries the model's guarded aliases, so this costs no extra read)."""
        guarded = snap.guarded_aliases
        if alias in guarded:
            return
        name = snap.model_name
        twin = look_alike(alias, sorted(guarded))
        if twin is not None and alias not in self._rows.model_holders(name).aliases:
            raise InvalidArgument(
                f"Alias {alias!r} of {name!r} looks like the guarded alias {twin!r} (aliases are "
                f"case-sensitive; models:/{name}@{alias} would not be gated); use {twin!r} or another name"
            )

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, actor: str = "", privileged: bool = False
    ) -> None:
        """Point ``alias`` at ``version``; a guarded alias raises GateFailed if its gate fails.

        A new alias that looks like a different guarded one (``Champion`` beside a guarded
        ``champion``) is refused with InvalidArgument.
        """
        target = gate_target(alias, None)
        self._moves.move(validate_model_name(name), version=version, target=target,
                         reason=None, override=False, privileged=privileged, archive_existing_versions=False,
                         actor=actor, vet=lambda snap: self._refuse_look_alike(snap, target.name))

    def delete_registered_model_alias(
        self, name: str, alias: str, *, actor: str = "", reason: str | None = None,
        override: bool = False, privileged: bool = False,
    ) -> None:
        """Remove ``alias`` from whichever version holds it; NotFound if none does.

        Removing a guarded alias is a guarded change: ``override=True`` and a ``reason`` from
        a privileged caller; without them it is refused (GateFailed) and the refusal recorded.
        """
        validate_alias(alias)
        validate_model_name(name)
        target = GateTarget(kind="alias", name=alias)

        def affected(h: ModelHolders) -> tuple[list[GateTarget], int, list[EventRecord]]:
            held = h.aliases[alias]
            return ([target] if h.is_guarded(target) else []), held, [{
                "type": EventType.ALIAS_DELETED, "version": held, "alias": alias, "from_version": held}]

        self._guarded_change(
            name, f"deleting alias {alias!r} of {name!r}", actor=actor, reason=reason, override=override,
            privileged=privileged, affected=affected,
            change=lambda decide: self._rows.delete_alias(name, alias, now=_now_ms(), decide=decide))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; NotFound if the alias is not set (naming a
        look-alike alias that is, since aliases are case-sensitive)."""
        try:
            return self._rows.get_alias(validate_model_name(name), validate_alias(alias))
        except NotFound as exc:
            try:
                twin = look_alike(alias, self._rows.model_holders(name).aliases)
            except NotFound:
                raise exc from None
            if twin is None:
                raise
            raise NotFound(f"{exc.message}; did you mean {twin!r}? (aliases are case-sensitive)") from None

    # ================================================================== stages
    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, *, archive_existing_versions: bool = False,
        actor: str = "", reason: str | None = None, override: bool = False, privileged: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage (gated if the stage is guarded) and return it."""
        target = gate_target(None, stage)
        if archive_existing_versions and target.name in UNGUARDED_STAGES:
            raise InvalidArgument(
                f"archive_existing_versions is only valid for Staging and Production, not {target.name}"
            )
        return self._moves.move_version(validate_model_name(name), version=version, target=target, reason=reason,
                                        override=override, privileged=privileged,
                                        archive_existing_versions=archive_existing_versions, actor=actor)[1]

    def promote(
        self, name: str, *, version: int | str, alias: str | None = None, stage: str | None = None,
        reason: str | None = None, override: bool = False, archive_existing_versions: bool = True,
        actor: str = "", privileged: bool = False,
    ) -> GateDecision:
        """Move ``version`` to the alias or stage if its gate passes; GateFailed otherwise.

        ``override=True`` forces a failing gate for a ``privileged`` caller with a ``reason``;
        the event records the failing evidence. Promoting the version that already holds the
        target succeeds without recording a second move (``decision.changed`` is False).
        For stages, other versions in that stage are archived unless told otherwise.
        """
        target = gate_target(alias, stage)
        if target.kind == "stage" and target.name in UNGUARDED_STAGES:
            archive_existing_versions = False
        return self._moves.move(validate_model_name(name), version=version, target=target, reason=reason,
                                override=override, privileged=privileged,
                                archive_existing_versions=archive_existing_versions, actor=actor)

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names; its files are at ``.storage_location``."""
        ref = parse_model_uri(uri)
        if ref.alias is not None:
            return self.get_model_version_by_alias(ref.name, ref.alias)
        if ref.version is not None:
            return self.get_model_version(ref.name, ref.version)
        found = self._rows.latest_version(validate_model_name(ref.name),
                                          stage=ref.stage.value if ref.stage is not None else None)
        if found is None:
            where = f"in stage {ref.stage.value}" if ref.stage is not None else "at all"
            raise NotFound(f"Registered model {ref.name!r} has no version {where} ({uri})")
        return found
