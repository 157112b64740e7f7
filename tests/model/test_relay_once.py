"""A relayed act passes its signal on once (issue 16, rule semantics that count each signal
once; docs/scenarios.md "How signals combine").

A record's effect on cells that act on their neighbours (cells.yaml ``acts_on``: CAF exosomal
miR-92 raising the PD-L1 of breast cancer cells, which then suppresses the T cells beside them)
reaches the neighbours as the acting cells' signal weighted by their share of the compartment.
It was that signal times share / ``feedback_half_share``: cancer cells holding 31 exosome-
equivalents relayed ~280 to the T cells when they made up 90 % of the tumour, so the T cells
responded more strongly to miR-92 than the cells that took it up. The first test failed before
(the T cells' signal was 9 times the cancer cells') and passes after.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, compile_arm, load_scenario
from exotwin.model.ode.equations import NUMERIC, cells_of, derive, signals_of, time_factors
from exotwin.model.rules.rows import CompiledModel

from .conftest import write

TUMOUR = """\
id: relay-{name}
title: test
populations:
  - {{cell: bc_luminal, count: {cancer}}}
  - {{cell: cd8_t_cell, count: {t_cells}}}
mechanisms:
  rules: [caf-mir92-proliferation]
arms:
  - name: a
duration: 1
readouts:
  - {{name: t_cells, kind: count, of: {{cell: t_cell}}}}
"""
HELD = 31.0  # miR-92 exosome-equivalents internalised per cancer cell


def _model(kb: KnowledgeBase, lib: Library, tmp_path: Path, cancer: float) -> CompiledModel:
    name = f"{cancer:.0f}"
    text = TUMOUR.format(name=name, cancer=cancer, t_cells=1.0e9 - cancer)
    scenario = load_scenario(write(tmp_path, text, f"relay-{name}.yaml"), kb, lib)
    return compile_arm(kb, lib, scenario, scenario.arms[0])


def _relayed(model: CompiledModel) -> tuple[float, float]:
    """The cancer cells' miR-92 signal (set to ``HELD``) and the T cells' relayed signal."""
    own = model.signals["hsa-miR-92", 0]
    relayed = model.signals["hsa-miR-92 via bc_luminal", 1]
    derived = derive(model, NUMERIC, model.parameters.values[None, :])
    y = np.array(model.initial, dtype=float)[None, :]
    y[0, model.layout.signals + own] = HELD
    cells = cells_of(model, NUMERIC, derived, y)
    factors = time_factors(model, NUMERIC, derived, 0.0)
    signal = np.asarray(signals_of(model, NUMERIC, derived, y, cells, factors))[0]
    return float(signal[own]), float(signal[relayed])


def test_a_relayed_signal_is_never_more_than_its_acting_cells_hold(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Cancer cells that make up 90 % of the tumour pass their miR-92 signal on to the T cells
    once: what they hold, not nine times as much."""
    own, relayed = _relayed(_model(kb, lib, tmp_path, 9.0e8))
    assert own == pytest.approx(HELD)
    assert relayed == pytest.approx(HELD)


def test_below_the_half_share_a_relayed_signal_is_as_before(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The acting cells' share f scales their signal by f / ``feedback_half_share`` up to that
    share (unchanged), and by 1 above it: the signal they hold, once."""
    half_share = lib.parameters["feedback_half_share"].value
    assert half_share == pytest.approx(0.1)
    for share in (0.01, 0.05, 0.1, 0.5):
        _, relayed = _relayed(_model(kb, lib, tmp_path, share * 1.0e9))
        assert relayed == pytest.approx(HELD * min(share / half_share, 1.0), rel=1e-9)
