"""Compiled features the tissue does not simulate are refused up front, naming the feature;
those carried through by shared code (exosome doses in µg of protein, the tumour's vascular
release) act as in the compartment model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.tissue.engine import TissueModel
from exotwin.model.tissue.layout import TissueError

TISSUE = """
tissue:
  dimensions: 2
  domain: [200, 200]
  voxel: 20
  dt_diffusion: 0.2
  dt_mechanics: 0.2
  dt_phenotype: 6
  compartment: {compartment}
  cells:
{cells}
duration: 0.25
output_every: 0.25
readouts:
  - {{name: cells, kind: count, of: {{cell: cell}}}}
"""


def _model(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, head: str, cells: str, comp: str = "tumour"
) -> TissueModel:
    path = tmp_path / "s.yaml"
    text = "id: unsupported\ntitle: t\n" + head + TISSUE.format(compartment=comp, cells=cells)
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path, kb, lib)
    return TissueModel(kb, lib, scenario, scenario.arms[-1])


TNBC_T = """    - {cell: bc_tnbc, count: 20, layout: spheroid, radius: 40}
    - {cell: cd8_t_cell, count: 10, layout: shell, inner_radius: 50, radius: 90}"""


def test_exosome_decoy_is_refused(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    head = """mechanisms: {rules: [exosomal-pdl1-t-cells, pd1-exosomes-t-cells]}
arms:
  - name: pd1
    interventions:
      - {type: exosome_dose, cargo: PDCD1, exosomes: 1.0e9, compartment: tumour,
         schedule: {start: 0}}
"""
    with pytest.raises(TissueError, match=r"arms\[pd1\]: a rule's decoy .*CD274.*compartment"):
        _model(tmp_path, kb, lib, head, TNBC_T)


def test_vesicular_drug_export_is_refused(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    head = """mechanisms: {rules: [doxorubicin-vesicle-export]}
arms:
  - name: dox
    interventions:
      - {type: drug, drug: doxorubicin, concentration: 0.2, schedule: {start: 0}}
      - {type: cargo_knockdown, cargo: doxorubicin, efficacy: 0.9}
"""
    cells = "    - {cell: bc_luminal, state: sensitive, count: 20, layout: spheroid, radius: 40}"
    with pytest.raises(TissueError, match=r"vesicular export of doxorubicin"):
        _model(tmp_path, kb, lib, head, cells, comp="culture")


def test_in_vitro_ic50_kill_is_refused(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    head = """mechanisms: {rules: []}
arms:
  - name: dox
    interventions:
      - {type: drug, drug: doxorubicin, concentration: 0.2, schedule: {start: 0}}
"""
    cells = "    - {cell: bc_luminal, state: sensitive, count: 20, layout: spheroid, radius: 40}"
    with pytest.raises(TissueError, match=r"in-vitro IC50 kill of doxorubicin"):
        _model(tmp_path, kb, lib, head, cells, comp="culture")


def test_surface_display_kept_by_sorting_depletion_is_refused(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    head = """mechanisms: {rules: [exosomal-pdl1-t-cells]}
arms:
  - name: alix-depleted
    interventions:
      - {type: machinery_depletion, machinery: alix, efficacy: 0.8, donors: {cell: bc_tnbc}}
"""
    cells = TNBC_T.replace("count: 20,", "count: 20, surface: [CD274],")
    with pytest.raises(TissueError, match=r"surface display of CD274 kept by ILV-sorting"):
        _model(tmp_path, kb, lib, head, cells)


def test_exosome_dose_in_protein_ug_matches_its_particle_count(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """Doses in µg of protein (per kg) go through the compartment model's own parameters."""
    added = []
    for dose in ("exosomes: 2.0e9", "protein_ug: 1.0", "protein_ug_per_kg: 1.0"):
        head = f"""mechanisms: {{rules: [mir9-caf]}}
arms:
  - name: dosed
    interventions:
      - {{type: exosome_dose, cargo: miR-9, {dose}, compartment: tumour, schedule: {{start: 0}}}}
"""
        cells = "    - {cell: fibroblast, count: 20, layout: spheroid, radius: 40}"
        tm = _model(tmp_path, kb, lib, head, cells)
        tm.env.apply_events(0.0, tm.tissue.dt_phenotype, len(tm.cells))
        added.append(float(tm.fields.concentration[0].sum()))
    params = tm.model.parameters
    per_ug = params.values[params.index("exosome_particles_per_ug")]
    weight = params.values[params.index("body_weight")]
    assert added[1] == pytest.approx(added[0] * per_ug / 2.0e9, rel=1e-9)
    assert added[2] == pytest.approx(added[1] * weight, rel=1e-9)
    assert np.isfinite(added).all() and added[0] > 0


def test_exosome_dose_outside_the_tissue_compartment_is_refused(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """A dose into the plasma used to land in the tumour tissue's all-exosomes field."""
    head = """mechanisms: {rules: [mir9-caf]}
arms:
  - name: iv
    interventions:
      - {type: exosome_dose, cargo: miR-9, protein_ug_per_kg: 500, compartment: plasma,
         schedule: {start: 0}}
"""
    cells = "    - {cell: fibroblast, count: 20, layout: spheroid, radius: 40}"
    with pytest.raises(TissueError, match=r"interventions\[0\]\.compartment: .* into plasma"):
        _model(tmp_path, kb, lib, head, cells)


def test_tumour_cells_release_a_share_into_the_blood(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """tumour_vascular_release: that share of every tumour cell's release leaves the tissue
    for the blood (as in the compartment model), none of a culture's."""
    cells = "    - {cell: bc_tnbc, count: 20, layout: spheroid, radius: 40}"
    head = "mechanisms: {rules: [mir9-caf]}\narms: [{name: a}]\n"
    released = {}
    runs = (("tumour", 0.003), ("tumour", 0.1), ("culture", 0.003), ("culture", 0.1))
    for comp, share in runs:
        params = f"parameters: {{tumour_vascular_release: {share}}}\n"
        tm = _model(tmp_path, kb, lib, params + head, cells, comp=comp)
        rate = np.ones(len(tm.cells))
        secretion, _ = tm.env.exchange_rates(tm.cells, rate, np.ones(len(tm.model.cargo)))
        released[comp, share] = secretion[:, : tm.n_exo].sum(axis=0)
    into_tissue = released["tumour", 0.1] / released["tumour", 0.003]
    assert into_tissue == pytest.approx(np.full(len(into_tissue), 0.9 / 0.997), rel=1e-12)
    assert released["culture", 0.1] == pytest.approx(released["culture", 0.003], rel=1e-12)
