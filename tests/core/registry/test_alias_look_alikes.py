"""Aliases that look like a guarded one are refused (issue 12, finding 9), on SQLite and PostgreSQL.

Aliases stay case-sensitive as in MLflow; what cannot happen any more is ``models:/m@Champion``
(or a Cyrillic look-alike) silently naming an ungated alias beside a guarded ``champion``.
"""

from __future__ import annotations

import re

import pytest
from lockgate.errors import InvalidArgument, NotFound
from lockgate.registry import GatePolicy, MetricThreshold
from lockgate.registry.alias_rules import alias_skeleton
from registry_support import RegistryClient

GATE = GatePolicy(rules=[MetricThreshold(metric="auc", min=0.5)])


@pytest.fixture
def guarded(client: RegistryClient) -> RegistryClient:
    """Model ``m`` with two versions and a guarded (empty) ``champion`` alias."""
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://b/1")
    client.create_model_version("m", source="s3://b/2")
    client.set_gate_policy("m", alias="champion", policy=GATE)
    return client


@pytest.mark.parametrize(("alias", "why"), [
    ("ch\u0430mpion", "it mixes scripts (cyrillic, latin)"),          # Cyrillic a
    ("champi\u03bfn", "it mixes scripts (greek, latin)"),             # Greek omicron
    ("\uff43hampion", "not in Unicode NFKC form"),                    # full-width c
])
def test_mixed_script_and_unnormalized_aliases_are_refused(client: RegistryClient, alias: str, why: str) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://b/1")
    with pytest.raises(InvalidArgument, match=re.escape(why)):
        client.set_registered_model_alias("m", alias, 1)
    with pytest.raises(InvalidArgument, match=re.escape(why)):
        client.get_model_version_by_alias("m", alias)
    assert client.get_registered_model("m").aliases == {}


@pytest.mark.parametrize("alias", ["Champion", "CHAMPION", "ch\u0430mpion", "champion\u200b"])
def test_look_alikes_of_a_guarded_alias_are_refused(guarded: RegistryClient, alias: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        guarded.set_registered_model_alias("m", alias, 2)
    message = info.value.message
    assert "looks like the guarded alias 'champion'" in message or "Invalid alias" in message, message
    assert guarded.get_registered_model("m").aliases == {}


def test_case_sensitive_lookup_names_the_look_alike(guarded: RegistryClient) -> None:
    guarded.privileged = True  # type: ignore[misc]  # the versions have no runs: force the gate
    guarded.promote("m", version=1, alias="champion", override=True, reason="seed the champion")
    with pytest.raises(NotFound, match="has no alias 'Champion'; did you mean 'champion'\\? "
                                       r"\(aliases are case-sensitive\)"):
        guarded.get_model_version_by_alias("m", "Champion")
    with pytest.raises(NotFound, match="did you mean 'champion'"):
        guarded.resolve_model_uri("models:/m@Champion")
    assert guarded.resolve_model_uri("models:/m@champion").version == 1


def test_same_script_look_alike_of_a_guarded_alias_is_refused(client: RegistryClient) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://b/1")
    client.set_gate_policy("m", alias="cat", policy=GATE)
    assert alias_skeleton("\u0441\u0430\u0442") == "cat"  # Cyrillic es, a, te
    with pytest.raises(InvalidArgument, match="looks like the guarded alias 'cat'"):
        client.set_registered_model_alias("m", "\u0441\u0430\u0442", 1)


def test_guarding_an_alias_that_has_a_look_alike_is_refused(client: RegistryClient) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://b/1")
    client.set_registered_model_alias("m", "Champion", 1)
    with pytest.raises(InvalidArgument, match="Alias 'Champion' of 'm' looks like 'champion'"):
        client.set_gate_policy("m", alias="champion", policy=GATE)
    assert client.get_gate_policy("m", alias="champion") is None


def test_unguarded_aliases_stay_case_sensitive_as_in_mlflow(client: RegistryClient) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", source="s3://b/1")
    client.create_model_version("m", source="s3://b/2")
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_alias("m", "Champion", 2)
    client.set_registered_model_alias("m", "\u0447\u0435\u043c\u043f\u0438\u043e\u043d", 2)  # all Cyrillic
    assert client.get_registered_model("m").aliases == {"Champion": 2, "champion": 1,
                                                       "\u0447\u0435\u043c\u043f\u0438\u043e\u043d": 2}
