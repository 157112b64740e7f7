"""Cells as a structure of arrays: one row per cell, columns as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

LIVE, APOPTOTIC, NECROTIC = 0, 1, 2
PHASES = ("live", "apoptotic", "necrotic")


@dataclass
class Cells:
    """Every per-cell quantity; all arrays share their first axis (the cell)."""

    ident: NDArray[np.int64]
    position: NDArray[np.float64]  # (n, 3) µm; z = 0 in 2D
    volume: NDArray[np.float64]  # µm³
    target_volume: NDArray[np.float64]  # µm³, the volume a cell regrows to after dividing
    population: NDArray[np.int64]  # index of the compiled population (cell type and state)
    phase: NDArray[np.int8]  # LIVE, APOPTOTIC or NECROTIC
    dead_since: NDArray[np.float64]  # min; meaningful for dead cells
    internal: NDArray[np.float64]  # (n, exosome fields): internalised cargo, exosomes
    activity: NDArray[np.float64]  # (n, activities): rule-modulated activity levels
    previous_velocity: NDArray[np.float64]  # (n, 3) µm/min, for Adams-Bashforth
    lifecycle: NDArray[np.float64]  # (n, 2) endosome, MVB content / their untreated level

    @classmethod
    def create(
        cls,
        position: NDArray[np.float64],
        population: NDArray[np.int64],
        volume: float,
        n_internal: int,
        n_activity: int,
    ) -> Cells:
        n = len(population)
        return cls(
            ident=np.arange(n, dtype=np.int64),
            position=np.ascontiguousarray(position, dtype=np.float64),
            volume=np.full(n, volume),
            target_volume=np.full(n, volume),
            population=population.astype(np.int64),
            phase=np.zeros(n, dtype=np.int8),
            dead_since=np.zeros(n),
            internal=np.zeros((n, n_internal)),
            activity=np.ones((n, n_activity)),
            previous_velocity=np.zeros((n, 3)),
            lifecycle=np.ones((n, 2)),
        )

    def __len__(self) -> int:
        return len(self.ident)

    @property
    def radius(self) -> NDArray[np.float64]:
        return np.cbrt(self.volume * (3.0 / (4.0 * np.pi)))

    @property
    def alive(self) -> NDArray[np.bool_]:
        return self.phase == LIVE

    def take(self, index: NDArray[np.int64] | NDArray[np.bool_]) -> Cells:
        """The cells selected by an index or mask, in that order (arrays copied)."""
        return Cells(
            **{f.name: np.ascontiguousarray(getattr(self, f.name)[index]) for f in fields(self)}
        )

    def extend(self, other: Cells) -> Cells:
        """These cells followed by ``other``."""
        return Cells(
            **{
                f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                for f in fields(self)
            }
        )
