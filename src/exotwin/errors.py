"""exotwin's one exception hierarchy: every typed error the project raises, in one place.

Layers import their errors from here (or re-export them); the CLI's error boundary
(:mod:`exotwin.boundary`) turns any :class:`ExotwinError` into a one-line message.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BiopsyError",
    "BiopsyInputError",
    "CohortError",
    "CohortSpecError",
    "DataValidationError",
    "ExotwinError",
    "FieldError",
    "KnowledgeError",
    "KnowledgeValidationError",
    "ModelDataError",
    "MtiFileError",
    "OutputError",
    "PathError",
    "Problem",
    "QueryError",
    "SbmlError",
    "ScenarioError",
    "SensitivityError",
    "SimulationError",
    "TissueError",
    "UnknownEntityError",
    "did_you_mean",
]


@dataclass(frozen=True)
class Problem:
    """One validation problem at a place in a data file."""

    file: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ExotwinError(Exception):
    """Base class of exotwin's typed errors."""


class DataValidationError(ExotwinError, ValueError):
    """One or more data files are malformed or inconsistent."""

    what = "data files"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (str(p.file), p.line or 0))
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the {self.what}:\n{shown}{more}")


# ------------------------------------------------------------ files and folders


class PathError(ExotwinError):
    """A file or folder cannot be read or written (missing, not a folder, read-only, full)."""


class OutputError(PathError):
    """An output path is refused: it would replace or mix with something exotwin did not write."""


# ------------------------------------------------------------ knowledge


class KnowledgeError(ExotwinError):
    """Base class of errors raised while loading or querying the evidence graph."""


class KnowledgeValidationError(KnowledgeError, DataValidationError):
    """One or more curated files are malformed or inconsistent."""

    what = "evidence graph"


class UnknownEntityError(KnowledgeError, LookupError):
    """A query named a cell type, molecule or record that the graph does not hold."""


class QueryError(KnowledgeError, ValueError):
    """A search that cannot be answered as asked (no criterion, empty text)."""


class MtiFileError(KnowledgeError, ValueError):
    """The interaction table cannot be read or lacks the expected columns."""


# ------------------------------------------------------------ model


class ModelDataError(DataValidationError):
    """The model's parameters, drugs or rules are malformed or inconsistent."""

    what = "model library"


class ScenarioError(DataValidationError):
    """A scenario file is malformed or names something the graph or library lacks."""

    what = "scenario"


class ModelError(ExotwinError, ValueError):
    """A scenario arm cannot be compiled: an intervention names what the arm does not hold.

    ``where`` locates the offending field inside the arm (``interventions``, index, field).
    """

    def __init__(self, message: str, where: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.where = where


class SimulationError(ExotwinError, RuntimeError):
    """The solver failed or the state diverged; names the arm, time and variables."""


class SbmlError(ExotwinError, RuntimeError):
    """libSBML rejected the generated model."""


class SensitivityError(ExotwinError, ValueError):
    """Bad request for a sensitivity analysis (unknown arm, readout or parameter)."""


class CohortError(ExotwinError, RuntimeError):
    """A sweep could not run (scheduler unreachable, output folder of another sweep...)."""


class CohortSpecError(DataValidationError):
    what = "cohort spec"


class TissueError(ExotwinError, ValueError):
    """A tissue section or state the engine cannot use; the message names the field."""


class FieldError(ExotwinError, ValueError):
    """A field's parameters or the cells' exchange with it are invalid."""


# ------------------------------------------------------------ biopsy


class BiopsyError(ExotwinError):
    """Base class of errors raised by liquid-biopsy analytics."""


class BiopsyInputError(BiopsyError, DataValidationError):
    """Expression data, labels or a model folder cannot be used as given."""

    what = "expression data"


# ------------------------------------------------------------ messages


def did_you_mean(value: str, known: Iterable[str], listed: int = 20) -> str:
    """``"; did you mean X?"`` for the closest known values (difflib), then the known values
    (at most ``listed`` of them; none when 0), for a message about an unknown ``value``."""
    names = sorted(set(known))
    close = difflib.get_close_matches(value, names, n=3, cutoff=0.6)
    if not close:
        lowered = {n.lower(): n for n in names}
        close = [lowered[m] for m in difflib.get_close_matches(value.lower(), lowered, n=3)]
    if not close and len(value) >= 3:
        close = [n for n in names if value.lower() in n.lower()][:3]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    if not names or not listed:
        return hint
    more = f", ... ({len(names)} in all)" if len(names) > listed else ""
    return f"{hint}{' ' if hint else '; '}known: {', '.join(names[:listed])}{more}"
