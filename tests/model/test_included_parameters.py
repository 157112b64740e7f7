"""Parameters that include another (a division rate = measured net growth + basal death)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library, ModelDataError, load_library, packaged_model_dir
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.uncertainty.robust import latin_hypercube, robustness, robustness_by_runs

from .conftest import SMALL_SCENARIO, write

DEATH = ("parameters", "cancer_death_rate", "value")


def _value(name: str) -> tuple[str, str, str]:
    return ("parameters", name, "value")


def test_draws_never_make_a_cancer_cell_divide_slower_than_it_dies(lib: Library) -> None:
    """The measured net growth (ln2 / doubling time) stays positive in every draw."""
    growth = {c.growth for c in lib.cells.values() if c.death == "cancer_death_rate"}
    assert len(growth) >= 4
    for values in latin_hypercube(lib, 50, seed=0):
        for name in growth:
            assert name is not None and values[_value(name)] >= values[DEATH]


def test_an_including_parameter_adds_the_drawn_value_to_its_own_part(lib: Library) -> None:
    p, death = lib.parameters["tnbc_growth_rate"], lib.parameters["cancer_death_rate"]
    assert p.includes == "cancer_death_rate" and p.low is not None and p.high is not None
    for values in latin_hypercube(lib, 20, seed=4):
        own = values[_value("tnbc_growth_rate")] - values[DEATH]
        assert p.low - death.value - 1e-12 <= own <= p.high - death.value + 1e-12


def _without_includes(lib: Library) -> Library:
    plain = {k: p.model_copy(update={"includes": None}) for k, p in lib.parameters.items()}
    return replace(lib, parameters=plain)


def test_nominal_models_are_bit_identical(kb: KnowledgeBase, lib: Library) -> None:
    """Every arm of every shipped scenario compiles to the parameter vector it had before
    ``includes`` existed (about 3 s: compiling only)."""
    plain = _without_includes(lib)
    for path in packaged_scenarios().values():
        scenario = load_scenario(path, kb, lib)
        for arm in scenario.arms:
            ours = compile_arm(kb, lib, scenario, arm).parameters
            theirs = compile_arm(kb, plain, scenario, arm).parameters
            assert ours.names == theirs.names
            assert np.array_equal(ours.values, theirs.values), (scenario.id, arm.name)


def test_overriding_the_included_parameter_keeps_the_own_part(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """A scenario's basal death moves the division with it: the net growth stays measured;
    a division the scenario sets itself stays as set."""
    text = SMALL_SCENARIO + "parameters: {cancer_death_rate: 0.03}\n"
    scenario = load_scenario(write(tmp_path, text), kb, lib)
    book = compile_arm(kb, lib, scenario, scenario.arms[0]).parameters
    values = dict(zip(book.names, book.values, strict=True))
    nominal = lib.parameters["tnbc_growth_rate"].value
    assert values["tnbc_growth_rate"] == pytest.approx(nominal + 0.02)
    both = scenario.model_copy(
        update={"parameters": {"cancer_death_rate": 0.03, "tnbc_growth_rate": 0.02}}
    )
    book = compile_arm(kb, lib, both, both.arms[0]).parameters
    assert dict(zip(book.names, book.values, strict=True))["tnbc_growth_rate"] == 0.02


def test_the_fast_path_matches_whole_runs_under_an_included_override(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    text = SMALL_SCENARIO + "parameters: {cancer_death_rate: 0.03}\n"
    scenario = load_scenario(write(tmp_path, text), kb, lib)
    assert robustness(kb, lib, scenario, 3, seed=2) == robustness_by_runs(
        kb, lib, scenario, 3, seed=2
    )


@pytest.mark.parametrize(
    ("includes", "low", "message"),
    [
        ("no_such_parameter", 0.02, "expected the id of another parameter"),
        ("cancer_death_rate", 0.005, "its own part would be negative"),
        ("tnbc_growth_rate", 0.02, "which includes 'cancer_death_rate' in turn"),
    ],
)
def test_a_wrong_inclusion_is_one_typed_problem(
    kb: KnowledgeBase, tmp_path: Path, includes: str, low: float, message: str
) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "parameters:\n  - id: odd_rate\n    value: 0.03\n    unit: 1/day\n"
        f"    includes: {includes}\n    source: a test\n    low: {low}\n    high: 0.04\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), extra])
    [problem] = [p for p in info.value.problems if p.field.endswith("includes")]
    assert problem.file.name == "extra.yaml" and problem.line == 5 and message in problem.message
