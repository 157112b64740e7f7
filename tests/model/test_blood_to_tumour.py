"""Exosomes in the blood reach the primary tumour through its leaky vessels (EPR): plasma
clearance delivers the tumour a share per tumour cell (``tumour_clearance_share``), competing
with the niches and the rest of the body."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.equations import NUMERIC, derive, fluxes
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario

from .conftest import write

INTRAVENOUS = """\
id: iv-exosomes
title: Exosomes injected into the blood
populations:
  - {{cell: bc_tnbc, count: {cells}}}
mechanisms:
  rules: []
arms:
  - name: injected
    interventions:
      - {{type: exosome_dose, cargo: TGFB1, exosomes: 1.0e12, compartment: plasma,
         schedule: {{every: 1, doses: 3}}}}
duration: 3
readouts:
  - {{name: tumour, kind: exosomes, cargo: TGFB1, compartment: tumour}}
"""


def _clearance(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, cells: float
) -> dict[tuple[str, str], float]:
    """Where plasma clearance sends 1e10 TGFB1 exosomes in plasma (per day), by destination
    (cargo, compartment); ("lost", "plasma"): what it removes without a destination."""
    path = write(tmp_path, INTRAVENOUS.format(cells=cells), f"iv-{cells}.yaml")
    scenario = load_scenario(path, kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0], pruned=False)
    theta = model.parameters.values[None, :]
    pools = {i: key for key, i in model.structure.pools.items()}
    plasma = model.structure.pools[("TGFB1", "plasma")]
    y = model.initial[None, :].copy()
    y[0, model.layout.pools + plasma] = 1.0e10
    found = {}
    for flux in fluxes(model, NUMERIC, derive(model, NUMERIC, theta), 0.0, y):
        if flux.name not in {"transport", "decay"}:
            continue
        source = np.broadcast_to(flux.source, flux.rate.shape[-1:])
        target = np.broadcast_to(-1 if flux.target is None else flux.target, source.shape)
        for rate, s, t in zip(flux.rate[0], source, target, strict=True):
            if s == model.layout.pools + plasma:
                where = pools[t - model.layout.pools] if t >= 0 else ("lost", "plasma")
                found[where] = float(rate)
    return found


def test_plasma_clearance_reaches_the_primary_tumour_per_its_cells(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Before, blood cleared only into the niches and the rest of the body: an intravenous
    dose never reached the primary tumour. The tumour takes ``tumour_clearance_share`` per
    cell of the clearance, out of what the rest of the body took; the total is unchanged."""
    small, large = (_clearance(kb, lib, tmp_path, n) for n in (1.0e9, 1.0e10))
    assert small.get(("TGFB1", "tumour"), 0.0) > 0.0
    clearance = lib.value("plasma_clearance") * 1.0e10
    share = lib.value("tumour_clearance_share")
    assert small[("TGFB1", "tumour")] == pytest.approx(clearance * share * 1.0e9, rel=1e-6)
    assert large[("TGFB1", "tumour")] == pytest.approx(10 * small[("TGFB1", "tumour")])
    liver = lib.value("niche_fraction_liver") * clearance
    assert small[("TGFB1", "liver")] == pytest.approx(liver, rel=1e-9)
    assert sum(small.values()) == pytest.approx(clearance, rel=1e-9)
    assert sum(large.values()) == pytest.approx(clearance, rel=1e-9)
