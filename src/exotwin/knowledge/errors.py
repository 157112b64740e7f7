"""Typed errors of the knowledge layer: every problem names its file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One validation problem at a place in a curated file."""

    file: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class KnowledgeError(Exception):
    """Base class of errors raised while loading or querying the evidence graph."""


class KnowledgeValidationError(KnowledgeError):
    """One or more curated files are malformed or inconsistent."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the evidence graph:\n{shown}{more}")


class UnknownEntityError(KnowledgeError, LookupError):
    """A query named a cell type, molecule or record that the graph does not hold."""
