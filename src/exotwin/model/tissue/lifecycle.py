"""The exosome lifecycle of every cell: endosome and MVB content, release or lysosomal fate.

The lifecycle of ``rules/lifecycle.py`` (docs/biogenesis.md) runs in each cell. A cell's state
(:attr:`Cells.lifecycle`) is its endosome content ``e`` and MVB content ``m``, each relative to
the steady state the cell has without an intervention (both 1 then). The steps' factors in the
cell, ``p`` (MVB production), ``s`` (share of sorted cargo that forms ILVs), ``r`` and ``d``
(MVB fusion with the plasma membrane and with lysosomes), come from the arm's compiled
interventions at the cell's population, time and place (an intervention's ``band``); with them
the linear lifecycle, divided by that steady state, reads

    de/dt = k_sort (p - e)
    dm/dt = K s e - (r k_rel + d k_deg) m,   K = k_rel + k_deg

and the cell releases ``r·m`` times the exosomes its rules would make it release without an
intervention. Rates are read from the lifecycle data (the arm's parameter vector where it holds
them); the equations are solved exactly over each phenotype step. On the first step every
cell starts at the steady state of the interventions then in force (a knock-down line, a drug
given before); a cell that enters a treated band, or an intervention that starts later, moves to
its new steady state with the lifecycle's own time scales (minutes for the endosome, hours for
the MVB). Changes of the production itself (rules, transitions) pass through at once, as in the
compartment model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ...knowledge import KnowledgeBase
from ..ode.equations import Derived
from ..rules.lifecycle import packaged_lifecycle
from ..rules.rows import CompiledModel, Factor
from ..scenario.schema import Band, StepIntervention
from .cells import Cells
from .regions import in_band
from .units import MIN_PER_DAY

Float = NDArray[np.float64]

RATE_STEPS = ("mvb_production", "ilv_sorting", "mvb_release", "lysosomal_fusion")


@dataclass(frozen=True)
class StepFactor:
    """One compiled intervention factor as the cells see it: on a step's rate (release
    factors, rows: populations) or on a cargo's loading (rows: cargo)."""

    step: str
    rows: NDArray[np.int64]
    start: float  # day
    value: float
    band: Band | None


class CellLifecycle:
    """The lifecycle of one arm's cells: per-cell release and loading factors over time."""

    def __init__(self, kb: KnowledgeBase, model: CompiledModel, derived: Derived) -> None:
        self.kb, self.model = kb, model
        rates = packaged_lifecycle().rates
        self.k_sort = rates.ilv_sorting.value / MIN_PER_DAY
        self.k_rel = self._rate("mvb_release", rates.mvb_release.value)
        self.k_deg = self._rate("mvb_degradation", rates.mvb_degradation.value)
        factors = model.rows.factors
        self.release = [
            self._factor(f, float(v), True)
            for f, v in zip(factors.release, derived.factors["release"], strict=True)
        ]
        self.loading = [
            self._factor(f, float(v), False)
            for f, v in zip(factors.loading, derived.factors["loading"], strict=True)
        ]
        self.banded_loading = any(f.band is not None for f in self.loading)
        self.started = False

    def _rate(self, name: str, value: float) -> float:
        """A lifecycle rate per minute: the arm's parameter where it holds one, else the data's."""
        names = self.model.parameters.names
        if f"lifecycle.{name}" in names:
            value = float(self.model.parameters.values[names.index(f"lifecycle.{name}")])
        return value / MIN_PER_DAY

    def _factor(self, factor: Factor, value: float, release: bool) -> StepFactor:
        """The step a factor acts at (from the intervention that made it) and its value there."""
        item = self._intervention(factor.param)
        step = item.step if isinstance(item, StepIntervention) else "mvb_production"
        if release and step in {"mvb_release", "lysosomal_fusion"}:
            value = 1.0 - float(self.model.parameters.values[factor.param])  # on the rate itself
        band = item.band if isinstance(item, StepIntervention) else None
        rows = np.fromiter(factor.rows, dtype=np.int64)
        return StepFactor(step if release else "loading", rows, factor.start, value, band)

    def _intervention(self, param: int) -> object:
        """The arm's intervention whose parameter ``param`` is (none: not an intervention's)."""
        name = self.model.parameters.names[param]
        for j, item in enumerate(self.model.arm.interventions):
            if name.startswith(f"intervention{j}."):
                return item
        return None

    # ------------------------------------------------------------ per phenotype step

    def step(self, cells: Cells, day: float, dt: float, loading: Float) -> tuple[Float, Float]:
        """Each cell's release factor for the phenotype step from ``day`` and the loading factors
        (per cargo, or per cell and cargo); then the cells' state advances ``dt`` minutes."""
        bands: dict[int, NDArray[np.bool_]] = {}
        if self.banded_loading:
            loading = self._per_cell(cells, day, self.loading, bands, loading.shape[-1])
        if not self.release:
            return np.ones(len(cells)), loading
        f = self._step_factors(cells, day, bands)
        p, s, r, d = (f[step] for step in RATE_STEPS)
        loss = np.maximum(
            r * self.k_rel + d * self.k_deg, 1e-12
        )  # both fates blocked: MVBs pile up
        total = self.k_rel + self.k_deg
        steady_e, steady_m = p, s * p * (total / loss)
        state = cells.lifecycle
        if not self.started:
            state[:, 0], state[:, 1] = steady_e, steady_m
            self.started = True
        e, m = state[:, 0].copy(), state[:, 1].copy()
        released = r * m
        a, b = math.exp(-self.k_sort * dt), np.exp(-loss * dt)
        coupling = total * s * (e - steady_e) / (loss - self.k_sort)
        state[:, 0] = steady_e + (e - steady_e) * a
        state[:, 1] = steady_m + coupling * (a - b) + (m - steady_m) * b
        return released, loading

    def _step_factors(
        self, cells: Cells, day: float, bands: dict[int, NDArray[np.bool_]]
    ) -> dict[str, Float]:
        """Per cell, the product of the factors in force at each step (1: none)."""
        out = {step: np.ones(len(cells)) for step in RATE_STEPS}
        for i, f in enumerate(self.release):
            if day >= f.start:
                where = np.isin(cells.population, f.rows) & self._band(i, f, cells, bands)
                out[f.step][where] *= f.value
        return out

    def _per_cell(
        self,
        cells: Cells,
        day: float,
        factors: list[StepFactor],
        bands: dict[int, NDArray[np.bool_]],
        size: int,
    ) -> Float:
        """Per cell and row, the product of the factors in force (1: none)."""
        out = np.ones((len(cells), size))
        for i, f in enumerate(factors):
            if day >= f.start:
                where = self._band(-1 - i, f, cells, bands)
                out[np.ix_(where, f.rows)] *= f.value
        return out

    def _band(
        self, key: int, f: StepFactor, cells: Cells, bands: dict[int, NDArray[np.bool_]]
    ) -> NDArray[np.bool_]:
        if f.band is None:
            return np.ones(len(cells), dtype=bool)
        if key not in bands:
            bands[key] = in_band(self.kb, self.model, cells, f.band)
        return bands[key]
