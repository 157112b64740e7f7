"""The batch axis: many patients at once give what each gives alone."""

from __future__ import annotations

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.solve import simulate, simulate_arm, simulate_patients
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.readouts import evaluate, relative_difference
from exotwin.model.uncertainty.robust import with_values

from .scenario_files import load_named

CASES = [
    ("tnbc-doxorubicin-exosomal-resistance", "doxorubicin-release-inhibitor"),
    ("exosomal-pdl1-blunts-anti-pdl1", "anti-pdl1"),
    ("doxorubicin-exosome-carrier-vs-free", "exosomal-doxorubicin"),
    ("tamoxifen-horizontal-resistance", "tamoxifen-resistant-exosomes"),
]


@pytest.mark.parametrize(("name", "arm_name"), CASES)
def test_batch_matches_patient_by_patient(
    kb: KnowledgeBase, lib: Library, name: str, arm_name: str
) -> None:
    scenario = load_named(name, kb, lib)
    arm = next(a for a in scenario.arms if a.name == arm_name)
    models = []
    for factor, size in ((0.5, 0.3), (1.0, 1.0), (2.0, 3.0)):  # patients differ
        patient_lib = with_values(
            lib,
            {
                ("parameters", "uptake_max", "value"): lib.parameters["uptake_max"].value * factor,
                ("parameters", "cancer_growth_rate", "value"): 0.05 * factor,
            },
        )
        pops = [p.model_copy(update={"count": p.count * size}) for p in scenario.populations]
        patient = scenario.model_copy(update={"populations": pops})
        models.append(compile_arm(kb, patient_lib, patient, arm))
    together = simulate_patients(models)
    for model, batched in zip(models, together, strict=True):
        a = evaluate(kb, simulate_arm(model), scenario.readouts)
        b = evaluate(kb, batched, scenario.readouts)
        for readout in scenario.readouts:
            assert relative_difference(readout, a[readout.name], b[readout.name]) < 1e-3


def test_a_batch_is_a_parameter_axis(kb: KnowledgeBase, lib: Library) -> None:
    """One compiled arm, a (patients x parameters) array: the same as patient by patient."""
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    theta = np.tile(model.parameters.values, (3, 1))
    theta[:, model.parameters.names.index("rule_max_rate")] *= [0.5, 1.0, 2.0]
    batch = simulate(model, theta)
    for row, run in zip(theta, batch, strict=True):
        alone = simulate(model, row)[0]
        assert np.allclose(run.states, alone.states, rtol=1e-4, atol=1e-3)
    assert not np.allclose(batch[0].states, batch[2].states, rtol=1e-2)


def test_patients_of_different_structure_are_refused(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    other = load_scenario("m2-polarisation-mir138-gp130", kb, lib)
    models = [
        compile_arm(kb, lib, scenario, scenario.arms[0]),
        compile_arm(kb, lib, other, other.arms[0]),
    ]
    with pytest.raises(ValueError, match="share the compiled structure"):
        simulate_patients(models)
