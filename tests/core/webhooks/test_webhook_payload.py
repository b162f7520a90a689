"""The public event vocabulary: every registry change maps to the documented types, and the
payload carries the documented fields (gate evidence only for gate events)."""

from __future__ import annotations

import pytest
from lockgate import LockgateClient
from lockgate.errors import GateFailed, InvalidArgument
from lockgate.webhooks.payload import EVENT_TYPES, event_payload, event_types, parse_event_types

GATE = {"rules": [{"type": "require_tags", "tags": {"qa": "ok"}}]}


def test_every_registry_change_has_its_documented_type(sqlite_uri: str) -> None:
    client = LockgateClient(sqlite_uri, user="alice", privileged=True)
    client.create_registered_model("churn", description="d")
    client.create_model_version("churn", source="s3://b/1", tags={"qa": "ok"})
    client.create_model_version("churn", source="s3://b/2")
    client.set_registered_model_alias("churn", "candidate", 1)
    client.set_registered_model_alias("churn", "candidate", 2)
    client.delete_registered_model_alias("churn", "candidate")
    client.set_gate_policy("churn", alias="champion", policy=GATE)
    client.promote("churn", version=1, alias="champion")
    with pytest.raises(GateFailed):
        client.promote("churn", version=2, alias="champion")
    client.promote("churn", version=2, alias="champion", override=True, reason="hotfix")
    client.approve_model_version("churn", 2, comment="fine")
    client.transition_model_version_stage("churn", 1, "Staging")
    client.set_model_version_tag("churn", 1, "k", "v")
    client.delete_model_version_tag("churn", 1, "k")
    client.rename_registered_model("churn", "churn2", override=True, reason="new name")
    client.delete_registered_model("churn2", override=True, reason="retired")

    events = client.get_events()
    seen = [(e.type.value, event_types(e)) for e in events]
    assert seen == [
        ("MODEL_CREATED", ["registered_model.created"]),
        ("VERSION_CREATED", ["model_version.created"]),
        ("VERSION_CREATED", ["model_version.created"]),
        ("ALIAS_SET", ["alias.set"]),
        ("ALIAS_SET", ["alias.moved"]),
        ("ALIAS_DELETED", ["alias.deleted"]),
        ("GATE_POLICY_SET", ["policy.changed"]),
        ("ALIAS_SET", ["model_version.promoted", "alias.set"]),
        ("GATE_REJECTED", ["gate.rejected"]),
        ("ALIAS_SET", ["gate.overridden", "model_version.promoted", "alias.moved"]),
        ("VERSION_APPROVED", ["approval"]),
        ("STAGE_CHANGED", ["stage.changed"]),
        ("VERSION_TAG_SET", ["model_version.tag_set"]),
        ("VERSION_TAG_DELETED", ["model_version.tag_deleted"]),
        ("MODEL_RENAMED", ["registered_model.renamed"]),
        ("MODEL_DELETED", ["registered_model.deleted"]),
    ]
    assert {t for _, types in seen for t in types} == set(EVENT_TYPES)

    payloads = [event_payload(e) for e in events]
    rejected, overridden = payloads[8], payloads[9]
    assert rejected["type"] == "gate.rejected" and rejected["model"] == "churn" and rejected["version"] == 2
    assert rejected["alias"] == "champion" and rejected["actor"] == "alice"
    assert rejected["evidence"]["passed"] is False
    assert [r["passed"] for r in rejected["evidence"]["results"]] == [False]
    assert overridden["override"] is True and overridden["reason"] == "hotfix"
    assert (overridden["from_version"], overridden["to_version"]) == (1, 2)
    assert overridden["evidence"]["passed"] is False
    assert payloads[7]["evidence"]["passed"] is True  # the gated promotion
    assert payloads[3]["evidence"] is None  # a plain alias move carries no evidence
    assert payloads[1]["details"] == {"source": "s3://b/1", "run_id": None, "tags": {"qa": "ok"}, "description": None}
    assert payloads[14]["details"] == {"from": "churn", "to": "churn2"} and payloads[14]["model"] == "churn2"
    assert payloads[0]["time"].endswith("Z") and payloads[0]["event_id"] == events[0].id


def test_event_type_names_are_checked() -> None:
    assert parse_event_types("model_version.promoted, gate.rejected,gate.rejected") == [
        "model_version.promoted", "gate.rejected"]
    with pytest.raises(InvalidArgument, match="'model.promoted'"):
        parse_event_types(["model.promoted"])
    with pytest.raises(InvalidArgument, match="at least one event type"):
        parse_event_types("")
