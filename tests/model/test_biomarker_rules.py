"""Biomarker rules: an analyte lower in cancer than in health is carried by the body's normal
cells (blood cells' EVs at the rule's loading) and cancer cells load it at the basal level, so
the tumour's EVs dilute it per EV instead of raising it from a near-zero baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario

from .conftest import write

PLASMA = """\
id: falling-marker
title: CD82 (lower in cancer) and Hsp70 (higher) in a patient and a healthy woman
populations:
  - {cell: breast_cancer_cell, count: 1.0e10}
mechanisms:
  rules: [cd82-low-circulating-exosomes, hsp70-plasma]
arms:
  - {name: patient}
  - name: healthy
    populations: [{cell: breast_cancer_cell, count: 0}]
duration: 7
readouts:
  - {name: cd82, kind: exosomes, cargo: CD82, compartment: plasma}
  - {name: hsp70, kind: exosomes, cargo: HSPA1A, compartment: plasma}
  - {name: evs, kind: exosomes, compartment: plasma}
  - {name: cd82_per_ev, kind: ratio, numerator: cd82, denominator: evs}
  - {name: hsp70_per_ev, kind: ratio, numerator: hsp70, denominator: evs}
"""


def test_an_analyte_lower_in_cancer_has_a_healthy_level_that_tumour_evs_dilute(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    scenario = load_scenario(write(tmp_path, PLASMA), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    s = model.structure
    cancer = {p.index for p in s.populations if p.cell == "breast_cancer_cell"}
    loads = {
        table: {pop for pop, key in rows if s.pool_cargo[key] == "CD82"}
        for table, rows in (("full", s.secretion), ("basal", s.basal))
    }
    assert loads["full"] == set() and loads["basal"] == cancer  # cancer cells load less
    assert s.analytes["CD82"] == "rule_loading"  # the healthy level: normal cells' loading
    assert s.analytes["HSPA1A"] == "analyte_background_copies"

    result = run_scenario(kb, lib, scenario)
    patient, healthy = result.readouts["patient"], result.readouts["healthy"]
    loading = lib.parameters["rule_loading"].value
    background = lib.parameters["plasma_background_ev"].value
    assert healthy["evs"][-1] == pytest.approx(background)  # all EVs: blood cells' too
    assert healthy["cd82"][-1] == pytest.approx(loading * background)
    assert patient["evs"][-1] > healthy["evs"][-1]  # the tumour adds EVs ...
    assert patient["cd82_per_ev"][-1] < healthy["cd82_per_ev"][-1]  # ... poorer in CD82
    assert patient["hsp70_per_ev"][-1] > healthy["hsp70_per_ev"][-1]  # and richer in Hsp70


SUBTYPES = """\
id: subtype-marker
title: Lin28B (a marker of triple-negative disease, sample unnamed) in two patients
populations:
  - {cell: bc_tnbc, count: 1.0e9}
mechanisms:
  records: [s000.lin28b-tnbc-exosome-marker]
arms:
  - {name: tnbc}
  - name: luminal
    populations: [{cell: bc_luminal, count: 1.0e9}]
duration: 7
readouts:
  - {name: lin28b, kind: exosomes, cargo: LIN28B, compartment: plasma}
"""


def test_plasma_has_an_analytes_healthy_baseline_without_its_source_cells(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """A marker whose record leaves the sample unnamed is read in plasma over the blood cells'
    baseline, also where no cell of its source type exists (a luminal tumour for a TNBC
    marker): the comparison cannot hold by construction against a zero."""
    scenario = load_scenario(write(tmp_path, SUBTYPES), kb, lib)
    assert kb.records["s000.lin28b-tnbc-exosome-marker"].fluid == "other"
    result = run_scenario(kb, lib, scenario)
    copies = lib.parameters["analyte_background_copies"].value
    background = lib.parameters["plasma_background_ev"].value
    luminal, tnbc = result.readouts["luminal"]["lin28b"][-1], result.readouts["tnbc"]["lin28b"][-1]
    assert luminal == pytest.approx(copies * background, rel=1e-3)
    assert tnbc > 1.1 * luminal
