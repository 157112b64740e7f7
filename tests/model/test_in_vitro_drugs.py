"""In-vitro pharmacology: a drug given as a concentration sits in the medium (no patient's
elimination), and a cytotoxic one kills growing cultured cells as its in-vitro IC50 says (a
culture held at the IC50 has half the viable cells of an untreated one after the assay time),
less in cells that confluence stops dividing. Each test fails on the model before (main at
42a7d8c), where cultured cells took the patient's half-life and the kill_max calibrated on
tumours: after three days at the IC50 a culture kept 0.89 (docetaxel), 0.64 (cisplatin), 0.95
(gemcitabine) and 0.80 (resistant cells, doxorubicin) of the untreated cells, and the medium
had lost its cisplatin and gemcitabine within hours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario, run_scenario
from exotwin.model.ode.equations import NUMERIC, derive, fluxes

from .conftest import write

ASSAY = """\
id: ic50
title: test
populations:
  - {{cell: bc_luminal, state: {state}, count: 1.0e3, compartment: culture}}
mechanisms:
  rules: []
arms:
  - name: untreated
  - name: at-ic50
    interventions:
      - {{type: drug, drug: {drug}, concentration: {conc}}}
duration: {days}
readouts:
  - {{name: cells, kind: count, of: {{cell: bc_luminal}}}}
  - {{name: medium, kind: drug, drug: {drug}, compartment: culture}}
"""


def _assay(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, drug: str, state: str, conc: float
) -> dict[str, dict[str, np.ndarray]]:
    days = lib.parameters["ic50_assay_time"].value
    text = ASSAY.format(drug=drug, state=state, conc=conc, days=days)
    scenario = load_scenario(write(tmp_path, text, "ic50.yaml"), kb, lib)
    return run_scenario(kb, lib, scenario).readouts


@pytest.mark.parametrize(
    ("drug", "state", "fold"),
    [
        ("docetaxel", "sensitive", 1.0),
        ("cisplatin", "sensitive", 1.0),
        ("gemcitabine", "sensitive", 1.0),
        ("doxorubicin", "doxorubicin_resistant", 10.0),  # resistance: the IC50 times its fold
    ],
)
def test_at_its_ic50_a_drug_halves_a_culture_over_the_assay_time(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, drug: str, state: str, fold: float
) -> None:
    ic50 = lib.drugs[drug].ec50.value * fold
    out = _assay(kb, lib, tmp_path, drug, state, ic50)
    assert out["at-ic50"]["medium"][-1] == pytest.approx(ic50, rel=1e-9)  # no liver in a dish
    ratio = out["at-ic50"]["cells"][-1] / out["untreated"]["cells"][-1]
    assert ratio == pytest.approx(0.5, abs=0.005)  # far from confluence: a 1e3-cell culture


def test_the_kill_follows_the_dose_response_curve_of_the_ic50(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Viability relative to untreated is 1 / (1 + (C / IC50)^h) at any concentration, so
    ten times the IC50 leaves a few per cent, not the quarter an Emax kill would cap at."""
    drug = lib.drugs["paclitaxel"]
    out = _assay(kb, lib, tmp_path, "paclitaxel", "sensitive", 10.0 * drug.ec50.value)
    ratio = out["at-ic50"]["cells"][-1] / out["untreated"]["cells"][-1]
    assert ratio == pytest.approx(1.0 / (1.0 + 10.0**drug.hill.value), rel=0.01)


def test_confluent_cells_keep_only_the_quiescent_share_of_the_kill(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Cytotoxic drugs kill dividing cells (Valeriote and van Putten, 1975): at confluence
    the kill per cell falls to quiescent_kill_share of that in a growing culture."""
    text = ASSAY.format(drug="doxorubicin", state="sensitive", conc=0.2, days=1)
    scenario = load_scenario(write(tmp_path, text, "ic50.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    capacity = lib.parameters["culture_capacity"].value
    per_cell = []
    for count in (1.0e3, capacity):
        y = np.zeros((1, model.layout.size))
        y[0, 0] = count
        y[0, model.layout.drug("doxorubicin", "plasma")] = 0.2
        [kill] = [f for f in fluxes(model, NUMERIC, derived, 0.0, y) if f.name == "drug_kill"]
        per_cell.append(float(kill.rate[0, 0]) / count)
    share = lib.parameters["quiescent_kill_share"].value
    assert per_cell[1] == pytest.approx(share * per_cell[0], rel=1e-3)


MEDIUM = """\
id: medium
title: test
populations:
  - {cell: bc_luminal, state: sensitive, count: 1.0e5, compartment: culture}
mechanisms:
  rules: [h19-doxorubicin]
arms:
  - name: changes
    interventions:
      - {type: exosome_dose, cargo: H19, exosomes: 1.0e9, compartment: culture,
         schedule: {start: 0, every: 2, doses: 2}}
      - {type: drug, drug: doxorubicin, concentration: 0.1, schedule: {start: 0, every: 2, doses: 2}}
duration: 3
output_every: 1
readouts:
  - {name: medium_h19, kind: exosomes, cargo: H19, compartment: culture}
"""


def test_a_medium_change_discards_the_conditioned_medium_with_its_exosomes(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Adding a drug at a medium change replaces the medium: the exosomes the cells released
    and what is left of earlier doses go with it, and that day's dose goes into the fresh
    medium whatever the order of the interventions. Fails before (main at 595c687), where
    the medium kept its exosomes across changes (day 2 held the leftovers on top of the dose)."""
    scenario = load_scenario(write(tmp_path, MEDIUM, "medium.yaml"), kb, lib)
    medium = run_scenario(kb, lib, scenario).readouts["changes"]["medium_h19"]
    dose = 1.0e9 / lib.parameters["culture_volume"].value  # exosomes/mL of fresh medium
    assert medium[0] == pytest.approx(dose, rel=1e-9)
    assert medium[1] > 0.1 * dose  # conditioned: released and left over
    assert medium[2] == pytest.approx(dose, rel=1e-6)  # changed: only the new dose
