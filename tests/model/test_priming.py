"""Priming that outlasts its signal, and immunogenic death that primes (issue 16, causes J, K).

Dendritic cells presenting tumour antigens prime T cells, and the priming is held (cells.yaml
``acts_on`` ``memory``): it rises towards its stimulus at ``t_cell_priming_rate`` and fades at
``t_cell_memory_loss`` once the antigen is gone. Cancer cells dying an immunogenic death raise
the antigen presentation of the DCs beside them, which prime the T cells in turn.

Each test failed before: T-cell activation followed the DCs' signal at once, and immunogenic
death was death only.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, load_library, load_scenario, run_scenario
from exotwin.model.ode.sbml import load_roadrunner, run_roadrunner, to_sbml
from exotwin.model.ode.solve import Tolerances, simulate_arm
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import ModelDataError, packaged_model_dir
from exotwin.model.scenario.readouts import evaluate

from .conftest import write

VACCINE = """\
id: {id}
title: test
populations:
  - {{cell: bc_tnbc, count: {cancer}}}
  - {{cell: dendritic_cell, count: 1.0e7}}
  - {{cell: cd8_t_cell, count: 1.0e8}}
mechanisms:
  rules: [{rule}]
arms:
  - name: none
  - name: dosed
    interventions:
      - {{type: exosome_dose, donor: {{cell: {donor}}}, exosomes: {dose}, compartment: tumour,
         schedule: {{start: 0, every: 100, doses: 1}}}}
duration: {days}
parameters: {{{parameters}}}
readouts:
  - {{name: t_activity, kind: activity, phenotype: t_cell_activity, of: {{cell: cd8_t_cell}}}}
  - {{name: presentation, kind: activity, phenotype: antigen_presentation,
     of: {{cell: dendritic_cell}}}}
  - {{name: t_cells, kind: count, of: {{cell: cd8_t_cell}}}}
"""
_NUMBER = count()
VACCINE_RULE = "tumour-exosome-antigens-dendritic-cells"
ICD_RULE = "lalba-exosomes-immunogenic-death"


def _run(  # type: ignore[no-untyped-def]
    kb: KnowledgeBase,
    lib: Library,
    tmp_path: Path,
    rule: str = VACCINE_RULE,
    donor: str = "bc_tnbc",
    days: int = 14,
    parameters: str = "",
    text: str = VACCINE,
    cancer: float = 1.0e6,
    dose: float = 1.0e12,
):
    name = f"priming-{next(_NUMBER)}"
    body = text.format(
        id=name, rule=rule, donor=donor, days=days, parameters=parameters, cancer=cancer, dose=dose
    )
    scenario = load_scenario(write(tmp_path, body, f"{name}.yaml"), kb, lib)
    return run_scenario(kb, lib, scenario).readouts


def _effect(readouts, name: str) -> float:  # type: ignore[no-untyped-def]
    """The dosed arm's readout at the end over the undosed arm's."""
    return float(readouts["dosed"][name][-1] / readouts["none"][name][-1])


def test_priming_outlasts_the_antigen_signal(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Two weeks after one dose of tumour exosomes the DCs' antigen is gone (presentation
    back within 1 % of the undosed arm), but the T cells they primed are still active: a
    brief antigen encounter programs T-cell expansion that goes on without antigen (van
    Stipdonk et al., Nat Immunol 2001)."""
    readouts = _run(kb, lib, tmp_path)
    assert _effect(readouts, "presentation") == pytest.approx(1.0, abs=0.01)
    assert _effect(readouts, "t_activity") > 1.01
    assert _effect(readouts, "t_cells") > 1.01  # the primed T cells expanded


def test_memory_fades_at_its_loss_rate(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """The held priming fades at ``t_cell_memory_loss``: a slow loss (a memory pool) keeps
    more of it two weeks on than the fast contraction of effector cells."""
    kept = {
        loss: _effect(
            _run(kb, lib, tmp_path, parameters=f"t_cell_memory_loss: {loss}"), "t_activity"
        )
        for loss in (0.02, 0.3)
    }
    assert kept[0.02] - 1.0 > 2.0 * (kept[0.3] - 1.0) > 0.0


def test_immunogenic_death_primes_t_cells_through_dendritic_cells(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Engineered exosomes that make TNBC cells die an immunogenic death (s000 [128]) expand
    the T cells beside them through the DCs that the dying cells activate; without DCs the
    death alone primes no T cell. The dying cells pass their signal on to the DCs once (it
    was nine times as strong when they made up 90 % of the tumour, and the T cells expanded by
    over 1 %: test_relay_once.py), so the expansion is small: 0.08 %, hundreds of times the
    solver's relative tolerance (1e-6), not 1 %."""
    engineered = "bc_tnbc, state: engineered"
    tumour = {"rule": ICD_RULE, "donor": engineered, "days": 10, "cancer": 1.0e9, "dose": 1.0e13}
    with_dcs = _run(kb, lib, tmp_path, **tumour)
    assert max(with_dcs["dosed"]["presentation"]) > 1.01
    assert _effect(with_dcs, "t_cells") > 1.0005
    no_dcs = (  # no DC, so no T-cell activity to read (an untracked activity is refused)
        VACCINE.replace("  - {{cell: dendritic_cell, count: 1.0e7}}\n", "")
        .replace(
            "  - {{name: presentation, kind: activity, phenotype: antigen_presentation,\n"
            "     of: {{cell: dendritic_cell}}}}\n",
            "",
        )
        .replace(
            "  - {{name: t_activity, kind: activity, phenotype: t_cell_activity,"
            " of: {{cell: cd8_t_cell}}}}\n",
            "",
        )
    )
    alone = _run(kb, lib, tmp_path, text=no_dcs, **tumour)
    assert _effect(alone, "t_cells") == pytest.approx(1.0, abs=1e-6)


def test_a_memory_rate_in_another_unit_is_named_with_file_and_line(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    cells = tmp_path / "cells.yaml"
    cells.write_text(
        "cells:\n  - cell: mast_cell\n    acts_on:\n      - cell: t_cell\n"
        "        phenotype: t_cell_activity\n        direction: promotes\n"
        "        memory: {priming: t_cell_priming_rate, loss: culture_volume}\n"
        "        source: test\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), cells])
    [problem] = [p for p in info.value.problems if p.file == cells]
    assert problem.field == "cells.0.acts_on.0.memory.loss" and problem.line == 7
    assert "'culture_volume' is in 'mL', expected 1/day" in problem.message


def test_sbml_export_holds_the_priming(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    """The held priming is printed to SBML from the same equations: libroadrunner reproduces
    the T cells and their activity of the dosed arm (immunogenic death, DCs, T cells)."""
    body = VACCINE.format(
        id="priming-sbml",
        rule=f"{ICD_RULE}, {VACCINE_RULE}",
        donor="bc_tnbc, state: engineered",
        days=10,
        parameters="",
        cancer=1.0e9,
        dose=1.0e13,
    )
    scenario = load_scenario(write(tmp_path, body, "priming-sbml.yaml"), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[1])
    assert len(model.rows.signals.memory) >= 1
    theirs = run_roadrunner(load_roadrunner(to_sbml(model)), model)
    ours = simulate_arm(model, Tolerances(rtol=1e-10, atol_scale=1e-6))
    a, b = evaluate(kb, ours, scenario.readouts), evaluate(kb, theirs, scenario.readouts)
    for name in ("t_cells", "t_activity"):
        assert np.allclose(a[name], b[name], rtol=1e-4), name
