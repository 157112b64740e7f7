"""Exosomes that bind an antibody (``bound_by_cargo``) hold part of it: the cells see the free
antibody left at equilibrium, as HER2-positive exosomes blunt trastuzumab in culture
(Ciravolo et al., J Cell Physiol 2012)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exotwin.knowledge import KnowledgeBase
from exotwin.model.ode.equations import NUMERIC, free_share
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario

uM = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)


@given(uM, uM, st.floats(min_value=1e-4, max_value=1.0))
def test_free_antibody_balances_what_the_sites_hold(total: float, sites: float, kd: float) -> None:
    free = float(free_share(NUMERIC, np.array(total), np.array(sites), np.array(kd)))
    assert 0.0 <= free <= total + 1e-12
    assert free + sites * free / (free + kd) == pytest.approx(total, rel=1e-9, abs=1e-9)


def test_no_sites_leave_all_of_it_free() -> None:
    assert float(free_share(NUMERIC, np.array(0.7), np.array(0.0), np.array(0.005))) == 0.7


SCENARIO = """\
id: her2-exosomes-bind-trastuzumab-in-culture
title: HER2 exosomes added to the medium bind trastuzumab
subtype: her2_positive
populations:
  - {cell: bc_her2, count: 2.0e5, compartment: culture}
mechanisms:
  rules: [her2-exosome-decoys]
arms:
  - name: trastuzumab
    interventions:
      - {type: drug, drug: trastuzumab, concentration: 0.01, schedule: {start: 0, every: 2, doses: 3}}
  - name: with-exosomes
    interventions:
      - {type: drug, drug: trastuzumab, concentration: 0.01, schedule: {start: 0, every: 2, doses: 3}}
      - {type: exosome_dose, cargo: ERBB2, exosomes: 1.0e11, compartment: culture,
         schedule: {start: 0, every: 2, doses: 3}}
duration: 6
readouts:
  - {name: cells, kind: count, of: {cell: bc_her2, compartment: culture}}
"""


def test_her2_exosomes_in_the_medium_blunt_trastuzumab(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """5e10 exosomes/mL with 100 HER2 each hold ~0.008 uM of binding sites against 0.01 uM of
    antibody (Kd 0.005 uM): about 40 % of it is bound, so its block of division (0.5 at most,
    EC50 0.05 uM) falls from ~0.083 to ~0.054; at ~0.4 divisions a day that leaves ~7 % more
    cells after six days, besides the antibody the exosomes carry off as cells take them up."""
    path = tmp_path / "decoys.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    run = run_scenario(kb, lib, load_scenario(path, kb, lib))
    alone = np.asarray(run.readouts["trastuzumab"]["cells"])[-1]
    with_exosomes = np.asarray(run.readouts["with-exosomes"]["cells"])[-1]
    assert with_exosomes >= 1.05 * alone
