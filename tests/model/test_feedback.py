"""Feedback loops closed (issue 16, causes C-E): induced stromal and immune states act back on
cancer cells, T cells proliferate with their activation, and resistance acquired from exosomes
lasts while the signal that induced it does.

Each test failed on the model before these semantics (commit 168fecd) and passes after.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_library, load_scenario, run_scenario
from exotwin.model.ode.equations import NUMERIC, derive, fluxes
from exotwin.model.rules.library import packaged_model_dir
from exotwin.model.rules.table import Growth, Population

from .conftest import write
from .scenario_files import load_named

CULTURE = """\
id: {id}
title: test
populations:
{populations}
mechanisms:
  rules: [{rules}]
arms:
{arms}
duration: 7
readouts:
  - {{name: cancer, kind: count, of: {{cell: breast_cancer_cell, compartment: culture}}}}
  - {{name: t_cells, kind: count, of: {{cell: t_cell, compartment: culture}}}}
"""
CANCER = "  - {cell: bc_tnbc, count: 1.0e6, compartment: culture}"


def _scenario(kb: KnowledgeBase, lib: Library, tmp_path: Path, **fields: str):  # type: ignore[no-untyped-def]
    return load_scenario(write(tmp_path, CULTURE.format(**fields), f"{fields['id']}.yaml"), kb, lib)


def _pop(pops: list[Population], cell: str) -> int:
    return next(p.index for p in pops if p.cell == cell)


def test_induced_states_act_back_on_cancer_cells(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """CAFs (cells.yaml acts_on) make the cancer cells of their compartment divide faster, in
    proportion to their share of its cells; without CAFs nothing changes."""
    grown = {}
    for caf in ("0", "1.0e6"):
        populations = f"{CANCER}\n  - {{cell: caf, count: {caf}, compartment: culture}}"
        scenario = _scenario(
            kb, lib, tmp_path, id=f"caf{caf}", populations=populations, rules="", arms="  - name: a"
        )
        grown[caf] = run_scenario(kb, lib, scenario).readouts["a"]["cancer"][-1]
        model = compile_arm(kb, lib, scenario, scenario.arms[0])
        cancer = _pop(model.populations, "bc_tnbc")
        assert any(t.rule_id == "caf-feedback" and t.target == Growth(cancer) for t in model.terms)
    assert grown["1.0e6"] > 1.05 * grown["0"]


def test_a_record_effect_on_cafs_reaches_the_cancer_cells(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Survivin raises SOD-1 in CAFs, which makes the tumour cells proliferate (s000 [60]):
    the rule's proliferation term acts on the cancer cells, not on the CAFs."""
    populations = f"{CANCER}\n  - {{cell: caf, count: 2.0e5, compartment: culture}}"
    scenario = _scenario(
        kb,
        lib,
        tmp_path,
        id="survivin",
        populations=populations,
        rules="survivin-caf-sod1-metastasis",
        arms="  - name: a",
    )
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    growth = {t.target for t in model.terms if t.rule_id == "survivin-caf-sod1-metastasis"}
    pops = model.populations
    assert Growth(_pop(pops, "bc_tnbc")) in growth
    assert Growth(_pop(pops, "caf")) not in growth
    relayed = [s for s, sources in model.structure.relay.sources.items() if sources[0][1] >= 0]
    assert relayed, "the CAFs' own survivin signal is relayed"


def test_t_cells_proliferate_with_their_activation(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """TGF-beta of cancer exosomes lowers T-cell activity, and with it their division: fewer
    T cells than without exosomes (counts were fixed before)."""
    dose = (
        "    interventions:\n      - {type: exosome_dose, cargo: TGFB1, exosomes: 1.0e10,"
        " compartment: culture, schedule: {every: 1, doses: 7}}"
    )
    scenario = _scenario(
        kb,
        lib,
        tmp_path,
        id="tgfb",
        populations="  - {cell: cd8_t_cell, count: 1.0e6, compartment: culture}",
        rules="tgfb-exosomes-t-cells",
        arms=f"  - name: exosomes\n{dose}\n  - name: alone",
    )
    found = run_scenario(kb, lib, scenario).readouts
    assert np.isclose(found["alone"]["t_cells"][-1], 1.0e6)  # renewal balances death
    assert found["exosomes"]["t_cells"][-1] < 0.97 * found["alone"]["t_cells"][-1]


def test_acquired_resistance_lasts_while_its_signal_does(kb: KnowledgeBase, lib: Library) -> None:
    """Resistance gained from exosomes fades at acquired_resistance_loss only as the cargo
    signal that induced it falls: with the signal saturating, reversion nearly stops."""
    scenario = load_named("mir222-tamoxifen-resistance", kb, lib)
    arm = next(a for a in scenario.arms if a.name == "tamoxifen-mir222-exosomes")
    model = compile_arm(kb, lib, scenario, arm)
    assert len(model.rows.cells.revert_held) and (model.rows.cells.revert_held >= 0).all()
    theta = np.array([p.value for p in model.parameters.entries])[None, :]
    derived = derive(model, NUMERIC, theta)
    y = np.array(model.initial, dtype=float)[None, :]
    y[..., model.rows.cells.revert_source] = 1.0e5  # acquired-resistant cells present
    rates = {}
    for level in (0.0, 1.0e5):
        y[..., model.layout.signals : model.layout.activities] = level
        found = fluxes(model, NUMERIC, derived, 0.0, y)
        rates[level] = next(f for f in found if f.name == "reversion").rate.sum()
    assert rates[0.0] > 0
    assert rates[1.0e5] < 0.01 * rates[0.0]


def test_a_targeting_ligand_raises_uptake_by_its_target(kb: KnowledgeBase, tmp_path: Path) -> None:
    """CAR-T exosomes bind mesothelin-positive TNBC cells (the rule's targeting): among ten
    times as many fibroblasts, the cancer cells take up more of the dose and more of them die
    than with the same exosomes without the ligand."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "plain.yaml").write_text(
        "rules:\n  - {id: t-plain, record: s003.car-t-exo-mesothelin-tnbc}\n"
    )
    lib = load_library(kb, [packaged_model_dir(), rules])
    dose = (
        "    interventions:\n      - {type: exosome_dose, donor: {cell: t_cell, state: engineered},"
        " exosomes: 1.0e10, compartment: culture, schedule: {every: 1, doses: 7}}"
    )
    populations = (
        "  - {cell: bc_tnbc, count: 1.0e5, compartment: culture}\n"
        "  - {cell: fibroblast, count: 1.0e6, compartment: culture}"
    )
    left, signal = {}, {}
    for rule in ("car-t-exosomes-perforin-granzyme", "t-plain"):
        scenario = _scenario(
            kb,
            lib,
            tmp_path,
            id=rule,
            populations=populations,
            rules=rule,
            arms=f"  - name: a\n{dose}",
        )
        result = run_scenario(kb, lib, scenario)
        left[rule] = result.readouts["a"]["cancer"][-1]
        model, states = result.models["a"], result.trajectories["a"].states
        cancer = _pop(model.populations, "bc_tnbc")
        held = [i for (_, pop), i in model.signals.items() if pop == cancer]
        signal[rule] = states[-1, model.layout.signals + np.array(held)].sum()
    assert signal["car-t-exosomes-perforin-granzyme"] > 3 * signal["t-plain"]
    assert left["car-t-exosomes-perforin-granzyme"] < 0.995 * left["t-plain"]
