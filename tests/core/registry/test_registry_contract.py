"""Registry contract: models, versions, tags, search, aliases, stages and URIs, the same tests
on every backend (SqlRegistry on SQLite and PostgreSQL, RestRegistry through a live server)."""

from __future__ import annotations

import pytest
from lockgate.errors import AlreadyExists, InvalidArgument, NotFound
from lockgate.registry import EventType, ModelVersionStage
from registry_support import MakeRun, RegistryClient


@pytest.fixture
def client(registry_backend: str) -> RegistryClient:
    """A client on each registry backend (overrides the SQL-only one of conftest)."""
    return RegistryClient(registry_backend, user="alice")

# ---------------------------------------------------------- registered models


def test_create_get_update_rename_delete_model(client: RegistryClient) -> None:
    created = client.create_registered_model("churn", description="Monthly churn", tags={"team": "risk"})
    assert (created.name, created.description, created.tags) == ("churn", "Monthly churn", {"team": "risk"})
    got = client.get_registered_model("churn")
    assert (got.name, got.description, got.tags, got.aliases, got.latest_versions) == (
        "churn", "Monthly churn", {"team": "risk"}, {}, [])
    assert got.creation_timestamp > 0
    updated = client.update_registered_model("churn", description="Weekly churn")
    assert updated.description == "Weekly churn"
    assert updated.last_updated_timestamp >= got.last_updated_timestamp
    client.set_registered_model_tag("churn", "owner", "ana")
    client.set_registered_model_tag("churn", "owner", "bo")
    client.delete_registered_model_tag("churn", "team")
    assert client.get_registered_model("churn").tags == {"owner": "bo"}
    # As in MLflow, deleting a tag that is not set changes nothing and records nothing.
    n_events = len(client.get_events(model_name="churn"))
    client.delete_registered_model_tag("churn", "team")
    assert client.get_registered_model("churn").tags == {"owner": "bo"}
    assert len(client.get_events(model_name="churn")) == n_events
    # Setting a tag to the value it has (a retried step) records nothing.
    n_events = len(client.get_events(model_name="churn"))
    client.set_registered_model_tag("churn", "owner", "bo")
    assert len(client.get_events(model_name="churn")) == n_events

    client.create_model_version("churn", source="s3://bucket/churn/1")
    renamed = client.rename_registered_model("churn", "churn-v2")
    assert renamed.name == "churn-v2"
    assert client.get_model_version("churn-v2", 1).name == "churn-v2"
    with pytest.raises(NotFound, match="'churn'"):
        client.get_registered_model("churn")

    client.delete_registered_model("churn-v2")
    with pytest.raises(NotFound):
        client.get_registered_model("churn-v2")
    with pytest.raises(NotFound):
        client.get_model_version("churn-v2", 1)
    # The audit trail outlives the model.
    types = [e.type for e in client.get_events(model_name="churn-v2")]
    assert types[0] is EventType.MODEL_CREATED and types[-1] is EventType.MODEL_DELETED
    assert EventType.MODEL_RENAMED in types
    # The name is free again.
    assert client.create_registered_model("churn-v2").name == "churn-v2"


def test_duplicate_and_unknown_models(client: RegistryClient) -> None:
    client.create_registered_model("churn", description="first")
    with pytest.raises(AlreadyExists, match="'churn' already exists"):
        client.create_registered_model("churn")
    again = client.create_registered_model("churn", description="second", exist_ok=True)
    assert again.description == "first"
    assert [e.type for e in client.get_events(model_name="churn")] == [EventType.MODEL_CREATED]
    client.create_registered_model("other")
    with pytest.raises(AlreadyExists, match="'other'"):
        client.rename_registered_model("churn", "other")
    for call in (
        lambda: client.get_registered_model("nope"),
        lambda: client.update_registered_model("nope", description="x"),
        lambda: client.delete_registered_model("nope"),
        lambda: client.set_registered_model_tag("nope", "k", "v"),
        lambda: client.create_model_version("nope", source="file:///m"),
        lambda: client.get_model_version("nope", 1),
        lambda: client.get_model_version_by_alias("nope", "champion"),
    ):
        with pytest.raises(NotFound, match="'nope' not found"):
            call()


@pytest.mark.parametrize("bad", ["", "  ", " lead", "a/b", "a@b", "models:x", "x" * 257, None, 3])
def test_invalid_model_names(client: RegistryClient, bad: object) -> None:
    with pytest.raises(InvalidArgument, match="registered model name"):
        client.create_registered_model(bad)  # type: ignore[arg-type]


def test_invalid_tags(client: RegistryClient) -> None:
    with pytest.raises(InvalidArgument, match="tag key"):
        client.create_registered_model("m", tags={"": "x"})
    client.create_registered_model("m")
    # MLflow's limits: values up to 100,000 characters, keys by the run-tag key rules.
    with pytest.raises(InvalidArgument, match="100000"):
        client.set_registered_model_tag("m", "big", "x" * 100_001)
    with pytest.raises(InvalidArgument, match="tag name"):
        client.set_registered_model_tag("m", "a/../b", "x")
    with pytest.raises(InvalidArgument, match="tag name"):
        client.set_registered_model_tag("m", "semi;colon", "x")
    assert client.get_registered_model("m").tags == {}
    client.set_registered_model_tag("m", "big", "x" * 100_000)
    assert client.get_registered_model("m").tags == {"big": "x" * 100_000}
    version = client.create_model_version("m", source="s3://bucket/model")
    client.set_model_version_tag("m", version.version, "notes", "y" * 100_000)
    assert client.get_model_version("m", version.version).tags == {"notes": "y" * 100_000}


def test_search_registered_models_filter_order_and_pages(client: RegistryClient) -> None:
    for i, (name, team) in enumerate([("churn", "risk"), ("Churn-EU", "risk"), ("fraud", "sec"),
                                      ("ltv", "growth"), ("churn_us", "growth")]):
        client.create_registered_model(name, tags={"team": team, "idx": str(i)})
    names = lambda models: [m.name for m in models]
    assert names(client.search_registered_models()) == ["Churn-EU", "churn", "churn_us", "fraud", "ltv"]
    assert names(client.search_registered_models("name = 'fraud'")) == ["fraud"]
    # LIKE is case-sensitive on both backends, ILIKE is not.
    assert names(client.search_registered_models("name LIKE 'churn%'")) == ["churn", "churn_us"]
    assert names(client.search_registered_models("name ILIKE 'churn%'")) == ["Churn-EU", "churn", "churn_us"]
    assert names(client.search_registered_models("tags.team = 'risk'")) == ["Churn-EU", "churn"]
    assert names(client.search_registered_models("tags.`team` = 'growth' AND name LIKE '%_us'")) == ["churn_us"]
    assert names(client.search_registered_models("tags.team != 'risk'")) == ["churn_us", "fraud", "ltv"]
    assert names(client.search_registered_models(order_by=["name DESC"])) == [
        "ltv", "fraud", "churn_us", "churn", "Churn-EU"]
    assert names(client.search_registered_models(order_by=["creation_timestamp ASC"]))[0] == "churn"

    page1 = client.search_registered_models(max_results=2)
    assert names(page1) == ["Churn-EU", "churn"] and page1.token
    page2 = client.search_registered_models(max_results=2, page_token=page1.token)
    assert names(page2) == ["churn_us", "fraud"] and page2.token
    page3 = client.search_registered_models(max_results=2, page_token=page2.token)
    assert names(page3) == ["ltv"] and page3.token is None


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("name = ", "expected a quoted string"),
        ("owner = 'x'", "unknown attribute 'owner'"),
        ("name > 'x'", "operator > is not supported"),
        ("name = 'a' OR name = 'b'", "OR is not supported"),
        ("name = fraud", "expected a quoted string"),
        ("name = 'a' AND", "expected a clause after AND"),
    ],
)
def test_search_bad_filters(client: RegistryClient, filter_string: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        client.search_registered_models(filter_string)


def test_search_bad_paging(client: RegistryClient) -> None:
    with pytest.raises(InvalidArgument, match="max_results"):
        client.search_registered_models(max_results=0)
    with pytest.raises(InvalidArgument, match="page token"):
        client.search_registered_models(page_token="garbage!")
    with pytest.raises(InvalidArgument, match="order_by"):
        client.search_registered_models(order_by=["size DESC"])


# ------------------------------------------------------------- model versions


def test_create_version_from_run_and_uri(client: RegistryClient, make_run: MakeRun) -> None:
    run_id = make_run({"val_auc": 0.9}, {"lockgate.source.git.commit": "abc123"})
    client.log_input(run_id, name="churn-train", digest="d1g3st", source="s3://data/train.parquet",
                     context="training")
    client.create_registered_model("churn")
    v1 = client.create_model_version("churn", source=f"runs:/{run_id}/model", tags={"k": "v"},
                                     description="first", run_link="http://ci/1")
    run = client.get_run(run_id)
    assert (v1.version, v1.run_id, v1.status.value, v1.current_stage, v1.user_id) == (
        1, run_id, "READY", "None", "alice")
    assert v1.storage_location == run.info.artifact_uri.rstrip("/") + "/model"
    assert v1.experiment_id == run.info.experiment_id
    v2 = client.create_model_version("churn", source="s3://bucket/churn/model")
    assert (v2.version, v2.run_id, v2.storage_location) == (2, None, "s3://bucket/churn/model")
    got = client.get_model_version("churn", "1")
    assert (got.tags, got.description, got.run_link, got.source) == (
        {"k": "v"}, "first", "http://ci/1", f"runs:/{run_id}/model")
    assert client.get_model_version_download_uri("churn", 1) == v1.storage_location

    lineage = client.get_model_version_lineage("churn", 1)
    assert (lineage.run_id, lineage.experiment_id, lineage.source_commit, lineage.run_status) == (
        run_id, run.info.experiment_id, "abc123", "FINISHED")
    assert [(d["name"], d["digest"], d["source"], d["context"]) for d in lineage.datasets] == [
        ("churn-train", "d1g3st", "s3://data/train.parquet", "training")]

    updated = client.update_model_version("churn", 1, description="retrained")
    assert updated.description == "retrained"
    client.set_model_version_tag("churn", 1, "k", "w")
    n_events = len(client.get_events(model_name="churn"))
    client.set_model_version_tag("churn", 1, "k", "w")
    assert len(client.get_events(model_name="churn")) == n_events
    client.delete_model_version_tag("churn", 1, "k")
    assert client.get_model_version("churn", 1).tags == {}
    client.delete_model_version_tag("churn", 1, "k")  # not set: ignored, as in MLflow
    assert client.get_model_version("churn", 1).tags == {}
    with pytest.raises(NotFound):
        client.delete_model_version_tag("churn", 99, "k")
    model = client.get_registered_model("churn")
    assert [(v.version, v.current_stage) for v in model.latest_versions] == [(2, "None")]


def test_create_version_always_makes_a_new_version_as_mlflow_does(client: RegistryClient, make_run: MakeRun) -> None:
    run_id = make_run({"val_auc": 0.9})
    client.create_registered_model("churn")
    first = client.create_model_version("churn", source=f"runs:/{run_id}/model", run_id=run_id)
    again = client.create_model_version("churn", source=f"runs:/{run_id}/model", run_id=run_id)
    assert (first.version, again.version) == (1, 2)
    assert again.source == first.source and again.idempotency_key is None
    plain = client.create_model_version("churn", source="s3://b/m")
    assert client.create_model_version("churn", source="s3://b/m").version == plain.version + 1 == 4
    created = [e for e in client.get_events(model_name="churn", types=["VERSION_CREATED"])]
    assert [e.version for e in created] == [1, 2, 3, 4]


def test_idempotency_key_makes_a_retry_return_its_version(client: RegistryClient, make_run: MakeRun) -> None:
    run_id = make_run({"val_auc": 0.9})
    client.create_registered_model("churn")
    source = f"runs:/{run_id}/model"
    first = client.create_model_version("churn", source=source, idempotency_key="dag-7/train/0")
    retry = client.create_model_version("churn", source=source, idempotency_key="dag-7/train/0")
    assert (first.version, retry.version) == (1, 1)
    assert client.get_model_version("churn", 1).idempotency_key == "dag-7/train/0"
    next_run = client.create_model_version("churn", source=source, idempotency_key="dag-8/train/0")
    assert next_run.version == 2
    with pytest.raises(InvalidArgument, match="already made version 1 of 'churn' from"):
        client.create_model_version("churn", source="s3://b/else", idempotency_key="dag-7/train/0")
    client.create_registered_model("other")  # keys are unique per model, not globally
    assert client.create_model_version("other", source="s3://b/o", idempotency_key="dag-7/train/0").version == 1
    client.delete_model_version("churn", 1)
    with pytest.raises(InvalidArgument, match="made version 1 of 'churn', which was deleted"):
        client.create_model_version("churn", source=source, idempotency_key="dag-7/train/0")
    for bad in ("", " ", "x" * 256, "tab\there"):
        with pytest.raises(InvalidArgument, match="idempotency_key"):
            client.create_model_version("churn", source=source, idempotency_key=bad)
    created = [e.version for e in client.get_events(model_name="churn", types=["VERSION_CREATED"])]
    assert created == [1, 2]


def test_version_bad_input(client: RegistryClient, make_run: MakeRun) -> None:
    client.create_registered_model("churn")
    run_id = make_run()
    with pytest.raises(InvalidArgument, match="source"):
        client.create_model_version("churn", source="")
    with pytest.raises(InvalidArgument, match="the limit is 1000"):
        client.create_model_version("churn", source="s3://b/" + "x" * 1000)
    with pytest.raises(InvalidArgument, match="belongs to run"):
        client.create_model_version("churn", source=f"runs:/{run_id}/model", run_id="0" * 32)
    with pytest.raises(NotFound):
        client.create_model_version("churn", source="s3://b/m", run_id="f" * 32)
    client.create_model_version("churn", source="s3://b/m")
    for bad in ("one", 0, -1, "1.5", True):
        with pytest.raises(InvalidArgument, match="model version"):
            client.get_model_version("churn", bad)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="version 7 of 'churn' not found"):
        client.get_model_version("churn", 7)


def test_delete_version_keeps_numbers_and_drops_aliases(client: RegistryClient) -> None:
    client.create_registered_model("churn")
    for i in range(3):
        client.create_model_version("churn", source=f"s3://b/{i}")
    client.set_registered_model_alias("churn", "champion", 3)
    client.delete_model_version("churn", 3)
    with pytest.raises(NotFound, match="version 3 of 'churn' was deleted"):
        client.get_model_version("churn", 3)
    with pytest.raises(NotFound, match="no alias 'champion'"):
        client.get_model_version_by_alias("churn", "champion")
    with pytest.raises(NotFound, match="was deleted"):
        client.delete_model_version("churn", 3)
    assert client.create_model_version("churn", source="s3://b/new").version == 4
    assert [v.version for v in client.search_model_versions("name = 'churn'")] == [4, 2, 1]
    types = [e.type for e in client.get_events(model_name="churn")][-3:]
    assert types == [EventType.ALIAS_DELETED, EventType.VERSION_DELETED, EventType.VERSION_CREATED]


def test_search_model_versions(client: RegistryClient, make_run: MakeRun) -> None:
    runs = [make_run() for _ in range(2)]
    client.create_registered_model("churn")
    client.create_registered_model("fraud")
    client.create_model_version("churn", source=f"runs:/{runs[0]}/m", tags={"flavor": "sklearn"})
    client.create_model_version("churn", source=f"runs:/{runs[1]}/m", tags={"flavor": "torch"})
    client.create_model_version("churn", source="s3://b/churn")
    client.create_model_version("fraud", source=f"runs:/{runs[0]}/fraud")
    client.transition_model_version_stage("churn", 2, "Staging")
    key = lambda vs: [(v.name, v.version) for v in vs]
    assert key(client.search_model_versions()) == [("churn", 3), ("churn", 2), ("churn", 1), ("fraud", 1)]
    assert key(client.search_model_versions(f"run_id = '{runs[0]}'")) == [("churn", 1), ("fraud", 1)]
    assert key(client.search_model_versions(f"run_id IN ('{runs[1]}', 'x')")) == [("churn", 2)]
    assert key(client.search_model_versions("name = 'churn' AND version_number >= 2")) == [
        ("churn", 3), ("churn", 2)]
    assert key(client.search_model_versions("version_number != 2 AND name='churn'")) == [
        ("churn", 3), ("churn", 1)]
    assert key(client.search_model_versions("tags.flavor = 'torch'")) == [("churn", 2)]
    assert key(client.search_model_versions("source_path LIKE 's3://%'")) == [("churn", 3)]
    assert key(client.search_model_versions("current_stage = 'staging'")) == [("churn", 2)]
    assert key(client.search_model_versions(order_by=["version_number ASC", "name DESC"])) == [
        ("fraud", 1), ("churn", 1), ("churn", 2), ("churn", 3)]
    page = client.search_model_versions(max_results=3)
    assert len(page) == 3 and page.token
    assert key(client.search_model_versions(max_results=3, page_token=page.token)) == [("fraud", 1)]
    assert key(client.search_model_versions("user_id = 'alice' AND tags.flavor LIKE 'sk%'")) == [("churn", 1)]
    with pytest.raises(InvalidArgument, match="expected a number"):
        client.search_model_versions("version_number = 'x'")


# -------------------------------------------------------------------- aliases


@pytest.mark.parametrize("bad", ["latest", "LATEST", "v1", "V12", "", "with space", "a/b", "x" * 256])
def test_invalid_alias_names(client: RegistryClient, bad: str) -> None:
    client.create_registered_model("churn")
    client.create_model_version("churn", source="s3://b/1")
    with pytest.raises(InvalidArgument, match="alias"):
        client.set_registered_model_alias("churn", bad, 1)


def test_alias_set_move_delete(client: RegistryClient) -> None:
    client.create_registered_model("churn")
    for i in range(2):
        client.create_model_version("churn", source=f"s3://b/{i}")
    client.set_registered_model_alias("churn", "champion", 1)
    client.set_registered_model_alias("churn", "challenger", "2")
    assert client.get_model_version_by_alias("churn", "champion").version == 1
    assert client.get_model_version("churn", 1).aliases == ["champion"]
    assert client.get_registered_model("churn").aliases == {"challenger": 2, "champion": 1}
    client.set_registered_model_alias("churn", "champion", 2)
    moved = client.get_model_version("churn", 2)
    assert moved.aliases == ["challenger", "champion"]
    assert client.get_model_version("churn", 1).aliases == []
    client.delete_registered_model_alias("churn", "challenger")
    with pytest.raises(NotFound, match="no alias 'challenger'"):
        client.delete_registered_model_alias("churn", "challenger")
    with pytest.raises(NotFound, match="no alias 'gold'"):
        client.get_model_version_by_alias("churn", "gold")
    with pytest.raises(NotFound, match="version 9"):
        client.set_registered_model_alias("churn", "champion", 9)
    history = client.get_promotion_history("churn", alias="champion")
    assert [(e.type, e.from_version, e.to_version, e.actor) for e in history] == [
        (EventType.ALIAS_SET, None, 1, "alice"), (EventType.ALIAS_SET, 1, 2, "alice")]


# --------------------------------------------------------------------- stages


def test_stage_transitions_and_archive_existing(client: RegistryClient) -> None:
    client.create_registered_model("churn")
    for i in range(3):
        client.create_model_version("churn", source=f"s3://b/{i}")
    assert client.transition_model_version_stage("churn", 1, "production").current_stage == "Production"
    client.transition_model_version_stage("churn", 2, "Production")
    # Without archive_existing_versions, MLflow semantics: both are in Production.
    assert sorted(v.version for v in client.search_model_versions("current_stage = 'Production'")) == [1, 2]
    client.transition_model_version_stage("churn", 3, "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in client.search_model_versions()}
    assert stages == {1: "Archived", 2: "Archived", 3: "Production"}
    assert [v.version for v in client.get_latest_versions("churn", ["Production"])] == [3]
    assert [(v.current_stage, v.version) for v in client.get_latest_versions("churn")] == [
        ("Archived", 2), ("Production", 3)]
    with pytest.raises(InvalidArgument, match="Invalid stage 'Prod'"):
        client.transition_model_version_stage("churn", 1, "Prod")
    with pytest.raises(InvalidArgument, match="only valid for Staging and Production"):
        client.transition_model_version_stage("churn", 1, "Archived", archive_existing_versions=True)
    moves = [e for e in client.get_promotion_history("churn") if e.type is EventType.STAGE_CHANGED]
    assert [(e.version, e.stage) for e in moves][-3:] == [(3, "Production"), (1, "Archived"), (2, "Archived")]
    assert ModelVersionStage.parse("staging") is ModelVersionStage.STAGING


# ----------------------------------------------------------------------- URIs


def test_resolve_model_uris(client: RegistryClient, make_run: MakeRun) -> None:
    run_id = make_run()
    client.create_registered_model("churn")
    v1 = client.create_model_version("churn", source=f"runs:/{run_id}/model")
    client.create_model_version("churn", source="s3://b/2")
    client.create_model_version("churn", source="s3://b/3")
    client.set_registered_model_alias("churn", "champion", 1)
    client.transition_model_version_stage("churn", 2, "Production")
    assert client.resolve_model_uri("models:/churn/1").storage_location == v1.storage_location
    assert client.resolve_model_uri("models:/churn@champion").version == 1
    assert client.resolve_model_uri("models:/churn/Production").version == 2
    assert client.resolve_model_uri("models:/churn/production").storage_location == "s3://b/2"
    assert client.resolve_model_uri("models:/churn/latest").version == 3
    with pytest.raises(NotFound, match="no version in stage Staging"):
        client.resolve_model_uri("models:/churn/Staging")
    with pytest.raises(NotFound, match="no alias 'gold'"):
        client.resolve_model_uri("models:/churn@gold")
    with pytest.raises(NotFound, match="version 8"):
        client.resolve_model_uri("models:/churn/8")
    with pytest.raises(NotFound, match="'nope' not found"):
        client.resolve_model_uri("models:/nope/1")
    for bad in ("runs:/abc/model", "models:/churn", "models:/churn/Prod", "models:/@x", "models:/a/b/c"):
        with pytest.raises(InvalidArgument):
            client.resolve_model_uri(bad)
