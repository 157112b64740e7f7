"""Oral dosing: a drug given by mouth reaches the blood at its oral bioavailability (drugs.yaml
``oral_bioavailability``), an oral exosome carrier at the formulation's own
(``bioavailability``), so free and exosomal curcumin can be compared orally (seed 003 section
6.2, Aqil et al. 2017; issue 16).

Before, there was no drug ``curcumin`` and no oral route: such a scenario was refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, ScenarioError, load_scenario, run_scenario

from .conftest import write

CARRIER = (
    "{{type: exosome_carrier, drug: curcumin, dose: 100, {route}"
    " carrier_half_life: {{value: 24, unit: h, source: assumption, low: 6, high: 72}},"
    " tumour_fraction: {{value: 0.007, source: assumption, low: 0.001, high: 0.05}}}}"
)
ORAL_CARRIER = CARRIER.format(
    route="route: oral, bioavailability: {value: 0.05, source: assumption, low: 0.01, high: 0.2},"
)
SCENARIO = """\
id: oral-curcumin
title: Free and exosomal curcumin, by mouth or intravenously
populations:
  - {{cell: bc_tnbc, count: 1.0e9}}
mechanisms: {{rules: []}}
arms:
  - name: untreated
  - name: free-iv
    interventions: [{{type: drug, drug: curcumin, dose: 100}}]
  - name: free-oral
    interventions: [{{type: drug, drug: curcumin, dose: 100, route: oral}}]
  - name: exosomal-iv
    interventions: [{carrier}]
  - name: exosomal-oral
    interventions: [{oral_carrier}]
duration: 7
readouts:
  - {{name: cells, kind: count, of: {{cell: bc_tnbc}}}}
  - {{name: exposure, kind: offtarget_exposure, drug: curcumin}}
  - {{name: killed, kind: killed, drug: curcumin}}
"""


def _scenario(kb: KnowledgeBase, lib: Library, tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return load_scenario(write(tmp_path, text, "oral-curcumin.yaml"), kb, lib)


def test_an_oral_dose_reaches_the_blood_at_its_bioavailability(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """One compartment, linear kinetics: the plasma exposure of an oral dose is the drug's oral
    bioavailability (curcumin: 1 %) times that of the same dose intravenously, and an oral
    carrier's is its formulation's (here 5 %); the drug kills accordingly."""
    text = SCENARIO.format(carrier=CARRIER.format(route=""), oral_carrier=ORAL_CARRIER)
    found = run_scenario(kb, lib, _scenario(kb, lib, tmp_path, text)).readouts
    free = found["free-oral"]["exposure"][-1] / found["free-iv"]["exposure"][-1]
    assert free == pytest.approx(lib.parameters["curcumin_oral_bioavailability"].value, rel=1e-3)
    carried = found["exosomal-oral"]["exposure"][-1] / found["exosomal-iv"]["exposure"][-1]
    assert carried == pytest.approx(0.05, rel=1e-3)
    assert found["exosomal-oral"]["killed"][-1] > found["free-oral"]["killed"][-1] > 0.0
    assert found["exosomal-oral"]["cells"][-1] < found["free-oral"]["cells"][-1]
    assert found["free-oral"]["cells"][-1] < found["untreated"]["cells"][-1]


@pytest.mark.parametrize(
    ("intervention", "field", "message"),
    [
        (
            "{type: drug, drug: doxorubicin, dose: 60, route: oral}",
            "route",
            "no doxorubicin_oral_bioavailability",
        ),
        (CARRIER.format(route="route: oral,"), "0", "needs its bioavailability"),
        (
            "{type: drug, drug: curcumin, concentration: 10, route: oral}",
            "0",
            "not a concentration",
        ),
    ],
)
def test_an_oral_dose_it_cannot_give_is_refused(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, intervention: str, field: str, message: str
) -> None:
    text = SCENARIO.replace(
        "{{type: drug, drug: curcumin, dose: 100}}",
        intervention.replace("{", "{{").replace("}", "}}"),
    )
    text = text.format(carrier=CARRIER.format(route=""), oral_carrier=ORAL_CARRIER)
    with pytest.raises(ScenarioError) as info:
        _scenario(kb, lib, tmp_path, text)
    [problem] = info.value.problems
    assert message in str(problem) and "\n" not in str(problem)
    assert problem.field.startswith("arms.1.interventions.0")
    assert field == "0" or problem.field.endswith(field)
