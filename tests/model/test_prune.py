"""Pruning the compiled layout drops only variables no readout depends on (rules/prune.py)."""

from __future__ import annotations

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.solve import Tolerances, simulate_arm
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.rules.rows import CompiledModel
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.readouts import evaluate
from exotwin.model.scenario.schema import Scenario

from .scenario_files import load_named

TIGHT = Tolerances(rtol=1e-10, atol_scale=1e-6)
FLOOR = {"count": 1e-3, "killed": 1e-3, "exosomes": 1e-3}  # the solver's absolute tolerance


def _differences(kb: KnowledgeBase, lib: Library, scenario: Scenario) -> list[str]:
    """Readouts of every arm that differ between the pruned and the full model."""
    problems = []
    for arm in scenario.arms:
        full, pruned = (compile_arm(kb, lib, scenario, arm, pruned=p) for p in (False, True))
        assert pruned.layout.size <= full.layout.size
        a = evaluate(kb, simulate_arm(full, TIGHT), scenario.readouts)
        b = evaluate(kb, simulate_arm(pruned, TIGHT), scenario.readouts)
        for r in scenario.readouts:
            scale = np.maximum(np.maximum(np.abs(a[r.name]), np.abs(b[r.name])), 1e-12)
            scale = np.maximum(scale, FLOOR.get(r.kind, 1e-12))
            worst = float(np.nanmax(np.abs(a[r.name] - b[r.name]) / scale))
            if worst > 1e-6:
                problems.append(f"{arm.name}/{r.name}: {worst:.3g}")
    return problems


def _terms(model: CompiledModel) -> set[tuple[object, ...]]:
    """Each rule term with its signal's cargo key and compartment instead of an index."""
    pops = model.populations
    signal = {i: (key, pops[pop].compartment) for (key, pop), i in model.signals.items()}
    return {(t.rule_id, t.phenotype, t.target, t.up, signal[t.signal]) for t in model.terms}


@pytest.mark.parametrize(
    ("name", "days"),
    [
        ("hotair-falls-after-surgery", None),  # surgery scales the kept pools only
        ("mir27a-er-stress-pdl1-macrophages", None),  # an activity readout, exosomes dosed
        ("mir4443-liver-metastasis", None),  # knockdown and overexpression of a cargo, transport
        ("plasma-markers-cancer-vs-healthy", None),  # the plasma's healthy baseline
        ("trastuzumab-her2-exosome-decoys", 8.0),  # exosomes binding a drug
        ("m2-polarisation-mir138-gp130", None),  # macrophages of a compartment share a signal
        ("snhg14-trastuzumab-resistance", None),  # so do the sensitive and resistant cells
        ("survivin-caf-sod1-feedback", None),  # CAFs relay their survivin signal (acts_on)
    ],
)
def test_pruned_model_reads_out_the_same(
    kb: KnowledgeBase, lib: Library, name: str, days: float | None
) -> None:
    scenario = load_named(name, kb, lib)
    if days is not None:
        scenario = scenario.model_copy(update={"duration": days, "checks": []})
    assert not _differences(kb, lib, scenario)


def test_default_model_keeps_only_what_is_read(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("tnbc-default-all-mechanisms", kb, lib)
    full = compile_arm(kb, lib, scenario, scenario.arms[0], pruned=False)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    assert model.layout.size < full.layout.size / 2
    assert len(model.populations) == len(full.populations)
    assert model.parameters.names == full.parameters.names  # a cohort draws the same values
    relayed = {r for found in model.structure.relay.sources.values() for _, r in found if r >= 0}
    read = {t.signal for t in model.terms} | relayed  # read by a term, or relayed (acts_on)
    assert read == set(model.signals.values())
    assert not model.activities  # no readout reads an activity
    pops = model.populations
    by_pool = [(key, pops[pop].compartment) for key, pop in model.signals]
    by_pool = [
        k for k in by_pool if k[0] not in model.structure.relay.cargo
    ]  # relays: per receiver
    assert len(set(by_pool)) == len(by_pool)  # one signal per cargo and compartment
    assert _terms(model) < _terms(full)  # renumbered, none changed or invented
    plasma = [key for key, comp in model.pools if comp == "plasma"]
    assert "TRPC5" in {model.pool_cargo[k] for k in plasma}  # the readout's pool stays
