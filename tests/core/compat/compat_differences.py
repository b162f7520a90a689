"""Where Lockgate answers differently from MLflow on purpose: each entry is documented in
docs/mlflow-compat.md, and the differential test asserts both recorded answers exactly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["INTENDED", "Difference"]


@dataclass(frozen=True)
class Difference:
    mlflow: Any
    lockgate: Any
    reason: str


INTENDED: dict[str, Difference] = {}
