"""Checkpoint blockade and PD-L1 on cells (issue 16): an anti-PD-1 antibody that blocks PD-L1
at the T cells' PD-1 (in T cells only, not soaked up by PD-L1 exosomes), and a cancer cell's
PD-L1 expression, raised by a record (CAF exosomal miR-92, s000 [82]), acting on the T cells
beside it as a PD-L1 signal (cells.yaml ``acts_on`` ``through`` with a ``ligand``).

Every test but the last failed before: the anti-PD-1 antibody was an unknown drug, and a
T-cell readout of the miR-92 record was refused at load (no rule set T-cell activity).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_library, load_scenario, run_scenario
from exotwin.model.rules.library import ModelDataError, packaged_model_dir

from .conftest import write

CAF_DOSE = (
    "      - {type: exosome_dose, donor: {cell: caf}, exosomes: 1.0e10, compartment: culture,"
    " schedule: {every: 1, doses: 7}}"
)
NF_DOSE = CAF_DOSE.replace("cell: caf", "cell: fibroblast")
ANTI_PD1 = (
    "      - {type: drug, drug: anti-PD-1 antibody, concentration: 0.5,"
    " schedule: {every: 2, doses: 4}}"
)
MIR92 = f"""\
id: caf-mir92-t-cells
title: test
populations:
  - {{cell: bc_luminal, count: 1.0e6, compartment: culture}}
  - {{cell: cd8_t_cell, count: 1.0e6, compartment: culture}}
mechanisms:
  rules: [caf-mir92-proliferation]
arms:
  - name: caf
    interventions:
{CAF_DOSE}
  - name: nf
    interventions:
{NF_DOSE}
  - name: caf-anti-pd1
    interventions:
{CAF_DOSE}
{ANTI_PD1}
duration: 7
readouts:
  - {{name: t_cells, kind: count, of: {{cell: t_cell}}}}
  - {{name: t_activity, kind: activity, phenotype: t_cell_activity, of: {{cell: t_cell}}}}
"""


def test_pdl1_raised_in_cancer_cells_suppresses_t_cells_until_pd1_is_blocked(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """CAF exosomes raise the cancer cells' PD-L1 through miR-92 and impair the T cells beside
    them ([82]): lower T-cell activity and fewer T cells than with normal-fibroblast exosomes;
    anti-PD-1 (0.5 uM, 100 times its occupancy constant) gives the T cells back nearly all of it."""
    scenario = load_scenario(write(tmp_path, MIR92, "mir92.yaml"), kb, lib)
    found = run_scenario(kb, lib, scenario).readouts
    last = {arm: {k: float(v[-1]) for k, v in found[arm].items()} for arm in found}
    assert last["nf"]["t_activity"] == pytest.approx(1.0)
    assert last["caf"]["t_activity"] < 0.9
    assert last["caf"]["t_cells"] < 0.99 * last["nf"]["t_cells"]
    assert last["caf-anti-pd1"]["t_activity"] > 0.98
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    t_cells = next(p.index for p in model.populations if p.cell == "cd8_t_cell")
    relayed = [t for t in model.terms if model.rows.signals.pop[t.signal] == t_cells]
    # PD-L1 and immune suppression of one record: one signal, each target (killing, division)
    # once
    assert len({t.signal for t in relayed}) == 1
    assert len({t.target for t in relayed}) == len(relayed) == 2


HER2 = """\
id: pdl1-blockers
title: test
populations:
  - {cell: bc_her2, state: sensitive, count: 1.0e6, compartment: culture}
  - {cell: bc_her2, state: her2_therapy_resistant, count: 1.0e6, compartment: culture}
  - {cell: cd8_t_cell, count: 1.0e6, compartment: culture}
mechanisms:
  rules: [exosomal-pdl1-t-cells, pdl1-tgfb1-her2-resistance]
arms:
  - name: both
    interventions:
      - {type: drug, drug: anti-PD-1 antibody, concentration: 0.5, schedule: {every: 2}}
      - {type: drug, drug: anti-PD-L1 antibody, concentration: 0.5, schedule: {every: 2}}
duration: 2
readouts:
  - {name: cells, kind: count, of: {cell: bc_her2}}
"""


def test_anti_pd1_blocks_pdl1_in_t_cells_and_anti_pdl1_everywhere(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """PD-1 is on the T cells: anti-PD-1 blocks their PD-L1 signals and leaves the PD-L1 that
    HER2 cells take up from resistant cells' EVs (Martinez et al., 2017); anti-PD-L1 binds the
    ligand itself, so it blocks both."""
    scenario = load_scenario(write(tmp_path, HER2, "her2.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    rows = model.rows.signals
    cell = {p.index: p.cell for p in model.populations}
    pdl1 = {
        i
        for i, c in enumerate(rows.cargo)
        if model.cargo[c] == "CD274" and cell[int(rows.pop[i])] in {"bc_her2", "cd8_t_cell"}
    }
    blocked = {b.drug: {int(i) for i in b.signals} for b in rows.blockers}
    in_t_cells = {i for i in pdl1 if cell[int(rows.pop[i])] == "cd8_t_cell"}
    assert in_t_cells and pdl1 - in_t_cells  # both kinds of receiver are there
    assert blocked["anti-PD-1 antibody"] == in_t_cells
    assert blocked["anti-PD-L1 antibody"] >= pdl1


TUMOUR = """\
id: exosomal-pdl1-anti-pd1
title: test
populations:
  - {cell: bc_tnbc, count: 1.0e9, surface: [CD274]}
  - {cell: cd8_t_cell, count: 1.0e8}
mechanisms:
  rules: [exosomal-pdl1-t-cells]
arms:
  - name: untreated
  - name: drug
    interventions:
      - {type: drug, drug: DRUG, dose: DOSE, schedule: {start: 0, every: 21, doses: 1}}
  - name: drug-release-inhibited
    interventions:
      - {type: drug, drug: DRUG, dose: DOSE, schedule: {start: 0, every: 21, doses: 1}}
      - {type: release_inhibitor, efficacy: 0.9, donors: {cell: cancer_cell}}
duration: 14
readouts:
  - {name: tumour, kind: count, of: {cell: breast_cancer_cell, compartment: tumour}}
  - {name: antibody, kind: drug, drug: DRUG, compartment: tumour}
"""


@pytest.mark.parametrize(
    ("drug", "dose"), [("anti-PD-1 antibody", 200), ("anti-PD-L1 antibody", 1200)]
)
def test_pdl1_exosomes_soak_up_anti_pdl1_but_not_anti_pd1(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, drug: str, dose: int
) -> None:
    """A clinical dose of either antibody shrinks a PD-L1-positive tumour with T cells; PD-L1
    exosomes bind anti-PD-L1, so cutting their release leaves more of it in the tumour, but
    they do not bind anti-PD-1 (it binds the T cells' PD-1): its level does not move."""
    text = TUMOUR.replace("DRUG", drug).replace("DOSE", str(dose))
    scenario = load_scenario(write(tmp_path, text, f"{dose}.yaml"), kb, lib)
    found = run_scenario(kb, lib, scenario).readouts
    assert found["drug"]["tumour"][-1] < 0.99 * found["untreated"]["tumour"][-1]
    level, cut = (np.asarray(found[arm]["antibody"]) for arm in ("drug", "drug-release-inhibited"))
    if drug == "anti-PD-1 antibody":
        assert level == pytest.approx(cut, rel=1e-4)  # solver tolerance
    else:
        assert level[-1] < 0.99 * cut[-1]


def test_relayed_pdl1_is_occupied_by_pd1_exosomes(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """PD-1 exosomes occupy PD-L1 wherever it is displayed: the PD-L1 that miR-92 raises in
    the cancer cells too, so the T cells' relayed signal is one of the decoy's rows."""
    text = MIR92.replace(
        "rules: [caf-mir92-proliferation]", "rules: [caf-mir92-proliferation, pd1-exosomes-t-cells]"
    ).replace(
        ANTI_PD1,
        "      - {type: exosome_dose, cargo: PDCD1, exosomes: 1.0e10, compartment: culture}",
    )
    scenario = load_scenario(write(tmp_path, text, "decoy.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[2])
    t_cells = next(p.index for p in model.populations if p.cell == "cd8_t_cell")
    relayed = {t.signal for t in model.terms if t.rule_id == "caf-mir92-proliferation"}
    relayed = {i for i in relayed if model.rows.signals.pop[i] == t_cells}
    [decoy] = model.rows.signals.decoys
    assert relayed and relayed <= {int(i) for i in decoy.signals}


def test_an_unknown_ligand_is_named_with_file_and_line(kb: KnowledgeBase, tmp_path: Path) -> None:
    data = tmp_path / "extra.yaml"
    data.write_text(
        "cells:\n  - cell: mast_cell\n    acts_on:\n      - {cell: t_cell, phenotype:"
        " t_cell_activity, direction: inhibits, through: pdl1_expression, ligand: PD-X9,"
        " source: test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), data])
    [problem] = [p for p in info.value.problems if p.file == data]
    assert problem.field == "cells.0.acts_on.0.ligand" and problem.line == 4
    assert "unknown molecule 'PD-X9'" in problem.message
