"""What surrounds the cells: the arm's fields, the drug in the plasma, and doses.

One field per exosomal cargo the arm's rules use in the tissue's compartment (the first holds
all exosomes), oxygen when asked, and one field per drug. A tumour receives each drug from the
box edge, held at the plasma concentration (one-compartment pharmacokinetics, bolus doses); a
culture's medium is the field itself. Exosome doses spread evenly over the compartment volume
the compartment model uses. In a tumour, the share ``tumour_vascular_release`` of every cell's
exosome release enters the blood at the vessels, as in the compartment model: it leaves the
tissue (no field receives it) and the ledger reports it as sent to blood. Units: µm, minutes,
amounts per µm³ (doses per mL).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from ..ode.equations import LN2, NUMERIC, Derived, change_amount, tumour_volume
from ..rules.library import Library
from ..rules.parameters import TissueParameters
from ..rules.rows import CompiledModel
from ..rules.table import ALL_EXOSOMES, DRUG_VARS, Change
from ..scenario.schema import Tissue
from .cells import Cells
from .fields import FieldSolver
from .grid import Grid
from .units import MIN_PER_DAY, UM3_PER_ML

OXYGEN = "oxygen"

Float = NDArray[np.float64]


class Environment:
    """The fields of one arm (:attr:`fields`), its plasma drug levels and its dose events."""

    def __init__(
        self,
        lib: Library,
        model: CompiledModel,
        derived: Derived,
        tissue: Tissue,
        k: TissueParameters,
        grid: Grid,
    ) -> None:
        self.lib, self.model, self.tissue, self.k = lib, model, tissue, k
        self.theta = model.parameters.values
        comp = tissue.compartment
        keys = [key for key, c in model.pools if c == comp]
        self.exosome_keys = [ALL_EXOSOMES, *sorted(k for k in keys if k != ALL_EXOSOMES)]
        self.n_exo = len(self.exosome_keys)
        self.drug_names = list(model.drugs)
        self.plasma = dict.fromkeys(self.drug_names, 0.0)  # µM, the drug the tissue sees outside
        self.fields = self._fields(grid)
        self.loading = self._loading(derived)
        self.field_cargo = np.array(
            [model.cargo.index(model.pool_cargo[key]) for key in self.exosome_keys], dtype=int
        )
        self.oxygen = self.fields.index(OXYGEN) if tissue.oxygen else None
        vascular = self.theta[model.rows.exchange.tumour_vascular_release]
        self.vascular = float(vascular) if comp == "tumour" else 0.0  # share sent to blood
        self._pool_key = {i: key for (key, _), i in model.pools.items()}
        self._events = [(e.day * MIN_PER_DAY, c) for e in model.rows.events for c in e.changes]

    def _fields(self, grid: Grid) -> FieldSolver:
        """Exosome fields (no-flux), oxygen (held at the boundary), drugs (held, in a tumour)."""
        k, comp, rows = self.k, self.tissue.compartment, self.model.rows.compartments
        decay = (
            self.theta[rows.culture_decay]
            if comp == "culture"
            else self.theta[rows.tissue_decay] + self.theta[rows.tumour_drainage]
        )
        names = list(self.exosome_keys)
        diffusion = [k.exosome_diffusion] * self.n_exo
        decays = [decay / MIN_PER_DAY] * self.n_exo
        held: list[float | None] = [None] * self.n_exo
        if self.tissue.oxygen:
            names.append(OXYGEN)
            diffusion.append(k.oxygen_diffusion)
            decays.append(k.oxygen_decay)
            held.append(k.oxygen_boundary)
        for name in self.drug_names:
            names.append(name)
            diffusion.append(k.drug_diffusion)
            decays.append(LN2 / (self.lib.drugs[name].half_life.value * 60.0))
            held.append(None if comp == "culture" else 0.0)
        initial = [k.oxygen_boundary if n == OXYGEN else 0.0 for n in names]
        return FieldSolver(grid, names, diffusion, decays, self.tissue.dt_diffusion, held, initial)

    def _loading(self, derived: Derived) -> Float:
        """What each population loads into each exosome field (the all-exosomes field: 1)."""
        model, keys = self.model, self.exosome_keys
        loading = np.zeros((len(model.populations), self.n_exo))
        loading[:, 0] = 1.0
        rows, pool_key = model.rows.pools, {i: k for (k, _), i in model.pools.items()}
        for pop, pool, load in zip(
            rows.cargo_pop, rows.cargo_pool, derived.pools["load"], strict=True
        ):
            if pool_key[pool] in keys:
                loading[pop, keys.index(pool_key[pool])] = load
        return loading

    # ------------------------------------------------------------ doses

    def apply_events(self, time: float, dt: float, cells: int) -> None:
        """Plasma decay over the phenotype step from ``time`` (min), then the doses due in it."""
        for name in self.drug_names:  # plasma pharmacokinetics (tumour: vessels at the edge)
            kel = LN2 / (self.lib.drugs[name].half_life.value * 60.0)
            self.plasma[name] *= math.exp(-kel * dt)
        while self._events and self._events[0][0] < time + dt - 1e-9:
            self._apply(self._events.pop(0)[1], cells)
        if self.tissue.compartment == "tumour":
            for name in self.drug_names:
                self.fields.set_dirichlet(self.fields.index(name), self.plasma[name])

    def _apply(self, change: Change, cells: int) -> None:
        """A dose: drug into the plasma (or medium) the tissue sees, exosomes spread evenly in
        the compartment's volume (or, at a medium change, emptied), as in the compartment
        model."""
        lay, amount = self.model.layout, float(change_amount(change, self.theta, NUMERIC))
        if change.variable >= lay.drugs:
            name = self.drug_names[(change.variable - lay.drugs) // len(DRUG_VARS)]
            self.plasma[name] = amount if change.operation == "set" else self.plasma[name] + amount
            if self.tissue.compartment == "culture":  # the medium is the field
                self.fields.set_uniform(self.fields.index(name), self.plasma[name])
            return
        key = self._pool_key[change.variable - lay.pools]
        if key not in self.exosome_keys:
            return
        if change.operation == "scale":  # a medium change empties the medium's exosomes
            self.fields.scale(self.exosome_keys.index(key), amount)
            return
        volume = self._volume(cells)
        self.fields.add(self.exosome_keys.index(key), amount / volume / UM3_PER_ML)

    def _volume(self, cells: int) -> float:
        """Volume of the compartment the tissue stands for (mL)."""
        c = self.model.rows.compartments
        if self.tissue.compartment == "culture":
            return float(self.theta[c.culture_volume])
        per_cell, floor = (
            self.theta[c.interstitial_volume_per_cell],
            self.theta[c.tumour_min_volume],
        )
        return float(tumour_volume(NUMERIC, cells, per_cell, floor))

    # ------------------------------------------------------------ exchange

    def exchange_rates(self, cells: Cells, rate: Float, loading: Float) -> tuple[Float, Float]:
        """Secretion (amount/min) and uptake clearance (µm³/min) per cell and field.

        ``rate`` is each cell's exosome secretion (per min, 0 for the dead); ``loading`` the
        arm's cargo loading factors now (knock-down, over-expression), per cargo or per cell
        and cargo.
        """
        alive, pop = cells.alive, cells.population
        n, nf = len(cells), len(self.fields.names)
        secretion = np.zeros((n, nf))
        uptake = np.zeros((n, nf))
        secretion[:, : self.n_exo] = (
            rate[:, None] * self.loading[pop] * loading[..., self.field_cargo]
        )
        secretion[:, 0] = rate  # every exosome counts in the all-exosomes field
        secretion[:, : self.n_exo] *= 1.0 - self.vascular  # the rest enters the blood
        voxel = self.fields.grid.voxel_of(cells.position)
        c_all = self.fields.concentration[0].reshape(-1)[voxel]
        rows = self.model.rows.exchange
        half = self.theta[rows.uptake_half_saturation] / UM3_PER_ML
        clearance = self.theta[rows.uptake_max] / MIN_PER_DAY / (half + c_all) * alive
        uptake[:, : self.n_exo] = clearance[:, None]
        if self.oxygen is not None:
            uptake[:, self.oxygen] = self.k.oxygen_uptake * cells.volume * alive
        return secretion, uptake
