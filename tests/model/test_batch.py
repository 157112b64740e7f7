"""The batched solver: many patients at once give what each gives alone."""

from __future__ import annotations

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.batch import simulate_batch
from exotwin.model.compiler import compile_arm
from exotwin.model.library import Library
from exotwin.model.readouts import evaluate, relative_difference
from exotwin.model.robust import with_values
from exotwin.model.run import volumes
from exotwin.model.scenario import load_scenario
from exotwin.model.simulate import simulate_arm

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
    scenario = load_scenario(name, kb, lib)
    arm = next(a for a in scenario.arms if a.name == arm_name)
    libs, models = [], []
    for factor, size in ((0.5, 0.3), (1.0, 1.0), (2.0, 3.0)):  # patients differ
        patient_lib = with_values(
            lib,
            {
                ("parameters", "uptake_max", "value"): lib.parameters["uptake_max"].value * factor,
                ("parameters", "cancer_growth_rate", "value"): 0.05 * factor,
            },
        )
        pops = [p.model_copy(update={"count": p.count * size}) for p in scenario.populations]
        libs.append(patient_lib)
        models.append(
            compile_arm(kb, patient_lib, scenario.model_copy(update={"populations": pops}), arm)
        )
    together = simulate_batch(kb, libs, models)
    for patient_lib, model, batched in zip(libs, models, together, strict=True):
        alone = simulate_arm(kb, patient_lib, model)
        a = evaluate(kb, alone, scenario.readouts, volumes(patient_lib, scenario))
        b = evaluate(kb, batched, scenario.readouts, volumes(patient_lib, scenario))
        for readout in scenario.readouts:
            assert relative_difference(readout, a[readout.name], b[readout.name]) < 1e-3


def test_patients_of_different_structure_are_refused(kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario("nf-to-caf-mir9-mir125b", kb, lib)
    other = load_scenario("m2-polarisation-mir138-gp130", kb, lib)
    models = [
        compile_arm(kb, lib, scenario, scenario.arms[0]),
        compile_arm(kb, lib, other, other.arms[0]),
    ]
    with pytest.raises(ValueError, match="share the compiled structure"):
        simulate_batch(kb, [lib, lib], models)
