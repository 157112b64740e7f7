"""Trastuzumab monotherapy of the size the clinic reports (issue 16, pharmacology a clinician
would recognise): four three-weekly cycles of trastuzumab alone leave the nominal HER2-positive
tumour in stable disease, smaller than untreated, and do not shrink it into a partial response.

The expected ranges were written from the trials and the growth data before the test was run:

- Trastuzumab alone, first line (Vogel et al., J Clin Oncol 2002; 20:719; 114 women, 4 mg/kg
  then 2 mg/kg weekly or 8 then 4 mg/kg weekly): objective responses (a RECIST-style partial
  response or better, a 30 % shorter diameter, 0.7^3 = 0.343 of the volume) in 26 % of all
  patients (7 complete, 23 partial; 95 % CI 18-34 %), 35 % of IHC 3+ and 34 % of FISH-amplified
  patients; in pretreated patients 15 % (Cobleigh et al., J Clin Oncol 1999; 17:2639). The
  typical (median) patient therefore has no objective response. The median time to progression
  was about 3.5 months (Vogel 2002, as the issue quotes it): the median patient has not
  progressed (a 20 % longer diameter, 1.2^3 = 1.728 of the volume) by the 12-week assessment.
  The nominal patient is in stable disease at day 84: between 0.343 and 1.728 of its cells,
  and never above 1.728 before.
- Trastuzumab is active against HER2-amplified tumours (it is why responses occur and why
  it lengthens time to progression with chemotherapy), so the treated tumour is smaller than
  the untreated one at day 84 by a clear margin: at least 10 %.
- Untreated: HER2-positive tumours double in volume in 162 +- 60 days in untreated patients
  (serial ultrasound, Eur Radiol 2014; parameters.yaml her2_growth_rate): 84 days leave between
  1 (no growth) and 2^(84/102) = 1.77 times the cells at the fastest doubling (102 days).

The label schedule is the shipped HER2 scenarios' (trastuzumab-her2-exosome-decoys,
her2-escrt-sorting-trastuzumab): 8 mg/kg, then 6 mg/kg every 3 weeks; four doses (days 0, 21,
42, 63) cover the 12 weeks. In a dish trastuzumab has no immune effector cells, so its
in-vivo kill (ADCC, ``kill_max``) must not change a culture's response.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, load_scenario, run_scenario
from exotwin.model.uncertainty.robust import with_values

from .conftest import write

PARTIAL_RESPONSE = 0.7**3  # RECIST: a 30 % shorter diameter
PROGRESSION = 1.2**3  # RECIST: a 20 % longer diameter
FASTEST_DOUBLING = 102.0  # days, the low end of HER2+ tumours' 162 +- 60 days
DAY = 84  # 12 weeks: four three-weekly cycles, the trial's response assessment

TUMOUR = """\
id: trastuzumab-monotherapy
title: Trastuzumab alone on a HER2-positive tumour of 1e9 cells, label schedule
subtype: her2_positive
populations:
  - {cell: bc_her2, count: 1.0e9}
mechanisms:
  rules: []
arms:
  - name: untreated
  - name: trastuzumab
    interventions:
      - {type: drug, drug: trastuzumab, dose: 8, schedule: {start: 0}}
      - {type: drug, drug: trastuzumab, dose: 6, schedule: {start: 21, every: 21, doses: 3}}
duration: 84
output_every: 1
readouts:
  - {name: cells, kind: count, of: {cell: bc_her2, compartment: tumour}}
"""

DISH = """\
id: trastuzumab-dish-only
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
"""


@pytest.fixture(scope="module")
def fold(kb: KnowledgeBase, lib: Library, tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    path = write(tmp_path_factory.mktemp("trastuzumab"), TUMOUR)
    found = run_scenario(kb, lib, load_scenario(path, kb, lib)).readouts
    return {arm: found[arm]["cells"][: DAY + 1] / found[arm]["cells"][0] for arm in found}


def test_untreated_her2_tumour_grows_no_faster_than_its_fastest_doubling(fold: dict) -> None:  # type: ignore[type-arg]
    assert 1.0 < fold["untreated"][DAY] <= 2.0 ** (DAY / FASTEST_DOUBLING), fold["untreated"][DAY]


def test_trastuzumab_alone_gives_stable_disease_not_a_partial_response(fold: dict) -> None:  # type: ignore[type-arg]
    """Vogel 2002: 26 % objective responses (34 % if FISH-amplified), median time to
    progression ~3.5 months: the nominal patient neither responds nor progresses by week 12."""
    treated = fold["trastuzumab"]
    assert np.min(treated) > PARTIAL_RESPONSE, float(np.min(treated))
    assert np.max(treated) < PROGRESSION, float(np.max(treated))


def test_trastuzumab_still_keeps_the_tumour_smaller_than_untreated(fold: dict) -> None:  # type: ignore[type-arg]
    assert fold["trastuzumab"][DAY] < 0.9 * fold["untreated"][DAY], (
        fold["trastuzumab"][DAY],
        fold["untreated"][DAY],
    )


def test_trastuzumab_in_a_dish_does_not_depend_on_its_in_vivo_kill(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The ADCC term needs the host's effector cells: a culture's response is growth
    inhibition only, the same whatever ``kill_max`` is."""
    scenario = load_scenario(write(tmp_path, DISH), kb, lib)
    runs = []
    for kill in (0.0, 0.1):
        changed = with_values(lib, {("drugs", "trastuzumab", "kill_max"): kill})
        runs.append(run_scenario(kb, changed, scenario).readouts)
    for arm in ("untreated", "trastuzumab"):
        np.testing.assert_allclose(runs[0][arm]["cells"], runs[1][arm]["cells"], rtol=1e-9)
    assert runs[0]["trastuzumab"]["cells"][7] < 0.9 * runs[0]["untreated"]["cells"][7]
