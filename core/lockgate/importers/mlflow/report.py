"""``ImportReport``: what an import created, found already there, or could not move."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = ["KINDS", "ImportProgress", "ImportReport", "KindCounts", "NullProgress", "Outcome"]

Outcome = Literal["created", "present", "conflict", "failed"]
#: The rows of the summary, in order.
KINDS = ("experiments", "runs", "metric points", "artifacts", "logged models", "registered models",
         "model versions", "aliases")


@dataclass
class KindCounts:
    """Counts of one kind: new here, already here (a resume), refused (clash), failed."""

    created: int = 0
    present: int = 0
    conflict: int = 0
    failed: int = 0


@dataclass
class ImportReport:
    """The summary of one ``lockgate import mlflow`` (or its ``--dry-run``)."""

    source: str
    dry_run: bool = False
    counts: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in KINDS})
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: str | None = None

    def add(self, kind: str, outcome: Outcome, amount: int = 1) -> None:
        counts = self.counts[kind]
        setattr(counts, outcome, getattr(counts, outcome) + amount)

    def problem(self, kind: str, outcome: Outcome, message: str) -> None:
        """Count one refused or failed item and keep the reason for the summary."""
        self.add(kind, outcome)
        self.problems.append(message)

    @property
    def ok(self) -> bool:
        """No clash, failure or interruption: everything selected is in Lockgate."""
        return self.interrupted is None and not any(c.conflict or c.failed for c in self.counts.values())


class ImportProgress(Protocol):
    """Where the importer reports progress (the CLI shows rich progress bars)."""

    def start(self, task: str, *, total: int | None = None) -> None: ...
    def advance(self, task: str, amount: int = 1) -> None: ...


class NullProgress:
    """Progress that goes nowhere (library calls, tests)."""

    def start(self, task: str, *, total: int | None = None) -> None:
        return None

    def advance(self, task: str, amount: int = 1) -> None:
        return None
