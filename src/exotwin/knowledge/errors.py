"""Typed errors of the knowledge layer: every problem names its file, line and field."""

from __future__ import annotations

from ..datafiles import DataValidationError, ExotwinError, Problem

__all__ = ["KnowledgeError", "KnowledgeValidationError", "Problem", "UnknownEntityError"]


class KnowledgeError(ExotwinError):
    """Base class of errors raised while loading or querying the evidence graph."""


class KnowledgeValidationError(KnowledgeError, DataValidationError):
    """One or more curated files are malformed or inconsistent."""

    what = "evidence graph"


class UnknownEntityError(KnowledgeError, LookupError):
    """A query named a cell type, molecule or record that the graph does not hold."""
