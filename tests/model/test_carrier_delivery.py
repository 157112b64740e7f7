"""An exosome carrier reaches the tumour by the account exosomes from plasma use (issue 16,
cause R): a share per tumour cell of what it releases (its mouse ``tumour_fraction`` scaled
to the patient by ``mouse_to_patient_tumour_share``), an amount of drug (the dose's moles)
that dilutes into the tumour's volume.

Before, the delivered concentration was the share times the carrier's effective plasma
concentration times plasma volume over a fixed reference volume: the per-cell share grew as
the tumour shrank below its volume floor, and the mouse share reached a patient unscaled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario
from exotwin.model.ode.equations import NUMERIC, cells_of, derive, fluxes
from exotwin.model.rules.rows import CompiledModel
from exotwin.model.scenario.load import ScenarioError

from .conftest import write

CARRIER = """\
id: carrier-{cells}
title: Doxorubicin in exosomes
populations:
  - {{cell: bc_tnbc, count: {cells}}}
mechanisms:
  rules: []
arms:
  - name: carrier
    interventions:
      - {{type: exosome_carrier, drug: doxorubicin, dose: 60,
         carrier_half_life: {{value: 24, unit: h, source: test}},
         tumour_fraction: {{value: 0.007, source: "Wilhelm et al. 2016: median 0.7 %"}}}}
duration: 3
readouts:
  - {{name: dox, kind: drug, drug: doxorubicin, compartment: tumour}}
"""
MOLES_PER_DOSE = 60 * 1.71e-3 / 543.5 * 1.0e6  # umol in 60 mg/m2 for 1.71 m2 (doxorubicin)


def _model(kb: KnowledgeBase, lib: Library, tmp_path: Path, cells: float) -> CompiledModel:
    path = write(tmp_path, CARRIER.format(cells=cells), f"carrier-{cells}.yaml")
    scenario = load_scenario(path, kb, lib)
    return compile_arm(kb, lib, scenario, scenario.arms[0], pruned=False)


def _delivered(model: CompiledModel) -> tuple[float, float]:
    """With a whole 60 mg/m2 dose in the carrier: the drug it delivers into the tumour per
    day (umol) and the concentration it adds per day (uM)."""
    theta = model.parameters.values[None, :]
    derived = derive(model, NUMERIC, theta)
    y = model.initial[None, :].copy()
    y[0, model.layout.drug("doxorubicin", "carrier")] = 0.6  # 60 mg/m2 x 0.01 uM per mg/m2
    rate = next(
        f.rate for f in fluxes(model, NUMERIC, derived, 0.0, y) if f.name == "carrier_delivery"
    )
    volume = cells_of(model, NUMERIC, derived, y).tumour_volume
    concentration = float(np.ravel(rate)[0])
    return concentration * float(np.ravel(volume)[0]) / 1.0e3, concentration


def test_carrier_share_per_tumour_cell_is_the_exosomes(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """A carrier with the mouse median share delivers the dose's moles x that share scaled per
    tumour cell: the same per-cell share of the clearance as plasma exosomes
    (``tumour_clearance_share``, scaled from the same median)."""
    amount, _ = _delivered(_model(kb, lib, tmp_path, 1.0e9))
    released = MOLES_PER_DOSE * np.log(2.0)  # per day at a 24-h half-life
    per_cell = lib.value("mouse_to_patient_tumour_share") * 0.007
    assert amount == pytest.approx(released * per_cell * 1.0e9, rel=1e-3)
    assert per_cell == pytest.approx(lib.value("tumour_clearance_share"), rel=0.05)


def test_carrier_delivers_an_amount_that_follows_the_tumours_cells(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The amount delivered per tumour cell does not depend on the tumour's size, so the
    concentration stays put while the tumour's volume follows its cells and falls once the
    volume is at its floor (1e5 cells): it never grows as the tumour shrinks."""
    large, small, tiny = (_delivered(_model(kb, lib, tmp_path, n)) for n in (1e10, 1e9, 1e5))
    assert large[0] / 1e10 == pytest.approx(small[0] / 1e9, rel=1e-6)
    assert tiny[0] / 1e5 == pytest.approx(small[0] / 1e9, rel=1e-6)
    assert large[1] == pytest.approx(small[1], rel=1e-6)
    assert tiny[1] < 0.1 * small[1]


def test_carrier_of_a_drug_without_molar_mass_is_refused(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The amount needs the drug's molar mass: without it the scenario is refused at load,
    naming the file, line and field."""
    drugs = dict(lib.drugs)
    drugs["doxorubicin"] = drugs["doxorubicin"].model_copy(update={"molar_mass": None})
    bare = dataclasses.replace(lib, drugs=drugs)
    path = write(tmp_path, CARRIER.format(cells=1e9), "bare.yaml")
    with pytest.raises(
        ScenarioError, match=r"bare.yaml:10: arms.0.interventions.0.drug: .*molar_mass"
    ):
        load_scenario(path, kb, bare)


def test_carrier_drug_freed_off_target_returns_to_plasma(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The carrier's drug that goes off target returns to plasma as free drug at
    ``carrier_offtarget_free_share`` of it, so it reaches the tumour by exchange as free drug
    does (before, it was held apart and counted only as exposure)."""
    model = _model(kb, lib, tmp_path, 1.0e9)
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    y = model.initial[None, :].copy()
    y[0, model.layout.drug("doxorubicin", "carrier")] = 0.6
    plasma = model.layout.drug("doxorubicin", "plasma")
    [offtarget] = [
        f for f in fluxes(model, NUMERIC, derived, 0.0, y) if f.name == "carrier_offtarget"
    ]
    kc = np.log(2.0)  # 1/day at a 24-h half-life
    assert offtarget.target == plasma
    assert float(np.ravel(offtarget.rate)[0]) == pytest.approx(
        kc * 0.6 * lib.value("carrier_offtarget_free_share"), rel=1e-3
    )
