"""The tumour's share of plasma EVs and cargo: blood cells hold plasma at its measured EV level
against the plasma EVs' own clearance, and a biomarker whose analyte blood cells do not make
has a healthy background of its own, so the tumour makes most of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_library, load_scenario, run_scenario
from exotwin.model.ode.equations import NUMERIC, derive
from exotwin.model.rules.library import ModelDataError, packaged_model_dir

from .conftest import write

TRPC5 = """\
id: trpc5-baseline
title: Plasma TRPC5 in a woman with a chemoresistant tumour and in a healthy woman
populations:
  - {cell: bc_tnbc, state: doxorubicin_resistant, count: 1.0e10}
mechanisms:
  rules: [trpc5-plasma, hsp70-plasma]
arms:
  - {name: patient}
  - name: healthy
    populations: [{cell: bc_tnbc, count: 0}]
duration: 2
readouts:
  - {name: trpc5, kind: exosomes, cargo: TRPC5, compartment: plasma}
  - {name: hsp70, kind: exosomes, cargo: HSPA1A, compartment: plasma}
  - {name: evs, kind: exosomes, compartment: plasma}
  - {name: tumour_evs, kind: tumour_derived, compartment: plasma}
  - {name: tumour_trpc5, kind: tumour_derived, cargo: TRPC5, compartment: plasma}
"""


def test_blood_cells_input_agrees_with_their_estimated_secretion(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """Holding 1e10 EVs/mL against the plasma EVs' clearance takes an input of the blood
    cells' within 2-fold of the (1.5 +- 0.4)e12 EVs/min Auber and Svenningsen (2022)
    estimate; with a 2-min half-life (cultured-cell exosomes in mice) it took 6-fold."""
    scenario = load_scenario(write(tmp_path, TRPC5), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    shares = model.rows.pools.background_share
    [blood] = np.flatnonzero(shares < 0)  # the blood cells' own EV pool
    per_minute = float(np.asarray(derived.pools["background_input"])[0, blood]) / 1440
    assert 1.5e12 / 2 < per_minute < 1.5e12 * 2


def test_a_tissue_analyte_has_its_own_healthy_background(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """TRPC5 (brain, lung, placenta, testis; not blood cells) has the rule's background, an
    analyte blood cells make (Hsp70) the shared default; the tumour's EVs stay a small share
    of plasma EVs (at most 0.5 % in tumour-bearing mice; mutant-protein EVs < 0.1 % in
    stage-I pancreatic cancer, Ferguson et al., Sci Adv 2022) but make most of its TRPC5."""
    scenario = load_scenario(write(tmp_path, TRPC5), kb, lib)
    analytes = compile_arm(kb, lib, scenario, scenario.arms[0]).structure.analytes
    assert analytes["TRPC5"] == "trpc5-plasma.background"
    assert analytes["HSPA1A"] == "analyte_background_copies"

    result = run_scenario(kb, lib, scenario)
    patient, healthy = result.readouts["patient"], result.readouts["healthy"]
    evs = lib.parameters["plasma_background_ev"].value
    own = lib.rules["trpc5-plasma"].background
    assert own is not None and own.value < lib.parameters["analyte_background_copies"].value
    assert healthy["trpc5"][-1] == pytest.approx(own.value * evs, rel=1e-3)
    assert 1e-5 < patient["tumour_evs"][-1] < 2.5e-3
    assert patient["tumour_trpc5"][-1] > 0.9


def test_a_background_belongs_to_a_biomarker_rule(kb: KnowledgeBase, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "rules:\n  - id: mir9-caf-bg\n    record: s000.mir9-nf-to-caf\n"
        "    background: {value: 1.0e-9, unit: copies per EV, source: test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), extra])
    [problem] = [p for p in info.value.problems if p.file == extra]
    assert problem.field == "rules.0.background" and "biomarker" in problem.message
