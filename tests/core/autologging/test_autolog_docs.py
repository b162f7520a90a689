"""docs/models.md's autologging example runs as written and reads back what it promises."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "models.md"


def test_autologging_example_runs() -> None:
    section = DOC.read_text().split("## Autologging", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - the documented example itself
    model, reloaded, x = namespace["model"], namespace["reloaded"], namespace["X"]
    assert list(reloaded.predict(x.iloc[:5])) == list(model.predict(x.iloc[:5]))  # type: ignore[attr-defined]
    assert namespace["best_c"] in {"0.1", "1.0"}
