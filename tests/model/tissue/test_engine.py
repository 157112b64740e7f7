"""The tissue engine: same rules as the compartment model, determinism, growth and death,
mass balance with cells, typed errors for bad tissue sections, complete snapshots."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import ScenarioError, load_scenario
from exotwin.model.scenario.run import run_scenario
from exotwin.model.tissue import engine as tissue_engine
from exotwin.model.tissue import run as tissue_run
from exotwin.model.tissue.cells import APOPTOTIC, LIVE, NECROTIC
from exotwin.model.tissue.engine import TissueModel
from exotwin.model.tissue.layout import TissueError
from exotwin.model.tissue.run import run_tissue

WELL_MIXED = (Path(__file__).parent / "well_mixed.yaml").read_text(encoding="utf-8")

SMALL = """
id: small-tissue
title: a small 2D tissue
mechanisms: {rules: [mir9-caf]}
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
arms: [{name: a}]
duration: 0.5
output_every: 0.25
readouts:
  - {name: fibroblasts, kind: count, of: {cell: fibroblast}}
"""


def _scenario(tmp_path: Path, kb: KnowledgeBase, lib: Library, text: str, name: str = "s"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path, kb, lib)


def test_well_mixed_tissue_agrees_with_the_compartment_model(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """Stated tolerance, about 3 SD of the agents' chance variation at every day: CAF
    fraction within 0.05 (binomial, 600 fibroblasts); cancer cells within 10% (a linear
    birth-death process, b = 0.1/day, d = 0.01/day, from 600 cells has SD 3.2% at day 8); the
    miR-9 exosome concentration, secreted in proportion to the cancer cells, within 10%."""
    scenario = _scenario(tmp_path, kb, lib, WELL_MIXED)
    ode = run_scenario(kb, lib, scenario).readouts["exosomes"]
    agents = run_tissue(kb, lib, scenario, seed=3, plots=False).readouts["exosomes"]
    assert ode["caf_fraction"][-1] > 0.1  # the rules act: a comparison worth making
    assert np.max(np.abs(agents["caf_fraction"] - ode["caf_fraction"])) < 0.05
    assert np.max(np.abs(agents["cancer"] / ode["cancer"] - 1)) < 0.10
    assert np.max(np.abs(agents["exosomes"][1:] / ode["exosomes"][1:] - 1)) < 0.10


def test_same_seed_same_snapshots(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    scenario = _scenario(tmp_path, kb, lib, SMALL)
    for name, seed in (("one", 1), ("two", 1), ("three", 2)):
        run_tissue(kb, lib, scenario, seed=seed, out=tmp_path / name, plots=False)
    final = "cells_day0p5.parquet"
    one = pq.read_table(tmp_path / "one" / "a" / final)
    assert one.equals(pq.read_table(tmp_path / "two" / "a" / final))
    assert not one.equals(pq.read_table(tmp_path / "three" / "a" / final))
    fields = [np.load(tmp_path / n / "a" / "fields_day0p5.npz") for n in ("one", "two")]
    for key in fields[0].files:
        assert np.array_equal(fields[0][key], fields[1][key])


def test_exosome_mass_balances_with_cells(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    scenario = _scenario(tmp_path, kb, lib, SMALL)
    ledger = run_tissue(kb, lib, scenario, plots=False).ledgers["a"]
    for entry in ledger.values():
        expected = entry["initial"] + entry["secreted"] - entry["taken_up"] - entry["decayed"]
        assert entry["secreted"] > 0
        # round-off relative to the amount that went through the field
        assert abs(entry["in_field"] - expected) < 1e-10 * entry["secreted"]


def test_cells_divide_and_die(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    scenario = _scenario(tmp_path, kb, lib, SMALL.replace("duration: 0.5", "duration: 2"))
    # rates far above the valid range, to see many events in 2 days: set past load's check
    fast = {"tnbc_growth_rate": 0.7, "cancer_death_rate": 0.05}
    scenario = scenario.model_copy(update={"parameters": fast})
    tm = TissueModel(kb, lib, scenario, scenario.arms[0], seed=0)
    start = len(tm.cells)
    tm.advance(2 * 1440)
    assert tm.tally.divisions > 5 and tm.tally.apoptoses >= 1
    assert len(tm.cells) > start
    assert len(np.unique(tm.cells.ident)) == len(tm.cells)  # daughters get new ids
    dead = tm.cells.phase == APOPTOTIC
    # apoptotic cells leave after PhysiCell's apoptosis duration (516 min)
    assert np.all(tm.time - tm.cells.dead_since[dead] < 516 + 1e-9)
    assert np.all(tm.cells.phase[~dead] == LIVE)
    lower, upper = np.array(tm.grid.lower), np.array(tm.grid.upper)
    assert np.all(tm.cells.position[:, :2] >= lower[:2])
    assert np.all(tm.cells.position[:, :2] <= upper[:2])


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("voxel: 20", "voxel: 35", "tissue"),
        ("dt_diffusion: 0.2", "dt_diffusion: 0.15", "tissue"),
        ("voxel: 20\n", "voxel: 20\n  oxygen: true\n", "tissue.dt_diffusion"),
        ("radius: 50}", "radius: 200}", "tissue.cells[0].radius"),
        (
            "dt_mechanics: 0.2\n  dt_phenotype: 6",
            "dt_mechanics: 2\n  dt_phenotype: 6",
            "tissue.dt_mechanics",
        ),
    ],
)
def test_bad_tissue_sections_are_typed_errors(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, old: str, new: str, where: str
) -> None:
    text = SMALL.replace(old, new)
    if new.startswith("dt_mechanics: 2"):
        text = text.replace("dt_diffusion: 0.2", "dt_diffusion: 1")
    assert text != SMALL
    with pytest.raises((ScenarioError, TissueError)) as info:
        scenario = _scenario(tmp_path, kb, lib, text)
        TissueModel(kb, lib, scenario, scenario.arms[0])
    assert where in str(info.value)


def test_interrupted_run_leaves_only_complete_snapshots(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = _scenario(tmp_path, kb, lib, SMALL)
    original = TissueModel.advance
    calls = []

    def interrupted(self: TissueModel, minutes: float, *progress: object) -> None:
        calls.append(minutes)
        if len(calls) > 1:
            raise KeyboardInterrupt
        original(self, minutes, *progress)  # type: ignore[arg-type]

    monkeypatch.setattr(TissueModel, "advance", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tissue_run.run_tissue(kb, lib, scenario, out=tmp_path / "out", plots=False)
    files = sorted(p.name for p in (tmp_path / "out" / "a").iterdir())
    assert files == ["cells_day0.parquet", "fields_day0.npz"]  # no temporary leftovers
    assert pq.read_table(tmp_path / "out" / "a" / "cells_day0.parquet").num_rows == 80


SPHEROID_3D = """
id: spheroid-3d
title: a 3D spheroid with oxygen
mechanisms: {rules: []}
tissue:
  dimensions: 3
  domain: [480, 480, 480]
  voxel: 20
  oxygen: true
  dt_diffusion: 0.02
  dt_mechanics: 0.4
  dt_phenotype: 6
  cells:
    - {cell: bc_tnbc, count: 3000, layout: spheroid, radius: 140}
arms: [{name: a}]
duration: 0.5
readouts:
  - {name: cells, kind: count, of: {cell: cell}}
"""


def _with(lib: Library, name: str, value: float) -> Library:
    entry = lib.parameters[name].model_copy(update={"value": value})
    return dataclasses.replace(lib, parameters={**lib.parameters, name: entry})


def test_a_3d_spheroid_consumes_oxygen_towards_its_core(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    scenario = _scenario(tmp_path, kb, lib, SPHEROID_3D)
    tm = TissueModel(kb, lib, scenario, scenario.arms[0], seed=0)
    tm.advance(60)
    o2 = tm.fields.concentration[tm.fields.index("oxygen")]
    line = o2[12, 12, :12]  # from the box edge (held at 38 mmHg) to the centre
    assert line[0] == 38.0 and np.all(np.diff(line[1:]) < 0) and line[-1] < 30.0
    assert np.ptp(tm.cells.position[:, 2]) > 200  # a ball, not a disc


def test_anoxic_cells_become_necrotic_and_stop_dividing(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """Tissue held at 3 mmHg (below PhysiCell's 5 mmHg threshold): necrosis at
    necrosis_max_rate x (5 - 3) / (5 - 2.5), i.e. 1 - exp(-0.8 x 6 h / 6 h) = 55% in 6 h."""
    scenario = _scenario(tmp_path, kb, lib, SPHEROID_3D)
    anoxic = _with(lib, "oxygen_boundary", 3.0)
    tm = TissueModel(kb, anoxic, scenario, scenario.arms[0], seed=0)
    tm.advance(360)
    necrotic = float(np.mean(tm.cells.phase == NECROTIC))
    assert 0.5 < necrotic < 0.75  # consumption lowers oxygen further, so a little more
    assert tm.tally.divisions == 0


def test_snapshots_plots_and_animation(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    from PIL import Image

    scenario = _scenario(tmp_path, kb, lib, SMALL)
    run_tissue(kb, lib, scenario, out=tmp_path / "out", animate=True)
    folder = tmp_path / "out" / "a"
    assert (folder / "snapshot_day0p5.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert Image.open(folder / "snapshot_day0p5.png").size[0] > 300
    with Image.open(folder / "animation.gif") as gif:
        assert gif.n_frames == 3  # days 0, 0.25 and 0.5
    table = pq.read_table(folder / "cells_day0p5.parquet")
    assert "internal: hsa-miR-9" in table.column_names
    assert (tmp_path / "out" / "timeseries.csv").read_text(encoding="utf-8").splitlines()[
        0
    ] == "arm,day,fibroblasts"


def test_replicates_report_each_check_per_seed(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from exotwin.cli import app

    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        SMALL
        + """checks:
  - {name: fibroblasts-stay, readout: fibroblasts, arm: a, day: 0.5, op: ">=", than: {day: 0}}
  - {name: impossible, readout: fibroblasts, arm: a, day: 0.5, op: ">", than: {value: 1000}}
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["tissue", str(scenario), "--out", str(out), "--replicates", "2", "--no-plots"]
    )
    assert result.exit_code == 1  # the impossible check fails
    held = json.loads((out / "replicates.json").read_text(encoding="utf-8"))
    assert held["seeds"] == [0, 1, 2]
    assert held["held"] == {"fibroblasts-stay": [True] * 3, "impossible": [False] * 3}
    assert "holds in 3/3 seeds" in result.output and "holds in 0/3 seeds" in result.output


PDL1 = """
id: pdl1-contact
title: T cells sense PD-L1 on neighbouring cancer cells
mechanisms: {records: [s003.exo-pdl1-blocks-t-cell-activation]}
tissue:
  domain: [400, 400]
  dt_diffusion: 0.4
  dt_mechanics: 0.4
  cells:
    - {cell: bc_tnbc, count: 150, layout: spheroid, radius: 100, surface: [PD-L1]}
    - {cell: cd8_t_cell, count: 100, layout: random, inner_radius: 110}
arms: [{name: a}]
duration: 1
readouts:
  - {name: cancer, kind: count, of: {cell: breast_cancer_cell}}
"""


def test_membrane_molecules_are_sensed_by_contact(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    scenario = _scenario(tmp_path, kb, lib, PDL1)
    tm = TissueModel(kb, lib, scenario, scenario.arms[0], seed=0)
    tm.advance(360)
    share = tm.rules.contact_fraction(tm.cells)["CD274"]  # PD-L1's HGNC symbol
    t_cells = tm.cells.population == tm.model.population("cd8_t_cell", None, "tumour").index
    distance = np.linalg.norm(tm.cells.position, axis=1)
    assert share[t_cells & (distance < 110)].max() > 0  # touching the tumour
    assert np.all(share[t_cells & (distance > 160)] == 0)  # far from every cancer cell
    assert tm.tally.apoptoses > 0  # T cells kill cancer cells they touch


MOTILE = SMALL.replace(
    "fibroblast, count: 40, layout: shell", "macrophage, count: 40, layout: shell"
)


def test_mechanics_on_cells_sorted_in_space_changes_only_rounding(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large populations run their mechanics steps on a copy sorted by voxel: the same cells,
    draws and fields as in logical order, to rounding (sums then run in another order)."""
    scenario = _scenario(tmp_path, kb, lib, MOTILE)
    runs = []
    for sort_from in (1 << 30, 0):
        monkeypatch.setattr(tissue_engine, "SORT_FROM", sort_from)
        tm = TissueModel(kb, lib, scenario, scenario.arms[0], seed=3)
        tm.advance(30)
        runs.append(tm)
    logical, spatial = runs
    assert len(spatial.motion._moving) == 40  # the macrophages move: their draws are compared
    assert np.array_equal(logical.cells.ident, spatial.cells.ident)
    assert np.array_equal(logical.cells.phase, spatial.cells.phase)
    assert np.allclose(logical.cells.position, spatial.cells.position, rtol=0, atol=1e-9)
    assert np.allclose(logical.cells.internal, spatial.cells.internal, rtol=1e-9, atol=0)
    assert np.allclose(logical.fields.concentration, spatial.fields.concentration, rtol=1e-9)
    moving = spatial.motion._moving  # rows of the sorted copy, in logical order
    assert not np.array_equal(moving, np.sort(moving))  # so the copy was not in logical order


MEDIUM = """
id: medium-tissue
title: a culture whose medium is changed
mechanisms: {rules: [mir222-tamoxifen]}
tissue:
  compartment: culture
  dimensions: 2
  domain: [200, 200]
  voxel: 20
  dt_diffusion: 0.4
  dt_mechanics: 0.4
  dt_phenotype: 6
  cells:
    - {cell: bc_luminal, state: tamoxifen_resistant, count: 30, layout: random}
arms:
  - name: kept
    interventions:
      - {type: drug, drug: tamoxifen, concentration: 1.0}
  - name: changed
    interventions:
      - {type: drug, drug: tamoxifen, concentration: 1.0, schedule: {every: 0.5, doses: 2}}
duration: 0.55
output_every: 0.05
readouts:
  - {name: mir222, kind: exosomes, cargo: miR-222, compartment: culture}
"""


def test_a_medium_change_empties_the_exosome_fields(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """As in the compartment model, a drug given as a concentration changes the medium: the
    exosomes released until then go with it, so 0.05 day after the change at day 0.5 the
    medium holds about half of what an unchanged one does (before: the same)."""
    scenario = _scenario(tmp_path, kb, lib, MEDIUM)
    out = run_tissue(kb, lib, scenario, seed=1, plots=False).readouts
    kept, changed = out["kept"]["mir222"], out["changed"]["mir222"]
    assert changed[-2] == pytest.approx(kept[-2], rel=1e-9)  # the same until the change
    assert 0 < changed[-1] < 0.7 * kept[-1]
