"""An `activity` readout of a phenotype that the selected cells carry as a rate (T-cell
activity is their killing and division) reads that rate's fold, not a constant 1.

Before, such a readout returned 1 whatever the rules did to the rate (freshclaims: the T-cell
activity of `lin28b-lung-immunosuppression` and `tumour-exosome-dc-vaccine` read 1 while the
T cells' killing changed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario, run_scenario
from exotwin.model.rules.library import load_library, packaged_model_dir
from exotwin.model.rules.table import Activity, Killing

from .conftest import write

SCENARIO = """\
id: t-cell-activity-rate
title: T cells with breast-cancer exosomes (TGF-beta lowers their activity)
populations:
  - {cell: cd8_t_cell, count: 1.0e6, compartment: culture}
mechanisms:
  rules: [tgfb-exosomes-t-cells]
arms:
  - name: none
  - name: exosomes
    interventions:
      - {type: exosome_dose, donor: {cell: bc_tnbc}, exosomes: 1.0e9, compartment: culture,
         schedule: {start: 0, every: 2, doses: 4}}
duration: 7
readouts:
  - {name: activity, kind: activity, phenotype: t_cell_activity, of: {cell: t_cell, compartment: culture}}
"""


def test_activity_of_a_rate_reads_its_fold(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, SCENARIO, "t-cell-activity-rate.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    targets = {type(t.target) for t in model.terms if t.phenotype == "t_cell_activity"}
    assert Killing in targets and Activity not in targets  # a rate, no activity variable
    result = run_scenario(kb, lib, scenario)
    dosed, control = result.readouts["exosomes"], result.readouts["none"]
    np.testing.assert_allclose(control["activity"], 1.0)
    assert dosed["activity"][0] == 1.0  # no exosomes taken up yet
    assert 0.0 < dosed["activity"][-1] < 0.99  # TGF-beta lowers the T cells' killing


SURVIVAL = """\
id: survival-activity
title: Survivin exosomes and paclitaxel-treated cells
populations:
  - {cell: bc_her2, state: paclitaxel_treated, count: 1.0e6, compartment: culture}
mechanisms:
  rules: [t-survivin]
arms:
  - name: survivin
    interventions:
      - {type: exosome_dose, cargo: survivin, exosomes: 1.0e10, compartment: culture,
         schedule: {every: 1, doses: 7}}
  - name: none
duration: 7
readouts:
  - {name: survival, kind: activity, phenotype: cell_survival, of: {cell: bc_her2, compartment: culture}}
  - {name: cells, kind: count, of: {cell: bc_her2, compartment: culture}}
"""


def test_more_survival_reads_higher(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A survival signal lowers the death rate; its activity reads the inverse of that fold,
    so exosomes that promote survival read above 1 (outsider5, cause AB: it read 0.61)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "survival.yaml").write_text(
        "rules:\n  - {id: t-survivin, record: s000.ptx-mda231-survivin-skbr3,"
        " effects: [cell_survival]}\n"
    )
    lib = load_library(kb, [packaged_model_dir(), rules])
    scenario = load_scenario(write(tmp_path, SURVIVAL, "survival-activity.yaml"), kb, lib)
    found = run_scenario(kb, lib, scenario).readouts
    np.testing.assert_allclose(found["none"]["survival"], 1.0)
    assert found["survivin"]["survival"][-1] > 1.01
    assert found["survivin"]["cells"][-1] > found["none"]["cells"][-1]
