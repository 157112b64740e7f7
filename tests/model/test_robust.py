"""Robustness: Latin-hypercube sampling over every parameter's range."""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.errors import SimulationError
from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.solve import Trajectory, simulate
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.rules.rows import CompiledModel
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario
from exotwin.model.uncertainty import robust
from exotwin.model.uncertainty.robust import (
    book_name,
    latin_hypercube,
    robustness,
    robustness_by_runs,
    same_model,
    uncertain_parameters,
    with_draw,
    with_values,
)


def test_every_sampled_value_stays_in_its_range(lib: Library) -> None:
    """Each value (a parameter that includes another: its own part) lies in its range."""
    space = dict(uncertain_parameters(lib))
    assert len(space) > 50
    for values in latin_hypercube(lib, 8, seed=3):
        for path, value in values.items():
            p, included = space[path], lib.parameters.get(path[1])
            if path[0] == "parameters" and included is not None and included.includes:
                value -= values[("parameters", included.includes, "value")]
            assert p.low <= value <= p.high  # type: ignore[operator]


def test_with_values_replaces_only_what_it_is_told(lib: Library) -> None:
    changed = with_values(
        lib,
        {
            ("parameters", "uptake_max", "value"): 999.0,
            (
                "drugs",
                "doxorubicin",
                "ec50",
            ): 0.5,
        },
    )  # type: ignore[dict-item]
    assert changed.parameters["uptake_max"].value == 999.0
    assert changed.drugs["doxorubicin"].ec50.value == 0.5
    assert lib.parameters["uptake_max"].value != 999.0
    assert changed.parameters["secretion_rate"] == lib.parameters["secretion_rate"]


def test_robustness_is_reproducible(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    first = robustness(kb, lib, scenario, 6, seed=11)
    again = robustness(kb, lib, scenario, 6, seed=11)
    assert first == again
    assert set(first.passed) == {c.name for c in scenario.checks}
    assert all(0 <= first.fraction(name) <= 1 for name in first.passed)


@pytest.mark.parametrize(
    "name", ["gstp1-adriamycin-resistance-transfer", "del1-fibronectin-survivin-blood"]
)
def test_the_fast_path_gives_the_verdicts_of_whole_runs(
    kb: KnowledgeBase, lib: Library, name: str
) -> None:
    """Drugs, rules and an assay (whose CV is drawn): pass counts as one run per draw gives."""
    scenario = load_scenario(name, kb, lib)
    ticks: list[int] = []
    fast = robustness(kb, lib, scenario, 4, seed=5, progress=lambda: ticks.append(1))
    assert fast == robustness_by_runs(kb, lib, scenario, 4, seed=5)
    assert len(ticks) == 4 and fast.errors == 0


@pytest.mark.parametrize(
    "name", ["gstp1-adriamycin-resistance-transfer", "hotair-falls-after-surgery"]
)
def test_every_kind_of_drawn_value_reaches_the_model(
    kb: KnowledgeBase, lib: Library, name: str
) -> None:
    """Global parameters (one overridden by the scenario), drug fields and each rule field:
    a draw's values in the nominal arm make the model that compiling its library makes."""
    fields = ("loading", "half_max", "hill", "max_rate", "fold")
    own = replace(  # every rule with its own value of each field, so that each is drawn
        lib,
        rules={
            k: rule.model_copy(
                update={f: lib.parameters[f"rule_{f}"] for f in fields if getattr(rule, f) is None}
            )
            for k, rule in lib.rules.items()
        },
    )
    scenario = load_scenario(name, kb, own)
    values = next(latin_hypercube(own, 1, seed=2))
    reached = set()
    for arm in scenario.arms:
        base = compile_arm(kb, own, scenario, arm)
        drawn = with_draw(base, values)
        assert same_model(drawn, compile_arm(kb, with_values(own, values), scenario, arm))
        assert not same_model(drawn, base)
        reached |= {
            path[0] if path[0] != "rules" else path[2]
            for path in values
            if book_name(path) in base.parameters.names
        }
    expected = {"parameters"} | ({"drugs", *fields} if name.startswith("gstp1") else set())
    assert reached >= expected


def test_draws_compile_when_the_nominal_arm_does_not_give_their_model(
    kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario("doxorubicin-vesicle-export", kb, lib)
    compiled: list[int] = []
    original = robust.compile_arm

    def counting(*args: Any) -> CompiledModel:
        compiled.append(1)
        return original(*args)

    monkeypatch.setattr(robust, "compile_arm", counting)
    fast = robustness(kb, lib, scenario, 3, seed=1)
    assert len(compiled) == 2 * len(scenario.arms)  # nominal, and the first draw to compare
    compiled.clear()
    monkeypatch.setattr(robust, "with_draw", lambda base, values: base)  # values left out
    assert robustness(kb, lib, scenario, 3, seed=1) == fast
    assert len(compiled) == (2 + 3) * len(scenario.arms)


def test_a_draw_whose_solve_fails_counts_as_an_error(
    kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fails (or spends its budget) integrates its draws alone; a draw that fails
    alone is an error, and a failure of every check it has."""
    scenario = load_scenario("doxorubicin-vesicle-export", kb, lib)
    nominal = robustness(kb, lib, scenario, 3, seed=1)
    solved: list[CompiledModel] = []

    def second_fails(model: CompiledModel, *batch: Any, budget: Any = None) -> list[Trajectory]:
        if batch:
            raise SimulationError("the budget of right-hand sides is spent")
        solved.append(model)
        if len(solved) % 3 == 2:
            raise SimulationError("diverged")
        return simulate(model, budget=budget)

    monkeypatch.setattr(robust, "simulate", second_fails)
    found = robustness(kb, lib, scenario, 3, seed=1)
    assert found.errors == 1 and len(solved) == 3 * len(scenario.arms)
    second = list(latin_hypercube(lib, 3, seed=1))[1]  # the draw that fails in every arm
    lost = {
        c.name: c.passed for c in run_scenario(kb, with_values(lib, second), scenario, 1).checks
    }
    assert all(found.passed[c] == nominal.passed[c] - lost[c] for c in found.passed)
    assert any(lost.values())


def test_a_batch_whose_jacobian_is_singular_integrates_its_draws_alone(
    kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scipy's BDF raises RuntimeError when its iteration matrix is singular (seen for a batch
    of mir1910-3p-growth-metastasis): the draws then run alone, as for a failed batch."""
    scenario = load_scenario("doxorubicin-vesicle-export", kb, lib)
    nominal = robustness(kb, lib, scenario, 3, seed=1)

    def singular(model: CompiledModel, *batch: Any, budget: Any = None) -> list[Trajectory]:
        if batch:
            raise RuntimeError("Factor is exactly singular")
        return simulate(model, budget=budget)

    monkeypatch.setattr(robust, "simulate", singular)
    assert robustness(kb, lib, scenario, 3, seed=1) == nominal


def test_a_draw_that_overflows_fails_quietly_and_is_reported_unsolved(
    kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numpy's overflow in a diverging draw is not printed as a warning; the CLI's robust table
    counts the draws that could not be solved."""
    original = robust.simulate

    def overflows(model: CompiledModel, *batch: Any, budget: Any = None) -> list[Trajectory]:
        if batch:
            raise SimulationError("the budget of right-hand sides is spent")
        if np.float64(1e308) * 10 == np.inf:  # what a blowing-up right-hand side does
            raise SimulationError("diverged")
        return original(model, budget=budget)

    monkeypatch.setattr(robust, "simulate", overflows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = CliRunner().invoke(
            app, ["scenarios", "check", "doxorubicin-vesicle-export", "--robust", "2", "--csv"]
        )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all(row["unsolved"] == "2" and row["robust"] == "0.0" for row in rows)
