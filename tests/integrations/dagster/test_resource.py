"""LockgateResource on real Dagster: runs tagged with Dagster lineage, retries, bad input."""


import json

import dagster as dg
import pytest
from lockgate import LockgateClient
from lockgate.errors import InvalidArgument, ServiceUnavailable
from lockgate_dagster import LockgateResource, sanitize_tag_value
from lockgate_dagster.tags import MAX_VALUE_LENGTH


def _runs(client: LockgateClient, experiment: str = "0") -> list:
    return list(client.search_runs([experiment], max_results=100))


def test_start_run_tags_run_with_dagster_lineage_on_default_sqlite(instance: dg.DagsterInstance) -> None:
    @dg.asset
    def features() -> int:
        return 3

    @dg.asset(code_version="v7")
    def churn_model(context: dg.AssetExecutionContext, lockgate: LockgateResource, features: int) -> int:
        with lockgate.start_run(context) as run:
            lockgate.log_metric("val_auc", 0.91)
            lockgate.log_param("depth", features)
            context.log.info("run %s", run.info.run_id)
        return features * 2

    first = dg.materialize([features, churn_model], resources={"lockgate": LockgateResource()}, instance=instance)
    assert first.success
    client = LockgateClient()  # the embedded SQLite default in LOCKGATE_HOME
    (run,) = _runs(client)
    tags = run.data.tags
    assert tags["lockgate.orchestrator"] == "dagster"
    assert tags["lockgate.dagster.run_id"] == first.run_id
    assert tags["lockgate.dagster.job"] == "__ephemeral_asset_job__"
    assert tags["lockgate.dagster.asset_key"] == "churn_model"
    assert tags["lockgate.dagster.code_version"] == "v7"
    assert tags["lockgate.dagster.retry_number"] == "0"
    upstream = json.loads(tags["lockgate.dagster.upstream_data_versions"])
    assert set(upstream) == {"features"} and upstream["features"]
    assert "lockgate.dagster.partition_key" not in tags
    assert run.info.run_name == "churn_model"
    assert run.info.status.value == "FINISHED"
    assert run.data.metrics == {"val_auc": 0.91}
    assert run.data.params == {"depth": "3"}


def test_upstream_data_version_tag_matches_dagster(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    @dg.asset
    def raw() -> dg.Output[int]:
        return dg.Output(1, data_version=dg.DataVersion("raw-v42"))

    @dg.asset
    def trained(context: dg.AssetExecutionContext, lockgate: LockgateResource, raw: int) -> int:
        with lockgate.start_run(context):
            pass
        return raw

    res = dg.materialize([raw, trained], resources={"lockgate": LockgateResource(tracking_uri=sqlite_uri,
                                                                                 experiment="dg")},
                         instance=instance)
    assert res.success
    client = LockgateClient(sqlite_uri)
    (run,) = _runs(client, "dg")
    assert json.loads(run.data.tags["lockgate.dagster.upstream_data_versions"]) == {"raw": "raw-v42"}


def test_failing_asset_marks_run_failed(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    @dg.asset
    def broken(context: dg.AssetExecutionContext, lockgate: LockgateResource) -> int:
        with lockgate.start_run(context):
            lockgate.log_metric("loss", 1.5)
            raise RuntimeError("training diverged")

    res = dg.materialize([broken], resources={"lockgate": LockgateResource(tracking_uri=sqlite_uri)},
                         instance=instance, raise_on_error=False)
    assert not res.success
    (run,) = _runs(LockgateClient(sqlite_uri))
    assert run.info.status.value == "FAILED"
    assert run.data.metrics == {"loss": 1.5}


def test_partition_key_with_invalid_tag_characters(instance: dg.DagsterInstance, store_uri: str) -> None:
    # Dagster accepts these keys; a tag value cannot be longer than 8000 characters, and raw
    # escape/control characters would garble every table and log that shows the tag.
    emoji = "eu-\U0001f680-é"
    control = "batch\x1b[31m\x01|2024\x7f"
    long_key = "k" * 9000
    parts = dg.StaticPartitionsDefinition([emoji, control, long_key, "plain/../ok"])

    @dg.asset(partitions_def=parts)
    def per_region(context: dg.AssetExecutionContext, lockgate: LockgateResource) -> None:
        with lockgate.start_run(context):
            lockgate.log_metric("rows", 10)

    resource = LockgateResource(tracking_uri=store_uri)
    for key in (emoji, control, long_key, "plain/../ok"):
        assert dg.materialize([per_region], partition_key=key, resources={"lockgate": resource},
                              instance=instance).success
    by_key = {}
    for run in _runs(LockgateClient(store_uri)):
        by_key[run.data.tags["lockgate.dagster.partition_key"]] = run
        assert run.info.status.value == "FINISHED"
    assert set(by_key) == {
        emoji, "batch\\x1b[31m\\x01|2024\\x7f", sanitize_tag_value(long_key), "plain/../ok",
    }
    capped = sanitize_tag_value(long_key)
    assert len(capped) == MAX_VALUE_LENGTH and capped.startswith("kkk")
    # the exact key stays identifiable where sanitising changed it
    assert "lockgate.dagster.partition_key_sha256" in by_key[capped].data.tags
    assert "lockgate.dagster.partition_key_sha256" not in by_key[emoji].data.tags
    assert "lockgate.dagster.partition_key_sha256" not in by_key["plain/../ok"].data.tags
    assert by_key["plain/../ok"].info.run_name == "per_region [plain/../ok]"


def test_retry_resumes_the_same_run(instance: dg.DagsterInstance, sqlite_uri: str) -> None:
    attempts: list[int] = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def flaky(context: dg.AssetExecutionContext, lockgate: LockgateResource) -> int:
        attempts.append(context.retry_number)
        with lockgate.start_run(context):
            lockgate.log_metric("attempt", context.retry_number, step=context.retry_number)
            if context.retry_number == 0:
                raise RuntimeError("transient failure")
        return 1

    res = dg.materialize([flaky], resources={"lockgate": LockgateResource(tracking_uri=sqlite_uri)},
                         instance=instance)
    assert res.success and attempts == [0, 1]
    (run,) = _runs(LockgateClient(sqlite_uri))
    assert run.info.status.value == "FINISHED"
    assert run.data.tags["lockgate.dagster.retry_number"] == "1"
    history = LockgateClient(sqlite_uri).get_metric_history(run.info.run_id, "attempt")
    assert [(m.step, m.value) for m in history] == [(0, 0.0), (1, 1.0)]


def test_token_comes_from_env_var(monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> None:
    monkeypatch.setenv("LOCKGATE_TEST_TOKEN", "s3cret")
    resource = LockgateResource(tracking_uri=sqlite_uri, token=dg.EnvVar("LOCKGATE_TEST_TOKEN"))

    @dg.asset
    def uses_token(lockgate: LockgateResource) -> str:
        return lockgate.token or ""

    res = dg.materialize([uses_token], resources={"lockgate": resource})
    assert res.output_for_node("uses_token") == "s3cret"
    fields = LockgateResource.model_fields
    assert all(fields[name].description for name in ("tracking_uri", "token", "experiment"))


def test_resource_fields_become_the_cores_connection_settings(sqlite_uri: str) -> None:
    resource = LockgateResource(tracking_uri=sqlite_uri, token="typed-in")
    settings = resource.connection_settings()
    assert settings.resolved_tracking_uri() == sqlite_uri
    assert settings.token_value() == "typed-in"
    assert "typed-in" not in repr(settings)  # a SecretStr in the core's settings
    client = resource.get_client()
    assert client is resource.get_client()  # one client per store and token in the process
    assert client is not LockgateResource(tracking_uri=sqlite_uri, token="other").get_client()
    assert LockgateResource().resolved_tracking_uri().startswith("sqlite:///")


def test_logging_outside_a_run_is_a_clear_error(sqlite_uri: str) -> None:
    with pytest.raises(InvalidArgument, match="start_run"):
        LockgateResource(tracking_uri=sqlite_uri).log_metric("x", 1.0)


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:9/", "postgresql+psycopg://postgres@127.0.0.1:9/nothing"],
    ids=["server", "postgres"],
)
def test_unreachable_store_fails_the_step_with_a_clear_error(instance: dg.DagsterInstance, uri: str) -> None:
    @dg.asset
    def tracked(context: dg.AssetExecutionContext, lockgate: LockgateResource) -> int:
        with lockgate.start_run(context):
            return 1

    res = dg.materialize([tracked], resources={"lockgate": LockgateResource(tracking_uri=uri)},
                         instance=instance, raise_on_error=False)
    assert not res.success
    (failure,) = [e for e in res.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    cause = error.cause
    assert cause is not None and cause.cls_name == "ServiceUnavailable"
    assert "127.0.0.1:9" in cause.message and "reach" in cause.message.lower()
    with pytest.raises(ServiceUnavailable, match="(?i)reach"):
        LockgateResource(tracking_uri=uri, experiment="x").experiment_id()


def test_sanitize_tag_value_cases() -> None:
    assert sanitize_tag_value("eu-\ud800-west") == "eu-\ufffd-west"  # lone surrogate: not UTF-8 encodable
    assert sanitize_tag_value("a\x00b\nc") == "a\\x00b\\x0ac"
    assert sanitize_tag_value("naïve 🚀/x") == "naïve 🚀/x"
    a, b = sanitize_tag_value("x" * 600 + "a"), sanitize_tag_value("x" * 600 + "b")
    assert a != b and len(a) == len(b) == MAX_VALUE_LENGTH
