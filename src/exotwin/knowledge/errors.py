"""Typed errors of the knowledge layer (defined in :mod:`exotwin.errors`)."""

from __future__ import annotations

from ..errors import KnowledgeError, KnowledgeValidationError, Problem, UnknownEntityError

__all__ = ["KnowledgeError", "KnowledgeValidationError", "Problem", "UnknownEntityError"]
