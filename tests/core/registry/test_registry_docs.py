"""docs/registry.md: its Python example runs as written and its policy document parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lockgate.registry import GatePolicy, RequireApprovals, RequireTags

DOC = Path(__file__).resolve().parents[3] / "docs" / "registry.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_python_example_runs(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKGATE_TRACKING_URI", store_uri)
    (code,) = _blocks("python")
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - the documented example itself
    refused = namespace["refused"]
    assert [passed for _, passed, _ in refused] == [True, False, True]  # type: ignore[attr-defined]


def test_policy_document_parses() -> None:
    (document,) = _blocks("yaml")
    policy = GatePolicy.from_document(document)
    assert [rule.type for rule in policy.rules] == [
        "metric_threshold", "beats_champion", "require_tags", "require_approvals", "require_lineage",
        "custom"]
    assert policy.rules[2] == RequireTags(tags={"validation": "passed", "owner": None}, scope="any")
    assert policy.rules[3] == RequireApprovals(count=2, exclude_creator=True)
    assert GatePolicy.from_document(policy.to_document()) == policy
