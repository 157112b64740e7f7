"""What cell types do to their neighbours (cells.yaml ``acts_on``) reaches cells in the
tissue as a local share: CAFs near cancer cells make them divide faster, far ones do not; an
act through an activity (macrophages' cytokine release) is relayed the same way; a tissue of
one voxel gives the compartment model's share exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.tissue.engine import TissueModel
from exotwin.model.tissue.phenotype import Behaviour

TISSUE = """id: relays
title: t
mechanisms: {{rules: [{rules}]}}
tissue:
  dimensions: {dims}
  domain: {domain}
  voxel: {voxel}
  dt_diffusion: 0.2
  dt_mechanics: 0.2
  dt_phenotype: 6
  compartment: tumour
  cells:
{cells}
arms: [{{name: a}}]
duration: 0.25
output_every: 0.25
readouts:
  - {{name: cells, kind: count, of: {{cell: cell}}}}
"""

TWO_CLUSTERS = """    - {{cell: bc_tnbc, count: 30, layout: spheroid, radius: 40, centre: [-300, 0]}}
    - {{cell: {acting}, count: 30, layout: shell, inner_radius: 45, radius: 80, centre: [-300, 0]}}
    - {{cell: bc_tnbc, count: 30, layout: spheroid, radius: 40, centre: [300, 0]}}"""


def _model(tmp_path: Path, kb: KnowledgeBase, lib: Library, **fields: object) -> TissueModel:
    path = tmp_path / "s.yaml"
    path.write_text(TISSUE.format(**fields), encoding="utf-8")
    scenario = load_scenario(path, kb, lib)
    return TissueModel(kb, lib, scenario, scenario.arms[0])


def _behaviour(tm: TissueModel) -> Behaviour:
    cells, fields = tm.cells, tm.fields
    local = fields.sample_at(tm.grid.voxel_of(cells.position))
    return tm.rules.behaviour(cells, local, np.ones(len(tm.model.cargo)), fields, 6.0)


def _cancer(tm: TissueModel) -> tuple[np.ndarray, np.ndarray]:
    pop = tm.model.population("bc_tnbc", None, "tumour")
    assert pop is not None
    cancer = tm.cells.population == pop.index
    left = cancer & (tm.cells.position[:, 0] < 0)
    return left, cancer & ~left


def test_cafs_raise_the_division_of_cancer_cells_near_them(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    cells = TWO_CLUSTERS.format(acting="caf")
    tm = _model(
        tmp_path, kb, lib, rules="mir9-caf", dims=2, domain="[1000, 400]", voxel=20, cells=cells
    )
    growth = _behaviour(tm).growth * 1440  # per day
    near, far = _cancer(tm)
    base = tm.rules.growth[tm.cells.population[far][0]] * 1440
    assert np.allclose(growth[far], base)  # 600 µm from every CAF: the base rate
    assert growth[near].min() > base * 1.2  # ringed by CAFs (fold 2 at most)
    assert growth[near].max() <= base * 2.0 + 1e-12


def test_one_voxel_gives_the_compartment_models_share(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """Well mixed: the CAFs' share of all cells, Hill at feedback_half_share, fold rule_fold."""
    cells = """    - {cell: bc_tnbc, count: 90, layout: random}
    - {cell: caf, count: 10, layout: random}"""
    tm = _model(
        tmp_path, kb, lib, rules="mir9-caf", dims=3, domain="[1000, 1000, 1000]", voxel=1000,
        cells=cells,
    )  # fmt: skip
    growth = _behaviour(tm).growth * 1440
    left, right = _cancer(tm)
    cancer = left | right
    values = {p: lib.value(p, {}) for p in ("feedback_half_share", "rule_hill", "rule_fold")}
    s = (0.1 / values["feedback_half_share"]) ** values["rule_hill"]
    base = tm.rules.growth[tm.cells.population[cancer][0]] * 1440
    expected = base * (1 + (values["rule_fold"] - 1) * s / (1 + s))
    assert growth[cancer] == pytest.approx(np.full(cancer.sum(), expected), rel=1e-9)


def test_macrophage_cytokine_release_is_relayed_to_cancer_cells_near_them(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """acts_on ``through``: cSERPINE2 taken up by macrophages (their IL-6 release) makes the
    cancer cells near them divide faster, in proportion to the macrophages' own signal."""
    cells = TWO_CLUSTERS.format(acting="macrophage")
    tm = _model(
        tmp_path, kb, lib, rules="cserpine2-tam-il6", dims=2, domain="[1000, 400]", voxel=20,
        cells=cells,
    )  # fmt: skip
    near, far = _cancer(tm)
    before = _behaviour(tm).growth.copy()
    assert np.allclose(before[near], before[far])  # no cargo taken up yet: nothing relayed
    macrophages = ~(near | far)
    tm.cells.internal[macrophages, 1:] = 1e4  # every cargo field, far above its half-maximum
    growth = _behaviour(tm).growth
    assert np.allclose(growth[far], before[far])
    assert growth[near].min() > before[near].max() * 1.2
