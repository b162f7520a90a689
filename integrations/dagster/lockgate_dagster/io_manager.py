"""``LockgateModelIOManager``: an asset that returns a model gets a registered model version.

```python
@dg.asset(io_manager_key="model_io")
def churn_model(...) -> RandomForestClassifier: ...          # -> version N of "churn_model"

@dg.asset(ins={"churn_model": dg.AssetIn(metadata={"lockgate/alias": "champion"})})
def scores(churn_model): churn_model.predict(...)              # a pyfunc model, loaded by alias
```

``handle_output`` logs the model (with its flavor) into the Lockgate run the asset used (the
one ``LockgateResource.start_run`` opened, else a run of its own), registers it as a version
of the model named after the asset key, tags the version with its Dagster lineage, and puts
the model URI, version, run and key metrics on the materialization. ``load_input`` loads
the version the upstream materialization produced, or the version or alias the input asks for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import dagster as dg
from lockgate.errors import InvalidArgument, LockgateError, NotFound
from pydantic import Field

from lockgate_dagster import _handoff
from lockgate_dagster._compat import dagster_run_id, latest_materialization_metadata
from lockgate_dagster.connection import LockgateConnection, unreachable_as_error
from lockgate_dagster.flavors import detect_flavor
from lockgate_dagster.resource import find_step_run
from lockgate_dagster.tags import TAG_PREFIX, materialization_key, sanitize_tag_value

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.entities import Run
    from lockgate.registry.entities import ModelVersion

__all__ = [
    "ALIAS_METADATA",
    "MODEL_NAME_METADATA",
    "VERSION_METADATA",
    "LockgateModelIOManager",
    "model_name_for",
]

#: Asset metadata key naming the registered model (default: the asset key joined with ".").
MODEL_NAME_METADATA = "lockgate/model_name"
#: Input metadata asking for a version number, or "latest".
VERSION_METADATA = "lockgate/version"
#: Input metadata asking for the version an alias points at.
ALIAS_METADATA = "lockgate/alias"
_MAX_METRICS = 20


def model_name_for(asset_key: dg.AssetKey, *, configured: str | None = None,
                   metadata: Any = None) -> str:
    """The registered model an asset's versions go to: asset metadata, IO manager config, asset key."""
    from_metadata = (metadata or {}).get(MODEL_NAME_METADATA)
    if from_metadata is not None:
        return str(getattr(from_metadata, "value", from_metadata))
    if configured:
        return configured
    # '/' would make models:/ URIs ambiguous, so key parts are joined with '.'.
    return ".".join(asset_key.path)


class LockgateModelIOManager(dg.ConfigurableIOManager, LockgateConnection):
    """Stores model outputs as registered model versions; loads them back through pyfunc."""

    model_name: str | None = Field(
        default=None,
        description=(
            "Registered model for every asset this IO manager stores. Unset: the asset's "
            "'lockgate/model_name' metadata, else its key joined with '.' (churn_model, ml.churn)."
        ),
    )
    artifact_path: str = Field(
        default="model", description="Path of the model under its run's artifacts."
    )
    experiment: str | None = Field(
        default=None,
        description=(
            "Experiment for runs this IO manager starts itself (when the asset did not open one "
            "with LockgateResource.start_run). Unset: the Default experiment."
        ),
    )
    metadata_metrics: list[str] | None = Field(
        default=None,
        description=(
            "Run metrics copied onto the materialization. Unset: all of them (at most 20, by name)."
        ),
    )

    # ----------------------------------------------------------------- output
    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if not context.has_asset_key:
            raise InvalidArgument(
                f"LockgateModelIOManager stores asset outputs; output {context.name!r} of op "
                f"{context.step_key!r} is not an asset."
            )
        asset = context.asset_key.to_user_string()
        flavor = detect_flavor(obj, asset=asset)
        name = model_name_for(context.asset_key, configured=self.model_name,
                              metadata=context.definition_metadata)
        uri = self.resolved_tracking_uri()
        client = self.get_client()
        dagster_run = dagster_run_id(context)
        partition = context.partition_key if context.has_partition_key else None
        with unreachable_as_error(uri):
            run, owned = self._run_for(client, context, asset, dagster_run, partition)
            try:
                source = self._log(client, run, obj, flavor)
                version = self._register(client, name, run=run, source=source, context=context,
                                         asset=asset, partition=partition)
            except BaseException:
                if owned:
                    client.set_terminated(run.info.run_id, "FAILED")
                raise
            if owned:
                client.set_terminated(run.info.run_id, "FINISHED")
        # The asset body has finished, so the run fetched above already holds its metrics.
        meta = self._metadata(uri, name, version, run, flavor.name, run.data.metrics)
        if partition is not None:
            meta["lockgate/partition_key"] = partition
        context.add_output_metadata(meta)
        context.log.info(f"Registered {asset} as version {version.version} of model {name!r}")

    def _run_for(
        self, client: LockgateClient, context: dg.OutputContext, asset: str, dagster_run: str,
        partition: str | None,
    ) -> tuple[Run, bool]:
        """The run the asset body used (and False), or a new tagged run this call owns (and True)."""
        step_run = _handoff.lookup(dagster_run, asset, partition)
        if step_run is not None and step_run.tracking_uri == self.resolved_tracking_uri():
            return client.get_run(step_run.run_id), False
        experiment_id = self._experiment_id(client)
        key = materialization_key(dagster_run, asset, partition)
        found = find_step_run(client, experiment_id, key)
        if found is not None:
            return found, False
        tags = {
            "lockgate.orchestrator": "dagster",
            TAG_PREFIX + "run_id": dagster_run,
            TAG_PREFIX + "asset_key": sanitize_tag_value(asset),
            TAG_PREFIX + "materialization_key": key,
        }
        if context.job_name:
            tags[TAG_PREFIX + "job"] = sanitize_tag_value(context.job_name)
        if partition is not None:
            tags[TAG_PREFIX + "partition_key"] = sanitize_tag_value(partition)
        run_name = sanitize_tag_value(asset if partition is None else f"{asset} [{partition}]", max_length=250)
        return client.create_run(experiment_id, run_name=run_name, tags=tags), True

    def _experiment_id(self, client: LockgateClient) -> str:
        if not self.experiment:
            return "0"
        return client.get_or_create_experiment(self.experiment).experiment_id

    def _log(self, client: LockgateClient, run: Run, obj: Any, flavor: Any) -> str:
        """Write the model into the run's artifacts; the artifact URI of the model directory."""
        if flavor.save is None:  # a ModelInfo: the asset logged the model itself
            model_uri = str(obj.model_uri)
            prefix = f"runs:/{obj.run_id}/"
            if not model_uri.startswith(prefix):
                raise InvalidArgument(f"Cannot register model {model_uri!r}: expected a runs:/ URI.")
            logged_run = client.get_run(str(obj.run_id))
            return client.artifact_repository(logged_run.info.artifact_uri).uri_for(model_uri[len(prefix):])
        from lockgate.models.logged import log_saved_model

        log_saved_model(flavor.save, name=self.artifact_path, run_id=run.info.run_id, client=client)
        return client.artifact_repository(run.info.artifact_uri).uri_for(self.artifact_path)

    def _register(
        self, client: LockgateClient, name: str, *, run: Run, source: str, context: dg.OutputContext,
        asset: str, partition: str | None,
    ) -> ModelVersion:
        tags = {k: v for k, v in run.data.tags.items() if k.startswith(TAG_PREFIX)}
        tags.setdefault(TAG_PREFIX + "run_id", dagster_run_id(context))
        tags.setdefault(TAG_PREFIX + "asset_key", sanitize_tag_value(asset))
        if partition is not None:
            tags.setdefault(TAG_PREFIX + "partition_key", sanitize_tag_value(partition))
        tags.pop(TAG_PREFIX + "retry_number", None)
        # The step's materialization (root run, asset, partition): a re-executed step gets back
        # the version it already made, a new Dagster run makes a new one.
        step = run.data.tags.get(TAG_PREFIX + "materialization_key")
        return client.register_model(
            name, source=source, run_id=run.info.run_id, tags=tags,
            run_link=_run_link(self.resolved_tracking_uri(), run),
            model_description=f"Model asset {asset} (registered by Dagster)",
            idempotency_key=f"dagster:{step}" if step else None,
        )

    def _metadata(
        self, uri: str, name: str, version: ModelVersion, run: Run, flavor: str, metrics: dict[str, float],
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "lockgate/model_name": name,
            "lockgate/version": dg.MetadataValue.int(int(version.version)),
            "lockgate/model_uri": f"models:/{name}/{version.version}",
            "lockgate/source": version.source,
            "lockgate/flavor": flavor,
            "lockgate/run_id": run.info.run_id,
            "lockgate/experiment_id": run.info.experiment_id,
        }
        link = _run_link(uri, run)
        meta["lockgate/run_link"] = dg.MetadataValue.url(link) if link else dg.MetadataValue.text(
            f"runs:/{run.info.run_id} in {uri}"
        )
        wanted = self.metadata_metrics if self.metadata_metrics is not None else sorted(metrics)[:_MAX_METRICS]
        for key in wanted:
            value = metrics.get(key)
            if value is not None and not math.isnan(value):
                meta[f"lockgate/metric/{key}"] = dg.MetadataValue.float(float(value))
        return meta

    # ------------------------------------------------------------------ input
    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        if upstream is None or not upstream.has_asset_key:
            raise InvalidArgument(
                f"LockgateModelIOManager loads models of upstream assets; input {context.name!r} has none."
            )
        key = upstream.asset_key
        name = model_name_for(key, configured=self.model_name, metadata=upstream.definition_metadata)
        wanted = dict(context.definition_metadata or {})
        alias = _raw(wanted.get(ALIAS_METADATA))
        version = _raw(wanted.get(VERSION_METADATA))
        if alias is not None and version is not None:
            raise InvalidArgument(
                f"Input {context.name!r} asks for both alias {alias!r} and version {version!r}; pick one."
            )
        uri = self.resolved_tracking_uri()
        client = self.get_client()
        asker = f"{context.op_def.name}.{context.name}" if context.op_def is not None else str(context.name)
        with unreachable_as_error(uri):
            model_version = self._resolve(client, context, key, name, alias=alias, version=version, asker=asker)
            from lockgate.models import pyfunc

            model = pyfunc.load_model(model_version.storage_location or model_version.source, client=client)
        context.add_input_metadata({
            "lockgate/model_uri": f"models:/{name}/{model_version.version}",
            "lockgate/version": dg.MetadataValue.int(int(model_version.version)),
        })
        return model

    def _resolve(
        self, client: LockgateClient, context: dg.InputContext, key: dg.AssetKey, name: str, *,
        alias: Any, version: Any, asker: str,
    ) -> ModelVersion:
        what = (f"alias {alias!r}" if alias is not None else
                f"version {version!r}" if version is not None else "the materialized version")
        try:
            if alias is not None:
                return client.get_model_version_by_alias(name, str(alias))
            if version is not None and str(version).lower() != "latest":
                return client.get_model_version(name, version)
            if version is None:
                # A partitioned input loads the version its own partition's materialization made.
                partition = context.asset_partition_key if context.has_asset_partitions else None
                produced = latest_materialization_metadata(
                    context.instance, key, partition=partition
                ).get(VERSION_METADATA)
                if produced is not None:
                    return client.get_model_version(name, int(produced))
            from lockgate.search import quote_string

            latest = client.search_model_versions(
                filter_string=f"name = {quote_string(name)}", order_by=["version_number DESC"], max_results=1
            )
            if not latest:
                raise NotFound(f"Registered model {name!r} has no versions.")
            return latest[0]
        except LockgateError as exc:
            raise type(exc)(
                f"Input {asker!r} asked for {what} of model {name!r} (from asset "
                f"{key.to_user_string()!r}), which cannot be loaded: {exc.message}"
            ) from exc


def _raw(value: Any) -> Any:
    return getattr(value, "value", value)


def _run_link(uri: str, run: Run) -> str | None:
    """The run's page in the Lockgate web UI (``<server>/runs/<run_id>``) when tracking goes to a server."""
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/runs/{run.info.run_id}"
    return None
