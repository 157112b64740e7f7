"""Where cells are: the live cells of a kind, and the cells in a distance band.

A band keeps the cells whose distance to the nearest live cell of a kind (or, without one, to
the domain centre) lies in [min, max): readouts count cells in a band (a ring of CAFs), and a
lifecycle intervention can act in one (a drug given into and around the tumour).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ...knowledge import KnowledgeBase
from ..rules.rows import CompiledModel
from ..scenario.schema import Band, CellSelector
from .cells import Cells


def matching(
    kb: KnowledgeBase, model: CompiledModel, cells: Cells, selector: CellSelector | None
) -> NDArray[np.bool_]:
    """The live cells whose population falls under ``selector`` (none: every population)."""
    pops = model.populations
    chosen = np.array([selector is None or model.selects(kb, selector, p) for p in pops] or [False])
    return chosen[cells.population] & cells.alive


def distances(
    kb: KnowledgeBase, model: CompiledModel, cells: Cells, band: Band
) -> NDArray[np.float64]:
    """Distance of every cell to the nearest live cell matching ``band.of`` (or the centre)."""
    pos = cells.position
    if band.of is None:
        return np.linalg.norm(pos, axis=1)
    sources = pos[matching(kb, model, cells, band.of)]
    if not len(sources):
        return np.full(len(pos), np.inf)
    return cKDTree(sources).query(pos)[0]


def in_band(
    kb: KnowledgeBase, model: CompiledModel, cells: Cells, band: Band | None
) -> NDArray[np.bool_]:
    """The cells in ``band`` (none: every cell)."""
    if band is None:
        return np.ones(len(cells), dtype=bool)
    d = distances(kb, model, cells, band)
    return (d >= band.min) & (d < (band.max if band.max is not None else np.inf))
