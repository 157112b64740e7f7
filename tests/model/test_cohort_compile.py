"""A cohort compiles each arm once: a patient's model, from the nominal arm with its drawn
values and scaled counts, is the very model compiling its own library and counts builds."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.uncertainty.cohort import _patient_arm, _patient_model
from exotwin.model.uncertainty.robust import with_values

from .scenario_files import load_named

FIELDS = ("scenario", "arm", "structure", "parameters", "layout", "cargo", "rows")


@pytest.mark.parametrize(
    "name",
    ["nf-to-caf-mir9-mir125b", "hotair-falls-after-surgery", "trastuzumab-her2-exosome-decoys"],
)
def test_a_patient_model_is_the_compiled_one(kb: KnowledgeBase, lib: Library, name: str) -> None:
    scenario = load_named(name, kb, lib)  # hotair overrides a parameter the draws set
    rng = np.random.default_rng(0)
    ranged = {k: p for k, p in lib.parameters.items() if p.low is not None and p.high is not None}
    values = {k: float(p.low + rng.random() * (p.high - p.low)) for k, p in ranged.items()}  # type: ignore[operator]
    for arm in scenario.arms:
        patient = _patient_arm(scenario, arm, 1.7)
        assert not isinstance(patient, str)
        drawn = with_values(lib, {("parameters", k, "value"): v for k, v in values.items()})
        expected = compile_arm(kb, drawn, *patient)
        base = compile_arm(kb, lib, scenario, arm)
        found = _patient_model(base, patient, values, 1.7)
        for field in FIELDS:
            assert pickle.dumps(getattr(found, field)) == pickle.dumps(getattr(expected, field))
        assert np.array_equal(found.initial, expected.initial)
