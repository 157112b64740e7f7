"""The exosome lifecycle (model/data/lifecycle): steady state, data, and interventions at steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.errors import ModelDataError
from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.equations import NUMERIC, derive, time_factors
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.rules.lifecycle import (
    LIFECYCLE_FILE,
    load_lifecycle,
    packaged_lifecycle,
    production_for,
    steady_state,
)
from exotwin.model.scenario.load import load_scenario, packaged_scenarios

from .conftest import write


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


def test_bad_lifecycle_file_is_one_typed_line(tmp_path: Path) -> None:
    text = LIFECYCLE_FILE.read_text(encoding="utf-8")
    bad = write(tmp_path, text.replace("value: 2.52\n", "value: -1\n", 1), "lifecycle.yaml")
    with pytest.raises(ModelDataError) as err:
        load_lifecycle(bad)
    message = str(err.value)
    assert "lifecycle.yaml:" in message and "lifecycle.rates.mvb_release" in message
