"""An extinction floor (issue 16, cause 12; docs/scenarios.md "Drugs"): fewer than one cell
does not divide, and counts below one cell read as zero, so two cured arms do not differ by
"100 %" on 1e-29 cells; fractions of an extinct population read 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, load_scenario, run_scenario
from exotwin.model.scenario.run import ScenarioResult

from .conftest import write

DISH = """\
id: floor
title: A culture killed below one cell, and a thousandth of a cell left alone
populations:
  - {{cell: {cell}, state: sensitive, count: {count}, compartment: culture}}
mechanisms:
  rules: []
arms:
  - name: {arm}
{interventions}duration: 20
output_every: 1
readouts:
  - {{name: cells, kind: count, of: {{cell: {cell}, compartment: culture}}}}
  - {{name: share, kind: fraction, of: {{cell: {cell}}}, among: {{cell: breast_cancer_cell}}}}
"""
CISPLATIN = """\
    interventions:
      - {type: drug, drug: cisplatin, concentration: 500.0, schedule: {start: 0, every: 2, doses: 10}}
"""


def _run(kb: KnowledgeBase, lib: Library, tmp_path: Path, **fields: str) -> ScenarioResult:
    scenario = load_scenario(write(tmp_path, DISH.format(**fields)), kb, lib)
    return run_scenario(kb, lib, scenario)


def test_fewer_than_one_cell_reads_as_none(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    result = _run(
        kb,
        lib,
        tmp_path,
        cell="bc_luminal",
        count="1.0e4",
        arm="cisplatin",
        interventions=CISPLATIN,
    )
    raw = result.trajectories["cisplatin"].states[:, 0]
    found = result.readouts["cisplatin"]
    below = (raw > 0) & (raw < 1.0)
    assert below.any(), "the drug leaves a fraction of a cell on some day"
    assert not found["cells"][below].any()
    assert not found["share"][below].any()
    assert np.all(found["cells"] >= 0) and np.all(found["share"] >= 0)


def test_a_fraction_of_a_cell_does_not_regrow(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """A thousandth of a cell in a dish (division ~0.45/day) would grow ~8000-fold in 20 days,
    to several cells, if a fraction of a cell divided; it stays below one cell and reads 0."""
    result = _run(kb, lib, tmp_path, cell="bc_tnbc", count="1.0e-3", arm="alone", interventions="")
    raw = result.trajectories["alone"].states[:, 0]
    assert raw.max() <= 1.0e-3 * (1 + 1e-6)
    assert not result.readouts["alone"]["cells"].any()
