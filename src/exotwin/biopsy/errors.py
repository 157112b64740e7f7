"""Typed errors of the biopsy layer (defined in :mod:`exotwin.errors`): every problem names
its file, row and column."""

from __future__ import annotations

from pathlib import Path

from ..errors import BiopsyError, BiopsyInputError, Problem

__all__ = ["BiopsyError", "BiopsyInputError", "Problem", "cell_problem"]


def cell_problem(file: Path | str, row: int | None, column: str, message: str) -> Problem:
    """A problem at ``row`` (1-based line of the file, or None) and ``column`` of a table."""
    return Problem(Path(file), row, f"column {column!r}" if column else "", message)
