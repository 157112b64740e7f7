"""Readouts of a tissue at one time: the scenario's readouts, measured on cells and fields.

Counts and fractions count live cells; a readout's ``band`` keeps only cells at a distance
from the nearest cell of another kind (or from the domain centre), so that gradients (a ring
of CAFs, M2 enrichment near the tumour) become numbers that checks compare.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..scenario.schema import Band, CellSelector, Readout, Scenario
from .engine import UM3_PER_ML, TissueModel
from .layout import TissueError
from .regions import in_band, matching

SUPPORTED = {"count", "fraction", "exosomes", "drug", "activity", "killed", "ratio"}


def check_readouts(scenario: Scenario) -> None:
    """Raise :class:`TissueError` for readouts a tissue cannot measure."""
    comp = scenario.tissue.compartment if scenario.tissue else "tumour"
    for i, r in enumerate(scenario.readouts):
        if r.kind not in SUPPORTED:
            raise TissueError(f"readouts[{i}].kind: {r.kind} is not measured in the tissue")
        if r.kind == "exosomes" and r.compartment not in {None, comp}:
            raise TissueError(
                f"readouts[{i}].compartment: the tissue holds only the {comp} (got {r.compartment})"
            )


def _mask(tm: TissueModel, selector: CellSelector | None) -> NDArray[np.bool_]:
    return matching(tm.kb, tm.model, tm.cells, selector)


def _in_band(tm: TissueModel, band: Band | None) -> NDArray[np.bool_]:
    return in_band(tm.kb, tm.model, tm.cells, band)


def _exosomes(tm: TissueModel, r: Readout) -> float:
    molecule = tm.kb.find_molecule(r.cargo or "")
    key = molecule.id if molecule and molecule.id in tm.exosome_keys else None
    if r.cargo and key is None:
        return 0.0
    f = tm.exosome_keys.index(key) if key else 0
    return float(tm.fields.concentration[f].mean()) * UM3_PER_ML


def _drug(tm: TissueModel, r: Readout) -> float:
    name = tm.kb.find_molecule(r.drug or "").id  # type: ignore[union-attr]
    if name not in tm.drug_names:
        return 0.0
    if r.compartment == "plasma":
        return tm.plasma[name]
    return float(tm.fields.concentration[tm.fields.index(name)].mean())


def _activity(tm: TissueModel, r: Readout, where: NDArray[np.bool_]) -> float:
    cells = _mask(tm, r.of) & where
    levels = [
        tm.cells.activity[cells & (tm.cells.population == pop), column]
        for (phenotype, pop), column in tm.model.activities.items()
        if phenotype == r.phenotype
    ]
    joined = np.concatenate(levels) if levels else np.zeros(0)
    return float(joined.mean()) if len(joined) else 1.0


def _value(tm: TissueModel, r: Readout, values: dict[str, float]) -> float:
    """One readout's value now (a ratio from ``values``, the readouts before it)."""
    where = _in_band(tm, r.band)
    if r.kind == "count":
        return float((_mask(tm, r.of) & where).sum())
    if r.kind == "fraction":
        num = float((_mask(tm, r.of) & where).sum())
        den = float((_mask(tm, r.among) & where).sum())
        return num / den if den >= 1 else 0.0
    if r.kind == "exosomes":
        return _exosomes(tm, r)
    if r.kind == "drug":
        return _drug(tm, r)
    if r.kind == "killed":
        name = tm.kb.find_molecule(r.drug or "").id  # type: ignore[union-attr]
        return tm.tally.killed.get(name, 0.0)
    if r.kind == "activity":
        return _activity(tm, r, where)
    den = values[r.denominator or ""]  # ratio
    return values[r.numerator or ""] / den if den else float("nan")


def measure(tm: TissueModel, readouts: list[Readout]) -> dict[str, float]:
    """Every readout's value now."""
    values: dict[str, float] = {}
    for r in readouts:
        values[r.name] = _value(tm, r, values)
    return values
