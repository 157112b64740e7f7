"""What decides a check's verdict over the robustness draws (Monte Carlo filtering)."""

from __future__ import annotations

import csv
import io

import numpy as np
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.uncertainty.drivers import drivers
from exotwin.model.uncertainty.robust import robustness


def test_the_parameter_that_decides_the_verdict_is_found() -> None:
    rng = np.random.default_rng(0)
    values = {name: rng.uniform(size=50) for name in ("decides", "other", "noise")}
    held = values["decides"] > 0.4
    found = drivers(values, held)
    assert found[0].parameter == "decides" and found[0].pvalue < 1e-6
    assert found[0].holds_when == "high" and found[0].statistic > 0.9
    assert all(d.pvalue > 0.05 for d in found[1:])  # chance leads, if any, are not confident
    found = drivers(values, ~held)  # the check holds where the parameter is low
    assert found[0].holds_when == "low"


def test_no_driver_where_the_verdict_never_changes_or_is_chance() -> None:
    rng = np.random.default_rng(1)
    values = {name: rng.uniform(size=50) for name in ("a", "b", "c")}
    assert drivers(values, [True] * 50) == ()
    assert drivers(values, [False] * 50) == ()
    assert all(d.pvalue > 0.05 for d in drivers(values, rng.uniform(size=50) > 0.5))


def test_drivers_of_a_scenario_are_parameters_its_arms_use(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    found = robustness(kb, lib, scenario, 30, seed=0)
    used = {
        n for arm in scenario.arms for n in compile_arm(kb, lib, scenario, arm).parameters.names
    }
    named = {d.parameter for ds in found.drivers.values() for d in ds}
    assert set(found.drivers) == {c.name for c in scenario.checks}
    assert named <= used
    for name, ds in found.drivers.items():
        if found.passed[name] in (0, found.samples):
            assert ds == ()


def test_the_check_command_prints_the_drivers() -> None:
    result = CliRunner().invoke(
        app, ["scenarios", "check", "nf-to-caf-mir9-mir125b", "--robust", "8", "--csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all("drivers" in row for row in rows)
