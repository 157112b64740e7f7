"""Pharmacology a clinician would recognise (issue 16, cause 11; docs/scenarios.md "Drugs" and
"Antibodies in the tumour"): one standard dose of a chemotherapy kills about half of a
sensitive tumour's cells (drugs.yaml `kill_max`, calibrated on it: range 20-80 %), four cycles
shrink it by about 90 % (NSABP B-27, Bear et al. 2003), and three cycles of doxorubicin with
trastuzumab leave a tumour, not fewer than one cell in six weeks as before. Trastuzumab blocks
division; it kills only in vivo (ADCC by the host's immune cells), never in a dish.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, load_scenario, run_scenario

from .conftest import write

TUMOUR = """\
id: course
title: Courses of chemotherapy on a sensitive HER2-positive tumour of 1e9 cells
populations:
  - {cell: bc_her2, state: sensitive, count: 1.0e9}
mechanisms:
  rules: []
arms:
  - name: untreated
  - name: one-dose
    interventions:
      - {type: drug, drug: doxorubicin, dose: 60, schedule: {start: 0, every: 21, doses: 1}}
  - name: four-cycles
    interventions:
      - {type: drug, drug: doxorubicin, dose: 60, schedule: {start: 0, every: 21, doses: 4}}
  - name: with-trastuzumab
    interventions:
      - {type: drug, drug: doxorubicin, dose: 60, schedule: {start: 0, every: 21, doses: 3}}
      - {type: drug, drug: trastuzumab, dose: 6, schedule: {start: 0, every: 21, doses: 3}}
duration: 84
output_every: 1
readouts:
  - {name: cells, kind: count, of: {cell: breast_cancer_cell, compartment: tumour}}
"""

DISH = """\
id: trastuzumab-dish
title: Trastuzumab on HER2-positive cells in a dish
populations:
  - {cell: bc_her2, state: sensitive, count: 1.0e5, compartment: culture}
mechanisms:
  rules: []
arms:
  - name: untreated
  - name: trastuzumab
    interventions:
      - {type: drug, drug: trastuzumab, concentration: 1.0, schedule: {start: 0, every: 2, doses: 4}}
duration: 7
output_every: 1
readouts:
  - {name: cells, kind: count, of: {cell: bc_her2, compartment: culture}}
  - {name: killed, kind: killed, drug: trastuzumab, of: {cell: bc_her2, compartment: culture}}
"""


@pytest.fixture(scope="module")
def course(kb: KnowledgeBase, lib: Library, tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    path = write(tmp_path_factory.mktemp("course"), TUMOUR)
    return run_scenario(kb, lib, load_scenario(path, kb, lib)).readouts


def test_one_dose_kills_about_half_of_a_sensitive_tumour(course: dict) -> None:  # type: ignore[type-arg]
    """Three weeks after one dose of doxorubicin the tumour holds about half the cells of an
    untreated one (the calibration's 20-80 %), and the first day does not take most of them."""
    untreated, dosed = course["untreated"]["cells"], course["one-dose"]["cells"]
    assert 0.2 < dosed[21] / untreated[21] < 0.8
    assert dosed[1] / untreated[1] > 0.5


def test_four_cycles_shrink_a_tumour_by_about_ninety_percent(course: dict) -> None:  # type: ignore[type-arg]
    left = course["four-cycles"]["cells"][84] / course["four-cycles"]["cells"][0]
    assert 0.03 < left < 0.3  # ~90 % smaller: a clinical response, not a cure in weeks


def test_a_course_with_trastuzumab_leaves_a_tumour(course: dict) -> None:  # type: ignore[type-arg]
    """Three cycles of doxorubicin plus trastuzumab: below one cell in ~6 weeks before."""
    cells = course["with-trastuzumab"]["cells"]
    assert cells[42] > 1.0e7
    assert np.all(cells[:85] >= 1.0)


def test_trastuzumab_blocks_division_and_kills_nothing_in_a_dish(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    found = run_scenario(kb, lib, load_scenario(write(tmp_path, DISH), kb, lib)).readouts
    assert not np.any(found["trastuzumab"]["killed"])
    treated, untreated = found["trastuzumab"]["cells"][7], found["untreated"]["cells"][7]
    assert treated > 1.0e5  # still growing: cytostatic, not cytotoxic
    assert treated < 0.5 * untreated
