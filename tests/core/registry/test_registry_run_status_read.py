"""A move refuses a FAILED or KILLED run's model whether the runs live in the registry's own
database (only the run's status is read, beside the version) or in another one (the whole run
is read from the tracking store)."""

from __future__ import annotations

import pytest
from lockgate.entities import RunStatus
from lockgate.errors import InvalidArgument
from lockgate.registry.sql import SqlRegistry
from lockgate.store import get_tracking_store


@pytest.mark.parametrize("runs_in", ["same", "other"])
def test_failed_run_refused_with_runs_here_or_elsewhere(postgres_uri: str, sqlite_uri: str, runs_in: str) -> None:
    tracking = get_tracking_store(postgres_uri if runs_in == "same" else sqlite_uri)
    registry = SqlRegistry(postgres_uri, tracking_store=tracking)
    assert registry._shares_runs() is (runs_in == "same")
    exp = tracking.create_experiment("status-read")
    ok = tracking.create_run(experiment_id=exp).info.run_id
    failed = tracking.create_run(experiment_id=exp).info.run_id
    tracking.update_run_info(failed, status=RunStatus.FAILED)
    registry.create_registered_model("m")
    good = registry.create_model_version("m", source=f"runs:/{ok}/model", run_id=ok)
    bad = registry.create_model_version("m", source=f"runs:/{failed}/model", run_id=failed)

    registry.set_registered_model_alias("m", "champion", good.version)
    with pytest.raises(InvalidArgument, match=f"comes from run {failed}, which ended FAILED"):
        registry.set_registered_model_alias("m", "champion", bad.version)
    with pytest.raises(InvalidArgument, match="ended FAILED"):
        registry.transition_model_version_stage("m", bad.version, "Production")

    assert registry.get_model_version_by_alias("m", "champion").version == good.version
    assert registry.get_model_version("m", bad.version).current_stage == "None"
    moves = registry.get_promotion_history("m", alias="champion")
    assert [e.version for e in moves] == [good.version]
