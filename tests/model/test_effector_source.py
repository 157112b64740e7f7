"""Effector T and NK cells (``expands_when_active``) come from a constant source, die and
divide above it when activated (Kuznetsov et al., Bull Math Biol 1994; de Pillis et al.,
Cancer Res 2005): dE/dt = sigma + p(activation) E - d E, sigma = d E0 (docs/scenarios.md).

The suppressed test failed before: T cells renewed at the rate they divided, so a lasting
suppression of their division made them decay exponentially towards zero.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario, run_scenario
from exotwin.model.uncertainty.cohort import _patient_arm, _patient_model

from .conftest import write

T_CELLS = 1.0e6
SCENARIO = f"""\
id: effector-source
title: test
populations:
  - {{cell: bc_luminal, count: 1.0e6, compartment: culture}}
  - {{cell: cd8_t_cell, count: {T_CELLS}, compartment: culture}}
mechanisms:
  rules: [caf-mir92-proliferation]
arms:
  - name: caf
    interventions:
      - {{type: exosome_dose, donor: {{cell: caf}}, exosomes: 1.0e10, compartment: culture,
          schedule: {{every: 1, doses: 200}}}}
  - name: none
duration: 200
readouts:
  - {{name: t_cells, kind: count, of: {{cell: t_cell}}}}
  - {{name: t_activity, kind: activity, phenotype: t_cell_activity, of: {{cell: t_cell}}}}
"""


def test_suppressed_t_cells_fall_to_a_floor_and_unsignalled_ones_stay(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Under 200 days of suppression (CAF exosomes, PD-L1 on the cancer cells, [82]) the T cells
    fall but stay above sigma / (d + g) = E0 / 2 (the floor of any suppression of their
    division, base division g equal to death d); without a signal they stay at E0."""
    scenario = load_scenario(write(tmp_path, SCENARIO, "effector.yaml"), kb, lib)
    found = run_scenario(kb, lib, scenario).readouts
    caf, none = found["caf"], found["none"]
    assert float(caf["t_activity"][-1]) < 0.9
    assert 0.5 * T_CELLS < float(caf["t_cells"][-1]) < 0.99 * T_CELLS
    assert float(none["t_cells"].min()) == pytest.approx(T_CELLS, rel=1e-9)
    assert float(none["t_cells"].max()) == pytest.approx(T_CELLS, rel=1e-9)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    t_cells = next(p.index for p in model.populations if p.cell == "cd8_t_cell")
    assert list(model.rows.cells.expanding) == [t_cells]
    count = model.parameters.names.index(f"population{t_cells}.count")
    assert list(model.rows.cells.source) == [count]
    assert model.parameters.values[count] == T_CELLS


def test_a_patient_scales_the_source_with_its_counts(kb: KnowledgeBase, lib: Library) -> None:
    """A cohort patient's effector source follows its scaled counts (the declared count is a
    parameter): its model is the one compiling its own counts builds."""
    scenario = load_scenario("tgfb-exosomes-tumour-t-cells-in-vivo", kb, lib)
    arm = scenario.arms[0]
    patient = _patient_arm(scenario, arm, 1.7)
    assert not isinstance(patient, str)
    found = _patient_model(compile_arm(kb, lib, scenario, arm), patient, {}, 1.7)
    expected = compile_arm(kb, lib, *patient)
    assert len(found.rows.cells.source)
    assert pickle.dumps(found.parameters) == pickle.dumps(expected.parameters)
    assert np.array_equal(found.parameters.values, expected.parameters.values)
