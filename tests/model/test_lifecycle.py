"""The exosome lifecycle (model/data/lifecycle): steady state, data, and interventions at steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.errors import ModelDataError
from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.equations import (
    NUMERIC,
    Pools,
    _internalised,
    cells_of,
    derive,
    pools_of,
    time_factors,
)
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.rules.lifecycle import (
    LIFECYCLE_FILE,
    load_lifecycle,
    packaged_lifecycle,
    production_for,
    steady_state,
)
from exotwin.model.rules.rows import CompiledModel
from exotwin.model.scenario.load import load_scenario, packaged_scenarios

from .conftest import write
from .scenario_files import PENDING, load_named


def test_steady_state_reproduces_every_secretion_rate(lib: Library) -> None:
    """With no intervention the lifecycle releases exactly the secretion rate of every
    secreting cell type, at its nominal value and across its range."""
    rates = packaged_lifecycle().rates
    secreting = {entry.secretion for entry in lib.cells.values() if entry.secretion}
    assert secreting
    for name in sorted(secreting):
        param = lib.parameters[name]
        for value in {param.value, param.low or param.value, param.high or param.value}:
            state = steady_state(production_for(value, rates), rates)
            assert state["released"] == pytest.approx(value, rel=1e-12), name
            produced = production_for(value, rates)
            assert state["released"] + state["degraded"] == pytest.approx(produced, rel=1e-12)
            assert state["degraded"] > 0 and state["mvb"] > state["endosome"] > 0


def test_no_intervention_leaves_release_and_loading_unchanged(
    kb: KnowledgeBase, lib: Library
) -> None:
    """Every arm of every shipped scenario without a lifecycle intervention releases and loads
    exactly as before the lifecycle (factors of exactly one)."""
    for name, path in sorted(packaged_scenarios().items()):
        scenario = load_scenario(path, kb, lib)
        for arm in scenario.arms:
            if arm.interventions:
                continue
            model = compile_arm(kb, lib, scenario, arm)
            theta = model.parameters.values[None, :]
            factors = time_factors(model, NUMERIC, derive(model, NUMERIC, theta), 1.0)
            for kind, values in factors.items():
                assert np.all(values == 1.0), (name, arm.name, kind)


def test_lifecycle_data_names_known_records_and_cargo(kb: KnowledgeBase) -> None:
    life = packaged_lifecycle()
    records = [m.record for m in life.machinery] + [a.record for a in life.agents if a.record]
    records += [c.record for m in life.machinery for c in m.cargo]
    assert all(r in kb.records for r in records), records
    assert all(kb.find_molecule(c.cargo) for m in life.machinery for c in m.cargo)
    assert sum(r.share.value for r in life.routes) == pytest.approx(1.0)


def test_biogenesis_records_compile_into_the_lifecycle(kb: KnowledgeBase, lib: Library) -> None:
    """Every record of the reviews tagged biogenesis, uptake or ESCRT is simulated by the
    lifecycle step it stands for (the coverage table's ``lifecycle`` entry)."""
    from exotwin.model.rules.coverage import lifecycle_coverage

    covered = lifecycle_coverage(lib)
    tagged = {
        rid for rid, r in kb.records.items() if {"biogenesis", "uptake", "escrt"} & set(r.tags)
    }
    assert tagged and tagged <= set(covered), tagged - set(covered)
    assert set(covered) <= set(kb.records)
    routes = covered["s003.exosome-uptake-membrane-fusion"].dynamics
    assert [d.summary() for d in routes] == ["route fusion (step uptake)"]
    assert not (set(covered) & set(lib.not_simulated))  # no stale reason


def test_bad_lifecycle_file_is_one_typed_line(tmp_path: Path) -> None:
    text = LIFECYCLE_FILE.read_text(encoding="utf-8")
    bad = write(tmp_path, text.replace("value: 2.52\n", "value: -1\n", 1), "lifecycle.yaml")
    with pytest.raises(ModelDataError) as err:
        load_lifecycle(bad)
    message = str(err.value)
    assert "lifecycle.yaml:" in message and "lifecycle.rates.mvb_release" in message


INTERVENTION = "{type: release_inhibitor, efficacy: 1.0}"


def _factors(kb: KnowledgeBase, lib: Library, path: Path) -> dict[str, np.ndarray]:
    """The time factors of the second arm at day 1 (every intervention begun)."""
    scenario = load_scenario(path, kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    theta = model.parameters.values[None, :]
    found = time_factors(model, NUMERIC, derive(model, NUMERIC, theta), 1.0)
    return {kind: values[0] for kind, values in found.items()}


@pytest.mark.parametrize(
    ("intervention", "expected"),
    [
        # k_release = k_degradation (lifecycle.yaml): half of MVBs are released at baseline
        ("{type: mvb_blocker, agent: rapamycin, efficacy: 0.5}", 0.5),
        ("{type: release_machinery_inhibitor, efficacy: 0.5}", 0.5 * 2.0 / 1.5),
        ("{type: lysosome_inhibitor, efficacy: 0.5}", 2.0 / 1.5),
        ("{type: machinery_depletion, machinery: escrt, efficacy: 0.5}", 1.0 - 0.5 * 0.5),
    ],
)
def test_release_changes_at_each_step(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, intervention: str, expected: float
) -> None:
    from .conftest import SMALL_SCENARIO

    text = SMALL_SCENARIO.replace(
        INTERVENTION, intervention.replace("}", ", donors: {cell: bc_tnbc}}")
    )
    factors = _factors(kb, lib, write(tmp_path, text))
    assert factors["release"][0] == pytest.approx(expected, rel=1e-12)  # the cancer cells
    assert factors["release"][1] == 1.0  # the fibroblasts


def test_machinery_sorts_its_cargo_and_loaders_theirs(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """ESCRT depletion lowers HER2's loading by its share, relative to the vesicles still made."""
    path = PENDING / "trastuzumab-her2-exosome-decoys.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "{type: release_inhibitor, efficacy: 0.8, donors: {cell: bc_her2}}",
        "{type: machinery_depletion, machinery: ESCRT, efficacy: 0.8}",
    )
    scenario = load_scenario(write(tmp_path, text), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[2])
    theta = model.parameters.values[None, :]
    factors = time_factors(model, NUMERIC, derive(model, NUMERIC, theta), 1.0)
    her2 = model.cargo.index(kb.find_molecule("HER2").id)  # type: ignore[union-attr]
    assert factors["loading"][0, her2] == pytest.approx((1 - 0.8 * 0.9) / (1 - 0.8 * 0.5))
    assert np.all(factors["release"] == pytest.approx(1 - 0.8 * 0.5))
    assert "lifecycle.escrt.bulk_share" in model.parameters.names


def test_release_inhibitor_is_an_mvb_blocker(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    from exotwin.model.scenario.run import run_scenario

    from .conftest import SMALL_SCENARIO

    blocker = SMALL_SCENARIO.replace(INTERVENTION, "{type: mvb_blocker, efficacy: 1.0}")
    runs = [
        run_scenario(kb, lib, load_scenario(write(tmp_path, text, f"s{i}.yaml"), kb, lib))
        for i, text in enumerate((SMALL_SCENARIO, blocker))
    ]
    first, second = (r.readouts["no-release"]["caf_fraction"] for r in runs)
    assert np.array_equal(first, second)


@pytest.mark.parametrize(
    ("new", "where", "message"),
    [
        (
            "{type: machinery_depletion, machinery: golgi, efficacy: 1.0}",
            "scenario.yaml:12: arms.1.interventions.0.machinery:",
            "unknown ilv_sorting machinery 'golgi' (known: escrt, alix)",
        ),
        (
            "{type: loader_knockdown, machinery: escrt, efficacy: 1.0}",
            "scenario.yaml:12: arms.1.interventions.0.machinery:",
            "unknown loading machinery 'escrt' (known: hnrnpa2b1)",
        ),
        (
            "{type: mvb_blocker, agent: rab27a_knockdown, efficacy: 1.0}",
            "scenario.yaml:12: arms.1.interventions.0.agent:",
            "no agent 'rab27a_knockdown' acts at mvb_production",
        ),
        (
            "{type: uptake_blocker, route: osmosis, efficacy: 1.0}",
            "scenario.yaml:12: arms.1.interventions.0.route:",
            "unknown uptake route 'osmosis'",
        ),
        (
            "{type: machinery_depletion, efficacy: 1.0}",
            "scenario.yaml:12: arms.1.interventions.0:",
            "machinery_depletion needs machinery",
        ),
        (
            "{type: uptake_blocker, route: fusion, efficacy: 1.0, donors: {cell: caf}}",
            "scenario.yaml:12: arms.1.interventions.0:",
            "give receivers, not donors",
        ),
    ],
)
def test_bad_step_interventions(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, new: str, where: str, message: str
) -> None:
    from exotwin.model.scenario.load import ScenarioError

    from .conftest import SMALL_SCENARIO

    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, SMALL_SCENARIO.replace(INTERVENTION, new)), kb, lib)
    found = [str(p) for p in info.value.problems]
    assert any(where in p and message in p for p in found), found
    assert all("\n" not in p for p in found)


def _uptake(
    kb: KnowledgeBase, lib: Library, path: Path, arm: int = 1
) -> tuple[CompiledModel, Pools, np.ndarray]:
    """Pools and the cargo each signal internalises, at day 1 with every pool at 1e9."""
    scenario = load_scenario(path, kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[arm])
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    y = model.initial[None, :].copy()
    y[:, model.layout.pools : model.layout.signals] = 1e9
    factors = time_factors(model, NUMERIC, derived, 1.0)
    cells = cells_of(model, NUMERIC, derived, y)
    left = factors["route"] if model.rows.factors.route else None
    pools = pools_of(model, NUMERIC, derived, y, cells, left)
    sensed = np.flatnonzero(model.rows.signals.pool >= 0)
    return model, pools, _internalised(model, derived, pools, factors, sensed)[0]


def test_routes_at_nominal_are_the_single_uptake_term(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """At the data's nominal values the routes take up exactly what one saturating term did,
    and the cytoplasmic signal equals the uptake (the rules' calibration)."""
    from .conftest import SMALL_SCENARIO

    model, pools, internalised = _uptake(kb, lib, write(tmp_path, SMALL_SCENARIO), arm=0)
    theta, rows = model.parameters.values, model.rows
    concentration = pools.amount / pools.volume
    c_all = concentration[..., np.maximum(rows.pools.all_pool, 0)]
    vmax, half = theta[rows.exchange.uptake_max], theta[rows.exchange.uptake_half_saturation]
    single = np.where(rows.pools.uptake, vmax * concentration / (half + c_all), 0.0)
    assert np.allclose(pools.per_cell, single, rtol=1e-12, atol=0)
    sensed = rows.signals.pool[rows.signals.pool >= 0]
    assert internalised == pytest.approx(pools.per_cell[0, sensed], rel=1e-12)
    assert len(pools.per_route) == len(lib.lifecycle.routes)


def test_uptake_blocker_blocks_one_route_in_its_receivers(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """Blocking endocytosis in the fibroblasts removes that route's uptake and cytoplasmic
    delivery from them alone; the other routes do not take over (each saturates on its own)."""
    from .conftest import SMALL_SCENARIO

    text = SMALL_SCENARIO.replace(
        INTERVENTION,
        "{type: uptake_blocker, route: endocytosis, efficacy: 1.0, receivers: {cell: fibroblast}}",
    )
    model, pools, blocked = _uptake(kb, lib, write(tmp_path, text))
    _, open_pools, internalised = _uptake(kb, lib, write(tmp_path, SMALL_SCENARIO, "s0.yaml"), 0)
    routes = {r.id: r for r in lib.lifecycle.routes}
    total = sum(r.share.value for r in routes.values())
    reference = sum(r.share.value * r.cytoplasm.value for r in routes.values()) / total
    endocytosis = routes["endocytosis"].share.value / total
    fibroblasts = [p.index for p in model.populations if p.cell in {"fibroblast", "caf"}]
    pops = model.rows.signals.pop[model.rows.signals.pool >= 0]
    kept = 1 - endocytosis * routes["endocytosis"].cytoplasm.value / reference
    for i, pop in enumerate(pops):
        expected = internalised[i] * (kept if pop in fibroblasts else 1.0)
        assert blocked[i] == pytest.approx(expected, rel=1e-12), model.populations[pop].label
    n = model.initial[: model.layout.pools]
    share = n[fibroblasts].sum() / n.sum()  # of the cells taking up the culture's pools
    taking = np.flatnonzero(model.rows.pools.uptake)
    assert pools.taken[0, taking] == pytest.approx(
        open_pools.taken[0, taking] * (1 - endocytosis * share), rel=1e-12
    )


def test_lifecycle_rates_are_overridable_uncertain_parameters(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """Lifecycle rates and shares are library parameters: with ranges (varied by the
    uncertainty tools), overridable by a scenario within them; a route that saturates later
    takes up less at the same exosome concentration."""
    from exotwin.model.scenario.load import ScenarioError
    from exotwin.model.uncertainty.robust import uncertain_parameters

    from .conftest import SMALL_SCENARIO

    names = set(lib.lifecycle.parameters())
    assert {"lifecycle.mvb_release", "lifecycle.route.fusion.half_saturation"} <= names
    varied = {ident for (section, ident, _), _ in uncertain_parameters(lib)}
    assert names <= varied
    override = "parameters: {lifecycle.route.fusion.half_saturation: 10}\n"
    _, nominal, _ = _uptake(kb, lib, write(tmp_path, SMALL_SCENARIO, "s0.yaml"), 0)
    model, later, _ = _uptake(kb, lib, write(tmp_path, override + SMALL_SCENARIO), 0)
    assert "lifecycle.route.fusion.half_saturation" in model.parameters.names
    taking = np.flatnonzero(model.rows.pools.uptake)
    assert np.all(later.per_cell[0, taking] < nominal.per_cell[0, taking])
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, override.replace("10", "20") + SMALL_SCENARIO), kb, lib)
    message = str(info.value)
    assert "lifecycle.route.fusion.half_saturation" in message and "lifecycle.yaml" in message


def test_depleting_machinery_without_its_cargo_is_refused(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    from exotwin.model.scenario.load import ScenarioError

    from .conftest import SMALL_SCENARIO

    text = SMALL_SCENARIO.replace(
        INTERVENTION, "{type: loader_knockdown, machinery: hnRNPA2B1, efficacy: 1.0}"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text), kb, lib)
    (problem,) = [str(p) for p in info.value.problems]
    assert "scenario.yaml:12: arms.1.interventions.0.machinery:" in problem
    assert "hnrnpa2b1 sorts AGAP2-AS1" in problem and "nothing would change" in problem


@pytest.mark.parametrize(
    "name",
    ["her2-escrt-sorting-trastuzumab", "mvb-fate-lysosome-or-release"],  # shares; MVB fate
)
def test_sbml_export_reproduces_lifecycle_interventions(
    kb: KnowledgeBase, lib: Library, name: str
) -> None:
    from exotwin.model.ode.sbml import load_roadrunner, run_roadrunner, to_sbml
    from exotwin.model.ode.solve import simulate_arm

    from .test_sbml import TIGHT, _worst

    scenario = load_named(name, kb, lib)
    for arm in scenario.arms:
        model = compile_arm(kb, lib, scenario, arm)
        theirs = run_roadrunner(load_roadrunner(to_sbml(model)), model)
        assert _worst(kb, model, simulate_arm(model, TIGHT), theirs) <= 1e-4, arm.name


def test_sbml_export_reproduces_a_blocked_uptake_route(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """The routes' saturation and a blocked route in some receivers, in libroadrunner too."""
    from exotwin.model.ode.sbml import load_roadrunner, run_roadrunner, to_sbml
    from exotwin.model.ode.solve import simulate_arm

    from .conftest import SMALL_SCENARIO
    from .test_sbml import TIGHT, _worst

    text = SMALL_SCENARIO.replace(
        INTERVENTION,
        "{type: uptake_blocker, route: endocytosis, efficacy: 0.9, receivers: {cell: fibroblast}}",
    )
    scenario = load_scenario(write(tmp_path, text), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    theirs = run_roadrunner(load_roadrunner(to_sbml(model)), model)
    assert _worst(kb, model, simulate_arm(model, TIGHT), theirs) <= 1e-4
