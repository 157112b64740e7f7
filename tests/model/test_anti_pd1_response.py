"""T-cell killing of the size the clinic reports (issue 16, pharmacology a clinician would
recognise): the T cells of a virtual triple-negative tumour do not clear it, and anti-PD-1
monotherapy shrinks it relative to no treatment without a partial response, let alone a cure.

The expected ranges were written from the trials and the growth data before the test was run:

- Untreated: the tumour grows over 8 weeks, by at most its fastest doubling time. Triple-
  negative tumours double in 103 +- 43 days in untreated patients (serial ultrasound, Eur
  Radiol 2014; parameters.yaml tnbc_growth_rate), T-cell infiltrate and all: 8 weeks leave
  between 1 (no growth) and 2^(56/60) = 1.91 times the cells.
- Anti-PD-1 (pembrolizumab 200 mg every 3 weeks): objective responses, a RECIST partial
  response or better (a 30 % shorter diameter, 0.7^3 = 0.343 of the volume), in 5.3 % of
  pretreated (cohort A) and 21.4 % of untreated PD-L1-positive (cohort B) metastatic TNBC
  patients (KEYNOTE-086; Adams et al., Ann Oncol 2019), with a median progression-free
  survival of about 2 months in both: the typical patient has no objective response at the
  first scan (9 weeks). After 8 weeks the tumour keeps more than 0.343 of its cells, and fewer
  than untreated by at least the default effect size (1 %).

The tumour is the shipped checkpoint scenario's (pdl1-tnbc-checkpoint-blockade: 1e9 PD-L1-
positive TNBC cells with 1e8 CD8 T cells, a T-cell-rich tumour, and the same doses).
"""

from __future__ import annotations

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, load_scenario, run_scenario

PARTIAL_RESPONSE = 0.7**3  # RECIST: a 30 % shorter diameter
FASTEST_DOUBLING = 60.0  # days, the low end of TNBC's 103 +- 43 days


def test_t_cells_do_not_clear_a_tnbc_and_anti_pd1_shrinks_it_without_a_response(
    kb: KnowledgeBase, lib: Library
) -> None:
    scenario = load_scenario("pdl1-tnbc-checkpoint-blockade", kb, lib)
    arms = [a for a in scenario.arms if a.name in {"untreated", "anti-pd1"}]
    scenario = scenario.model_copy(update={"arms": arms, "checks": []})
    found = run_scenario(kb, lib, scenario).readouts
    day = 56
    fold = {arm: found[arm]["tumour_cells"][day] / found[arm]["tumour_cells"][0] for arm in found}
    assert 1.0 < fold["untreated"] <= 2.0 ** (day / FASTEST_DOUBLING), fold
    assert PARTIAL_RESPONSE < fold["anti-pd1"] < 0.99 * fold["untreated"], fold
