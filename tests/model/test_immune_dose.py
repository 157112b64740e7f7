"""Doses per µg of exosomal protein or per kg of body weight, exosomal PD-1 as a decoy that
occupies PD-L1, and sorting machinery (ALIX) that keeps what it no longer sorts on the
membrane (issue 16, cause B; issue 12, cause F).

The decoy and display tests failed on the model before (exosomal PD-1 was a competing signal
in the T cells; surface display was fixed) and pass after.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario, run_scenario
from exotwin.model.ode.equations import (
    NUMERIC,
    UM_PER_SITE_PER_ML,
    cells_of,
    compartment_volumes,
    derive,
    signals_of,
    time_factors,
)
from exotwin.model.rules.rows import CompiledModel
from exotwin.model.scenario.load import ScenarioError

from .conftest import write

PDL1_TUMOUR = """\
id: {id}
title: test
populations:
  - {{cell: bc_tnbc, count: 1.0e9, surface: [CD274]}}
  - {{cell: cd8_t_cell, count: 1.0e8}}
mechanisms:
  rules: [{rules}]
arms:
{arms}
duration: 3
readouts:
  - {{name: pdl1_exosomes, kind: exosomes, cargo: CD274, compartment: tumour}}
  - {{name: surface_pdl1, kind: surface, cargo: CD274, of: {{cell: bc_tnbc}}}}
{exhaustion}"""
EXHAUSTION = (  # read where the PD-1 rule sets it (an untracked activity is refused)
    "  - {name: exhaustion, kind: activity, phenotype: t_cell_exhaustion, of: {cell: t_cell}}\n"
)


def _load(kb: KnowledgeBase, lib: Library, tmp_path: Path, name: str, rules: str, arms: str):  # type: ignore[no-untyped-def]
    exhaustion = EXHAUSTION if "pd1-exosomes-t-cells" in rules else ""
    text = PDL1_TUMOUR.format(id=name, rules=rules, arms=arms, exhaustion=exhaustion)
    return load_scenario(write(tmp_path, text, f"{name}.yaml"), kb, lib)


def _t_cell_signals(model: CompiledModel, y: np.ndarray, t: float = 0.0) -> np.ndarray:
    """The internal signals at state ``y`` and nominal parameters."""
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    cells = cells_of(model, NUMERIC, derived, y)
    factors = time_factors(model, NUMERIC, derived, t)
    return np.asarray(signals_of(model, NUMERIC, derived, y, cells, factors))[0]


def test_a_dose_per_kg_is_protein_times_weight_times_particles(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """500 µg/kg x 60 kg x 1e10 particles/µg adds the same exosomes as a count of 3e14."""
    arms = (
        "  - name: count\n    interventions:\n      - {type: exosome_dose, cargo: PDCD1,"
        " exosomes: 3.0e14, compartment: tumour}\n"
        "  - name: per-kg\n    interventions:\n      - {type: exosome_dose, cargo: PDCD1,"
        " protein_ug_per_kg: 500, compartment: tumour}\n"
        "  - name: per-dose\n    interventions:\n      - {type: exosome_dose, cargo: PDCD1,"
        " protein_ug: 30000, compartment: tumour}"
    )
    scenario = _load(kb, lib, tmp_path, "dose", "pd1-exosomes-t-cells", arms)
    assert lib.value("body_weight") == 60 and lib.value("exosome_particles_per_ug") == 1e10
    found = run_scenario(kb, lib, scenario).readouts
    count = found["count"]["pdl1_exosomes"]
    for arm in ("per-kg", "per-dose"):
        assert np.allclose(found[arm]["pdl1_exosomes"], count, rtol=1e-6)


def test_a_dose_names_one_amount(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    arms = (
        "  - name: both\n    interventions:\n      - {type: exosome_dose, cargo: PDCD1,"
        " exosomes: 1.0e10, protein_ug_per_kg: 500}"
    )
    with pytest.raises(ScenarioError, match="exactly one of exosomes, protein_ug"):
        _load(kb, lib, tmp_path, "both", "pd1-exosomes-t-cells", arms)


def test_exosomal_pd1_occupies_pdl1(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """PD-1 exosomes in the tumour lower the T cells' PD-L1 signal (contact and exosomal) to
    its free share Kd / (Kd + sites x C); the PD-1 rule's own signal is what they occupy."""
    arms = (
        "  - name: a\n    interventions:\n      - {type: exosome_dose, cargo: PDCD1,"
        " protein_ug_per_kg: 500, compartment: tumour}"
    )
    rules = "exosomal-pdl1-t-cells, pd1-exosomes-t-cells"
    scenario = _load(kb, lib, tmp_path, "decoy", rules, arms)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    (decoy,) = model.rows.signals.decoys
    assert (decoy.own >= 0).all()
    y = np.array(model.initial, dtype=float)[None, :]
    y[0, model.layout.signals : model.layout.activities] = 300.0  # internalised PD-L1 and PD-1
    free = _t_cell_signals(model, y)[decoy.signals]
    amount = 1.0e14
    y[0, model.layout.pools + decoy.pool] = amount
    occupied = _t_cell_signals(model, y)
    theta = dict(zip(model.parameters.names, model.parameters.values, strict=True))
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    volume = compartment_volumes(NUMERIC, derived, cells_of(model, NUMERIC, derived, y))[0, 1]
    sites = theta["pd1-exosomes-t-cells.decoy_sites"] * amount / volume * UM_PER_SITE_PER_ML
    kd = theta["pd1-exosomes-t-cells.decoy_kd"]
    assert np.allclose(occupied[decoy.signals], free * kd / (kd + sites))
    assert np.allclose(occupied[decoy.own], free * sites / (kd + sites))
    assert 0.0 < kd / (kd + sites) < 0.9  # a strong dose occupies a real share


def test_alix_depletion_keeps_pdl1_on_the_surface(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """What ALIX no longer sorts into exosomes stays displayed: fewer PD-L1 exosomes, more
    surface PD-L1 (1 + f x efficacy x share / (1 - f)), and a stronger contact signal."""
    arms = (
        "  - name: intact\n  - name: depleted\n    interventions:\n"
        "      - {type: machinery_depletion, machinery: alix, efficacy: 0.8,"
        " donors: {cell: bc_tnbc}}"
    )
    scenario = _load(kb, lib, tmp_path, "alix", "exosomal-pdl1-t-cells", arms)
    found = run_scenario(kb, lib, scenario).readouts
    f, share = lib.value("surface_sorted_share"), lib.value("lifecycle.alix.cd274.share")
    expected = 1.0 + f * 0.8 * share / (1.0 - f)
    assert found["intact"]["surface_pdl1"][-1] == pytest.approx(1.0)
    assert found["depleted"]["surface_pdl1"][-1] == pytest.approx(expected)
    assert found["depleted"]["pdl1_exosomes"][-1] < 0.6 * found["intact"]["pdl1_exosomes"][-1]
    contact = {}
    for arm in scenario.arms:
        model = compile_arm(kb, lib, scenario, arm)
        y = np.array(model.initial, dtype=float)[None, :]  # no internalised PD-L1 yet
        (signal,) = [i for i, _ in model.rows.signals.contact]
        contact[arm.name] = _t_cell_signals(model, y, t=1.0)[signal]
    assert contact["depleted"] == pytest.approx(expected * contact["intact"])
