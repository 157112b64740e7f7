"""Typed errors of the biopsy layer: every problem names its file, row and column."""

from __future__ import annotations

from pathlib import Path

from ..datafiles import DataValidationError, ExotwinError, Problem

__all__ = ["BiopsyError", "BiopsyInputError", "Problem", "cell_problem"]


class BiopsyError(ExotwinError):
    """Base class of errors raised by liquid-biopsy analytics."""


class BiopsyInputError(BiopsyError, DataValidationError):
    """Expression data, labels or a model folder cannot be used as given."""

    what = "expression data"


def cell_problem(file: Path | str, row: int | None, column: str, message: str) -> Problem:
    """A problem at ``row`` (1-based line of the file, or None) and ``column`` of a table."""
    return Problem(Path(file), row, f"column {column!r}" if column else "", message)
