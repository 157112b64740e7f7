"""The term table of a compiled arm: typed, immutable rows that every solver and exporter reads.

A compiled arm is a parameter vector (every number the equations read, with its provenance)
plus rows of integer indices into that vector and into the state vector: one row per rule
term, per behaviour target, per population, per exosome pool and flux, per drug effect and per
event. :mod:`exotwin.model.ode.equations` turns the rows into rates; nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .schema import NICHES, Param

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

COMPARTMENTS: tuple[str, ...] = ("culture", "tumour", "plasma", *NICHES)
ALL_EXOSOMES = "all exosomes"
BLOOD_EXOSOMES = "exosomes of blood cells"  # the plasma's healthy background (its own pool)
DRUG_VARS = ("plasma", "tumour", "carrier", "delivered", "offtarget", "killed", "offtarget_auc")


def frozen(values: object, dtype: type = np.int64) -> NDArray:  # type: ignore[type-arg]
    """A read-only array (rows of the table never change after compilation)."""
    array: NDArray = np.array(values, dtype=dtype)  # type: ignore[type-arg]
    array.setflags(write=False)
    return array


# ------------------------------------------------------------ populations and targets


@dataclass(frozen=True)
class Population:
    index: int
    cell: str
    state: str | None
    compartment: str
    origin: str | None = None  # a resistance acquired from exosomes: the state it fades back to
    recruited: bool = False  # brought in by other cells (a recruitment): they do not divide

    @property
    def acquired(self) -> bool:
        return self.origin is not None

    @property
    def label(self) -> str:
        state = f".{self.state}" if self.state else ""
        acquired = f" (acquired, from {self.origin})" if self.origin else ""
        recruited = " (recruited)" if self.recruited else ""
        return f"{self.cell}{state}{acquired}{recruited}@{self.compartment}"


@dataclass(frozen=True)
class Growth:
    """Division rate of a population (a base rate, modulated)."""

    pop: int


@dataclass(frozen=True)
class Death:
    """Death rate of a population (a base rate, modulated; survival lowers it)."""

    pop: int


@dataclass(frozen=True)
class Survival:
    """A multiplier of all death of a population, basal and drug-induced (1 at baseline; a
    survival signal lowers it, PhysiCell's apoptosis decrease)."""

    pop: int


@dataclass(frozen=True)
class Killing:
    """Killing activity of an immune killer population (a multiple of its kill rate)."""

    pop: int


@dataclass(frozen=True)
class Secretion:
    """Exosome release of a population (a multiple of its secretion rate)."""

    pop: int


@dataclass(frozen=True)
class Transition:
    """Cells of ``source`` turning into ``dest`` (an induced rate, zero without signal)."""

    source: int
    dest: int


@dataclass(frozen=True)
class Recruitment:
    """Cells of ``source`` bringing cells into ``dest`` (the recruited cells of a type in their
    compartment): an influx per recruiting cell, induced, zero without signal."""

    source: int
    dest: int


@dataclass(frozen=True)
class Seeding:
    """Seeding of a distant organ by tumour cancer cells (a base rate, modulated)."""

    organ: str


@dataclass(frozen=True)
class Activity:
    """Activity level of a phenotype in a population (1 at baseline; changes nothing else)."""

    phenotype: str
    pop: int


Target = (
    Growth | Death | Survival | Killing | Secretion | Transition | Recruitment | Seeding | Activity
)


@dataclass(frozen=True)
class Term:
    """One rule acting through one cargo signal in one receiver on one behaviour target.

    ``half_max``, ``hill`` and ``level`` name parameters of the arm's parameter vector;
    ``level`` is the fold of a base rate, or the maximal rate of an induced transition;
    ``share``, for a signal of exosomes of unspecified cargo, the share of them carrying its
    unnamed active component (the signal's copies are the exosomes times it).
    """

    rule_id: str
    record_id: str
    phenotype: str
    signal: int
    half_max: str
    hill: str
    up: bool
    target: Target
    level: str
    share: str | None = None


# ------------------------------------------------------------ parameters


@dataclass(frozen=True)
class Parameters:
    """The arm's parameter vector: names, nominal values and provenance, in index order."""

    names: tuple[str, ...]
    entries: tuple[Param, ...]

    @property
    def values(self) -> Floats:
        return np.array([p.value for p in self.entries])

    def index(self, name: str) -> int:
        return self.names.index(name)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Gather:
    """Per row, the largest of some parameters (``index`` rows padded with -1), or ``default``
    where a row names none (a maximum: several rules may set one loading or level)."""

    index: Ints  # (rows, k)
    default: Floats  # (rows,)

    @staticmethod
    def of(rows: list[list[int]], default: list[float] | None = None) -> Gather:
        width = max((len(r) for r in rows), default=0)
        index = [r + [-1] * (width - len(r)) for r in rows]
        fill = default if default is not None else [0.0] * len(rows)
        return Gather(
            frozen(index if rows else np.zeros((0, 0))).reshape(len(rows), width),
            frozen(fill, float),
        )

    def __len__(self) -> int:
        return len(self.default)


# ------------------------------------------------------------ the state vector


@dataclass(frozen=True)
class Layout:
    """Offsets of each block of the state vector."""

    pops: int
    pools: int
    signals: int
    activities: int
    drugs: int
    size: int
    drug_index: dict[str, int]

    def drug(self, drug: str, var: str) -> int:
        return self.drugs + len(DRUG_VARS) * self.drug_index[drug] + DRUG_VARS.index(var)


# ------------------------------------------------------------ events

Operation = Literal["add", "set", "scale"]


@dataclass(frozen=True)
class Change:
    """What an event does to one variable: add, set or scale by an amount.

    The amount is the product of parameters ``factors`` times the largest of ``largest``
    (if any); ``complement`` takes one minus that (a fraction kept after surgery).
    """

    variable: int
    operation: Operation
    factors: tuple[int, ...]
    largest: tuple[int, ...] = ()
    complement: bool = False


@dataclass(frozen=True)
class Event:
    day: float
    changes: tuple[Change, ...]
