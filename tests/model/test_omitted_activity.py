"""An effect a rule omits (``omit``, so that a relay does not count it twice) stays readable as
an activity level of its receiver, relayed to no one and moving no rate (issue 16, outsider2's
"cannot be written": miR-183-5p raises IL-2 and TNF-alpha secretion by macrophages, s000 [44],
whose rule ``mir183-lung`` omits ``cytokine_secretion``).

Before, the loader refused an ``activity`` readout of an omitted effect ("not simulated").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario, run_scenario
from exotwin.model.rules.table import Activity

from .conftest import write

SCENARIO = """\
id: mir183-cytokines
title: Exosomal miR-183-5p and the cytokines of macrophages
populations:
  - {{cell: bc_tnbc, count: 1.0e9}}
  - {{cell: macrophage, count: 1.0e8, compartment: tumour}}
  - {{cell: macrophage, count: 1.0e7, compartment: lung}}
mechanisms:
  rules: [mir183-lung]
arms:
  - name: control
  - name: knockdown
    interventions:
      - {{type: cargo_knockdown, cargo: miR-183-5p, efficacy: 0.9}}
duration: 10
readouts:
  - {{name: cancer, kind: count, of: {{cell: breast_cancer_cell, compartment: tumour}}}}
  - {{name: lung, kind: count, of: {{cell: breast_cancer_cell, compartment: lung}}}}
{extra}"""
CYTOKINES = (
    "  - {name: cytokines, kind: activity, phenotype: cytokine_secretion,"
    " of: {cell: macrophage, compartment: tumour}}\n"
)


def _load(kb: KnowledgeBase, lib: Library, tmp_path: Path, extra: str):  # type: ignore[no-untyped-def]
    return load_scenario(
        write(tmp_path, SCENARIO.format(extra=extra), "mir183-cytokines.yaml"), kb, lib
    )


def test_an_omitted_effect_reads_as_its_receivers_activity(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The macrophages' cytokine secretion rises with miR-183-5p (higher than with it knocked
    down); the readout loads."""
    scenario = _load(kb, lib, tmp_path, CYTOKINES)
    found = run_scenario(kb, lib, scenario).readouts
    assert found["control"]["cytokines"][-1] > 1.01 * found["knockdown"]["cytokines"][-1]
    assert found["knockdown"]["cytokines"][-1] >= 1.0


def test_an_omitted_effect_is_relayed_to_no_one(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Its only term is the receivers' own activity level: the cancer cells beside the
    macrophages (acts_on through cytokine_secretion) get nothing from it, so the tumour and
    the lung are as without the readout."""
    scenario = _load(kb, lib, tmp_path, CYTOKINES)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    terms = [t for t in model.terms if t.phenotype == "cytokine_secretion"]
    macrophages = {p.index for p in model.populations if p.cell == "macrophage"}
    assert terms and all(
        isinstance(t.target, Activity) and t.target.pop in macrophages for t in terms
    )
    read = run_scenario(kb, lib, scenario).readouts
    plain = run_scenario(kb, lib, _load(kb, lib, tmp_path, "")).readouts
    for name in ("cancer", "lung"):
        assert read["control"][name][-1] == pytest.approx(plain["control"][name][-1], rel=1e-6)
