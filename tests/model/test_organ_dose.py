"""The exosome dose that reaches distant organs: a record whose cancer-cell exosomes the review
says act on cells in a named distant organ homes them there (organotropism.yaml
``exosome_homing``); an organ named only as the outcome of an effect in the primary tumour
sends none there."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario

from .conftest import write
from .test_exosome_homing import ORGANS, _organ_exosomes

# Records whose exosomes act in the organs named (seed 000): AnxA2 in lung and brain niches,
# miR-19a on bone osteoclast precursors, Cav-1 on lung fibroblasts and lung macrophages, Lin28B
# in the lung premetastatic niche, miR-4443 in the liver lesion.
HOMING = {
    "s000.anxa2-lung-brain-niche": {"lung", "brain"},
    "s000.mir19a-osteoclastogenesis": {"bone"},
    "s000.cav1-lung-fibroblast-ecm": {"lung"},
    "s000.cav1-lung-macrophage-m2": {"lung"},
    "s000.lin28b-lung-immunosuppression": {"lung"},
    "s000.mir4443-liver-metastasis": {"liver"},
}
# Records naming the lung only as an outcome: their exosomes act on tumour-associated
# macrophages (miR-138-5p, CCL5) or on macrophages the review places in no organ (miR-183-5p).
OUTCOME_ONLY = (
    "s000.mir138-5p-tam-kdm6b",
    "s000.ccl5-lung-metastasis",
    "s000.mir183-5p-macrophage-lung",
)


def test_records_acting_in_an_organ_home_there(lib: Library) -> None:
    got = {record: set(entry.organs) for record, entry in lib.homing.items()}
    assert got == HOMING
    assert not set(OUTCOME_ONLY) & set(got)


@pytest.mark.parametrize(
    ("rule", "cargo"), [("cav1-lung-fibroblasts", "CAV1"), ("lin28b-m2", "LIN28B")]
)
def test_lung_niche_cargo_reaches_the_lung(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, rule: str, cargo: str
) -> None:
    """Cav-1 and Lin28B exosomes take exosome_homing_fold times the lung's plain share of plasma
    clearance (before: the plain share, so lung fibroblasts and macrophages held ~1 % of the
    half-maximal signal and the niche the records report barely rose)."""
    got = _organ_exosomes(kb, lib, tmp_path, rule, cargo)
    share = {organ: lib.value(f"niche_fraction_{organ}") for organ in ORGANS}
    weight = {o: got[o] / got["liver"] / (share[o] / share["liver"]) for o in ORGANS}
    fold = lib.value("exosome_homing_fold")
    assert weight == pytest.approx({"lung": fold, "liver": 1, "bone": 1, "brain": 1}, rel=1e-2)


# A tumour whose Cav-1 exosomes reach lung fibroblasts through the blood; the readout is what
# each fibroblast holds internalised (the dose per receiving cell).
LUNG_DOSE = """\
id: lung-dose
title: Cav-1 exosomes held by lung fibroblasts
populations:
  - {{cell: bc_tnbc, count: 1.0e9}}
  - {{cell: lung_fibroblast, count: {fibroblasts}, compartment: lung}}
mechanisms:
  rules: [cav1-lung-fibroblasts]
arms:
  - name: control
duration: 3
readouts:
  - {{name: held, kind: internalised, cargo: Cav-1, of: {{cell: lung_fibroblast}}}}
parameters: {{exosome_homing_fold: {fold}}}
"""


def _held(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, fibroblasts: float, fold: float
) -> float:
    text = LUNG_DOSE.format(fibroblasts=fibroblasts, fold=fold)
    path = write(tmp_path, text, f"dose-{fibroblasts:g}-{fold:g}.yaml")
    result = run_scenario(kb, lib, load_scenario(path, kb, lib))
    return float(result.readouts["control"]["held"][-1])


def test_the_dose_per_receiving_cell(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """What clearance delivers to an organ is shared by the cells there: each holds in
    proportion to the organ's share of the clearance (homing: exosome_homing_fold times the
    plain share, the other sinks keeping theirs) and inversely to their number."""
    few = _held(kb, lib, tmp_path, 1.0e7, 2)
    assert few > 0
    # ten times the cells, a tenth each (a little more: fewer cells leave ~10 % to niche_decay,
    # their uptake being ~70 % saturated by the exosomes the fibroblasts release themselves)
    assert 0.1 <= _held(kb, lib, tmp_path, 1.0e8, 2) / few <= 0.12

    def lung(fold: float) -> float:
        share = lib.value("niche_fraction_lung")
        return share * fold / (1 + share * (fold - 1))

    assert _held(kb, lib, tmp_path, 1.0e7, 20) / few == pytest.approx(lung(20) / lung(2), rel=0.05)


def test_cells_of_an_organ_hold_alike(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """Lung macrophages and fibroblasts take Cav-1 exosomes up alike, and the readout reads the
    macrophages' dose where the model keeps one signal for both (rules/prune.py)."""
    text = """\
id: lung-cells
title: Cav-1 exosomes held by lung fibroblasts and macrophages
populations:
  - {cell: bc_tnbc, count: 1.0e9}
  - {cell: lung_fibroblast, count: 1.0e8, compartment: lung}
  - {cell: macrophage, count: 1.0e7, compartment: lung}
mechanisms:
  rules: [cav1-lung-fibroblasts, cav1-macrophage-m2]
arms:
  - name: control
duration: 3
readouts:
  - {name: fibroblasts, kind: internalised, cargo: CAV1, of: {cell: lung_fibroblast}}
  - {name: macrophages, kind: internalised, cargo: CAV1, of: {cell: macrophage}}
"""
    result = run_scenario(kb, lib, load_scenario(write(tmp_path, text), kb, lib))
    got = {k: float(v[-1]) for k, v in result.readouts["control"].items()}
    assert got["fibroblasts"] > 0
    assert got["macrophages"] == pytest.approx(got["fibroblasts"], rel=1e-6)
