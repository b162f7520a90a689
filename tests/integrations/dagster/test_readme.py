"""The Python block of integrations/dagster/README.md runs and its pipeline works."""

import re
from pathlib import Path

import dagster as dg
from lockgate import LockgateClient

README = Path(__file__).resolve().parents[3] / "integrations" / "dagster" / "README.md"


def test_readme_example_runs(instance: dg.DagsterInstance) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own documentation
    defs = namespace["defs"]
    dg.Definitions.validate_loadable(defs)
    assets = [namespace[n] for n in ("features", "churn_model", "scores")]
    result = dg.materialize([*assets, *namespace["gate"]], instance=instance, resources=defs.resources)
    assert result.success
    assert len(result.output_for_node("scores")) == 10
    client = LockgateClient()
    assert client.get_model_version_by_alias("churn_model", "champion").version == 1
