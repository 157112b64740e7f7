"""Tissue snapshots a person can read, and progress reported per mechanics step."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.display import cell_colour
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.tissue.engine import TissueModel
from exotwin.model.tissue.plots import driving_fields, snapshot_figure
from exotwin.model.tissue.run import run_tissue

RING = """
id: tiny-ring
title: CAFs near a small spheroid
mechanisms: {rules: [mir9-caf, mir125b-caf]}
tissue:
  dimensions: 2
  domain: [300, 300]
  voxel: 20
  dt_diffusion: 0.2
  dt_mechanics: 0.2
  dt_phenotype: 6
  cells:
    - {cell: bc_tnbc, count: 40, layout: spheroid, radius: 50}
    - {cell: fibroblast, count: 40, layout: shell, inner_radius: 60, radius: 140}
arms: [{name: exosomes, description: cancer exosomes carry miR-9 and miR-125b}]
duration: 0.5
output_every: 0.25
readouts:
  - name: caf_fraction_near
    kind: fraction
    of: {cell: caf}
    among: {cell: fibroblast}
    band: {of: {cell: breast_cancer_cell}, max: 60}
"""


@pytest.fixture(scope="module")
def model(kb: KnowledgeBase, lib: Library, tmp_path_factory: pytest.TempPathFactory) -> TissueModel:
    path = tmp_path_factory.mktemp("ring") / "ring.yaml"
    path.write_text(RING, encoding="utf-8")
    scenario = load_scenario(path, kb, lib)
    tm = TissueModel(kb, lib, scenario, scenario.arms[0], seed=1)
    caf = next(p.index for p in tm.model.populations if p.cell == "caf")
    fibroblasts = np.flatnonzero(tm.cells.population != tm.cells.population[0])
    tm.cells.population[fibroblasts[:2]] = caf  # two fresh CAFs: a rare population
    return tm


def test_snapshot_labels_colours_bands_and_cargo_panels(model: TissueModel) -> None:
    fig = snapshot_figure(model)
    cells, *others = fig.axes
    fields = [ax for ax in others if ax.get_title()]  # (colour bars have none)
    assert len(fields) == len(driving_fields(model)) == 2
    legend = [t.get_text() for t in cells.get_legend().get_texts()]
    assert "TNBC cells (40)" in legend and "normal fibroblasts (38)" in legend
    assert "cancer-associated fibroblasts (2)" in legend
    assert not any("@" in label or "bc_tnbc" in label for label in legend)
    assert "60 µm from nearest breast cancer cell" in legend
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in cells.collections[:3]}
    expected = {
        tuple(np.round([int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)], 3))
        for h in (cell_colour(model.kb, c) for c in ("bc_tnbc", "fibroblast", "caf"))
    }
    assert colours == expected  # the fixed palette, whatever the population order
    rare = cells.collections[2]  # drawn last, outlined
    assert rare.get_zorder() > cells.collections[0].get_zorder()
    assert [ax.get_title() for ax in fields] == ["miR-125b exosomes", "miR-9 exosomes"]
    assert "Readouts on this day" in "".join(t.get_text() for t in fig.texts)
    plt.close(fig)


def test_tissue_progress_per_mechanics_step(
    kb: KnowledgeBase, lib: Library, model: TissueModel
) -> None:
    seen: list[float] = []
    model.advance(12.0, seen.append)  # two phenotype steps of 30 mechanics steps each
    assert len(seen) == 60 and seen[-1] == pytest.approx(12.0)
    assert all(b > a for a, b in itertools.pairwise(seen))
    fractions: list[float] = []
    run_tissue(kb, lib, model.scenario, plots=False, progress=lambda arm, f: fractions.append(f))
    steps = round(0.5 * 1440 / 0.2)
    assert len(fractions) == steps and fractions[-1] == pytest.approx(1.0)


def test_tissue_command_logs_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from exotwin.cli import app

    monkeypatch.setenv("EXOTWIN_PROGRESS_EVERY", "0")
    path = tmp_path / "ring.yaml"
    path.write_text(RING, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["tissue", str(path), "--out", str(tmp_path / "o"), "--no-plots"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress:")]
    assert len(lines) > 100  # one per mechanics step here (every 0 s), not one per day
    assert "simulated days" in lines[0] and "ETA" in lines[0]
