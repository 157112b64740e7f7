"""The exosome lifecycle per cell: inert without an intervention, the compartment model's
steady state with one, the linear equations' transient when one starts later, and placed in a
distance band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from exotwin.errors import ModelError
from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.equations import NUMERIC, time_factors
from exotwin.model.rules.library import Library
from exotwin.model.rules.lifecycle import packaged_lifecycle
from exotwin.model.scenario.load import ScenarioError, load_scenario
from exotwin.model.scenario.run import run_scenario
from exotwin.model.tissue.engine import MIN_PER_DAY, TissueModel
from exotwin.model.tissue.layout import TissueError
from exotwin.model.tissue.regions import distances

TISSUE = """
id: lifecycle-tissue
title: a small 2D tissue
mechanisms: {{rules: [mir9-caf, agap2-as1-trastuzumab]}}
tissue:
  dimensions: 2
  domain: [400, 400]
  voxel: 20
  dt_diffusion: 0.2
  dt_mechanics: 0.2
  dt_phenotype: 6
  cells:
    - {{cell: bc_her2, count: 40, layout: spheroid, radius: 50}}
    - {{cell: fibroblast, count: 60, layout: shell, inner_radius: 60, radius: 190}}
arms:
  - name: a
    interventions: [{interventions}]
duration: 1
output_every: 0.5
readouts:
  - {{name: fibroblasts, kind: count, of: {{cell: fibroblast}}}}
"""


def _model(tmp_path: Path, kb: KnowledgeBase, lib: Library, interventions: str) -> TissueModel:
    path = tmp_path / "s.yaml"
    path.write_text(TISSUE.format(interventions=interventions), encoding="utf-8")
    scenario = load_scenario(path, kb, lib)
    return TissueModel(kb, lib, scenario, scenario.arms[0], seed=1)


def test_without_an_intervention_the_lifecycle_is_inert(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    tm = _model(tmp_path, kb, lib, "")
    tm.advance(12.0)
    release, loading = tm.lifecycle.step(tm.cells, tm.day, 6.0, np.ones(3))
    assert np.all(release == 1.0) and np.all(loading == 1.0)
    assert np.all(tm.cells.lifecycle == 1.0)


STEPS = [
    "{type: mvb_blocker, agent: U18666A, efficacy: 0.7}",
    "{type: release_inhibitor, efficacy: 0.8, donors: {cell: breast_cancer_cell}}",
    "{type: machinery_depletion, machinery: escrt, efficacy: 0.8}",
    "{type: release_machinery_inhibitor, efficacy: 0.8}",
    "{type: lysosome_inhibitor, efficacy: 0.6}",
]


@pytest.mark.parametrize("intervention", STEPS)
def test_each_cell_releases_what_the_compartment_model_releases(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, intervention: str
) -> None:
    """An intervention from day 0: every cell starts at, and stays at, the steady state whose
    release factor the compartment model uses for its population."""
    tm = _model(tmp_path, kb, lib, intervention)
    factor = time_factors(tm.model, NUMERIC, tm.derived, 0.0)["release"]
    expected = factor[tm.cells.population]
    assert np.any(expected < 1.0) or np.any(expected > 1.0)
    for _ in range(3):  # a few phenotype steps: the steady state holds
        release, _ = tm.lifecycle.step(tm.cells, 0.0, 6.0, np.ones(3))
        assert np.allclose(release, expected, rtol=1e-12, atol=0)


def test_a_late_mvb_blocker_drains_the_mvbs_as_the_linear_equations_do(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """From day 0.5 the blocker cuts MVB production by 70%; cells keep releasing the MVBs they
    hold (hours). The exact steps against scipy's integration of the absolute equations
    dE/dt = P p - k_sort E, dM/dt = k_sort E - (k_rel + k_deg) M from the untreated state."""
    tm = _model(tmp_path, kb, lib, "{type: mvb_blocker, efficacy: 0.7, start: 0.5}")
    tm.lifecycle.step(tm.cells, 0.0, 0.0, np.ones(3))  # the first step: untreated steady state
    rates = packaged_lifecycle().rates
    k_sort, k_rel, k_deg = (
        r.value / MIN_PER_DAY for r in (rates.ilv_sorting, rates.mvb_release, rates.mvb_degradation)
    )
    dt, start, steps = 6.0, 0.5 * MIN_PER_DAY, 240
    got = []
    for i in range(steps):
        day = (start + i * dt) / MIN_PER_DAY
        release, _ = tm.lifecycle.step(tm.cells, day, dt, np.ones(3))
        got.append(release[0])
    production, untreated = 1.0, k_rel / (k_rel + k_deg)  # release per unit production

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [0.3 * production - k_sort * y[0], k_sort * y[0] - (k_rel + k_deg) * y[1]]

    y0 = [production / k_sort, production / (k_rel + k_deg)]
    times = np.arange(steps) * dt
    ode = solve_ivp(rhs, (0, times[-1]), y0, t_eval=times, method="LSODA", rtol=1e-10, atol=1e-14)
    expected = k_rel * ode.y[1] / untreated
    assert got[0] == 1.0 and got[10] > 0.8  # an hour on, most MVBs made before still release
    assert np.allclose(got, expected, rtol=1e-6)
    assert abs(got[-1] - 0.3) < 0.01  # a day on (5 MVB lifetimes): the new steady state


def test_an_intervention_in_a_band_acts_only_there(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    band = "band: {of: {cell: breast_cancer_cell}, max: 30}"
    tm = _model(
        tmp_path,
        kb,
        lib,
        f"{{type: mvb_blocker, efficacy: 0.8, {band}}}, "
        f"{{type: machinery_depletion, machinery: escrt, efficacy: 0.5, {band}}}, "
        f"{{type: loader_knockdown, machinery: hnrnpa2b1, efficacy: 0.9, {band}}}",
    )
    band_of = tm.arm.interventions[0].band  # type: ignore[union-attr]
    inside = distances(kb, tm.model, tm.cells, band_of) < 30  # type: ignore[arg-type]
    assert 0 < inside.sum() < len(inside)
    global_loading = time_factors(tm.model, NUMERIC, tm.derived, 0.0)["loading"]
    release, loading = tm.lifecycle.step(tm.cells, 0.0, 6.0, global_loading)
    assert np.all(release[~inside] == 1.0)
    assert np.allclose(release[inside], 0.2 * (1 - 0.5 * 0.5))  # production x ESCRT's share
    assert loading.shape == (len(tm.cells), len(global_loading))
    assert np.all(loading[~inside] == 1.0)
    assert np.allclose(loading[inside], global_loading)


def test_bands_and_uptake_blockers_where_they_do_not_belong(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    band = "{type: mvb_blocker, efficacy: 0.5, band: {of: {cell: caf}, max: 50}}"
    path = tmp_path / "well-mixed.yaml"
    well_mixed = TISSUE.format(interventions=band).split("tissue:")[0] + (
        "populations: [{cell: bc_tnbc, count: 1.0e9}, {cell: fibroblast, count: 1.0e8}]\n"
        "arms: [{name: a, interventions: [" + band + "]}]\n"
        "duration: 1\nreadouts: [{name: f, kind: count, of: {cell: fibroblast}}]\n"
    )
    path.write_text(well_mixed, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"interventions\.0\.band: a band needs space"):
        load_scenario(path, kb, lib)
    tissue = tmp_path / "tissue.yaml"
    tissue.write_text(TISSUE.format(interventions=band), encoding="utf-8")
    scenario = load_scenario(tissue, kb, lib)
    with pytest.raises(ModelError, match="run this scenario with the tissue engine"):
        run_scenario(kb, lib, scenario)
    blocker = "{type: uptake_blocker, route: endocytosis, efficacy: 0.5}"
    with pytest.raises(TissueError, match="uptake_blocker is not available in the tissue"):
        _model(tmp_path, kb, lib, blocker)
