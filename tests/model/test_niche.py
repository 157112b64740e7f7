"""The premetastatic niche: an activity of a distant organ's cells that raises its seeding;
tumour exosomes reach it through the blood, a share released straight into the vessels."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library
from exotwin.model.rules.table import Activity, Seeding
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario

from .conftest import write

NICHE = """\
id: small-niche
title: Tumour exosomes prepare the lung
populations:
  - {{cell: bc_tnbc, state: metastatic, count: 1.0e9}}
  - {{cell: niche_cell, count: 1.0e7, compartment: {where}}}
mechanisms:
  rules: [{rule}]
parameters: {{tumour_vascular_release: {share}}}
arms:
  - name: control
  - name: knockdown
    interventions:
      - {{type: cargo_knockdown, cargo: {cargo}, efficacy: 1.0}}
duration: 30
readouts:
  - {{name: lung_cells, kind: count, of: {{cell: breast_cancer_cell, compartment: lung}}}}
  - {{name: liver_cells, kind: count, of: {{cell: breast_cancer_cell, compartment: liver}}}}
  - {{name: niche, kind: activity, phenotype: premetastatic_niche, of: {{cell: niche_cell}}}}
  - {{name: plasma_cargo, kind: exosomes, cargo: {cargo}, compartment: plasma}}
"""


def _run(
    kb: KnowledgeBase,
    lib: Library,
    tmp_path: Path,
    where: str,
    share: float,
    rule: str = "anxa2-niche",
    cargo: str = "ANXA2",
) -> dict[str, dict[str, float]]:
    path = write(
        tmp_path,
        NICHE.format(where=where, share=share, rule=rule, cargo=cargo),
        f"niche-{where}-{share}.yaml",
    )
    result = run_scenario(kb, lib, load_scenario(path, kb, lib))
    return {arm: {k: float(v[-1]) for k, v in r.items()} for arm, r in result.readouts.items()}


def test_lung_niche_raises_lung_seeding_only(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """AnxA2 exosomes build the lung niche, and more cancer cells settle in the lung, none
    more in the liver, which has no niche cells."""
    out = _run(kb, lib, tmp_path, "lung", 0.03)
    control, knockdown = out["control"], out["knockdown"]
    assert control["niche"] > 1.05 and abs(knockdown["niche"] - 1.0) < 1e-6
    assert control["lung_cells"] > 1.03 * knockdown["lung_cells"]
    assert control["liver_cells"] == pytest.approx(knockdown["liver_cells"], rel=1e-6)


def test_niche_cells_in_the_primary_tumour_change_no_seeding(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The niche is of a distant organ: niche cells that miR-122 exosomes reach in the tumour
    keep the activity, and the seeding of every organ is that of the knock-down; in the lung
    the same record raises lung seeding."""
    out = _run(kb, lib, tmp_path, "tumour", 0.03, "mir122-niche", "miR-122")
    assert out["control"]["niche"] > 1.05
    assert out["control"]["lung_cells"] == pytest.approx(out["knockdown"]["lung_cells"], rel=1e-6)
    lung = _run(kb, lib, tmp_path, "lung", 0.03, "mir122-niche", "miR-122")
    assert lung["control"]["lung_cells"] > 1.01 * lung["knockdown"]["lung_cells"]


def test_seeding_effect_on_niche_cells_acts_through_the_niche(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Lung metastasis and the niche, both effects of the AnxA2 record on lung niche cells,
    are one activity of those cells: no seeding term of its own (counted once)."""
    path = write(
        tmp_path, NICHE.format(where="lung", share=0.03, rule="anxa2-niche", cargo="ANXA2")
    )
    scenario = load_scenario(path, kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    targets = [t.target for t in model.structure.terms]
    assert not any(isinstance(t, Seeding) for t in targets)
    assert [t for t in targets if isinstance(t, Activity)] == [Activity("premetastatic_niche", 1)]


def test_vascular_release_carries_tumour_exosomes_to_the_blood(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """The tumour's own cells take up nearly every exosome released into its interstitium
    before drainage (<0.1 % reaches the blood): what reaches the niches is the share released
    at the vessels. At the low end of that share's range, plasma holds several times fewer
    tumour exosomes and the niche barely rises (Hill power 2)."""
    vessels = _run(kb, lib, tmp_path, "lung", 0.03)["control"]
    fewer = _run(kb, lib, tmp_path, "lung", 0.003)["control"]
    assert vessels["plasma_cargo"] > 5 * fewer["plasma_cargo"]
    assert fewer["niche"] - 1.0 < 0.1 * (vessels["niche"] - 1.0)


METASTASIS = """\
id: lung-metastasis-to-blood
title: A lung metastasis releases exosomes into the blood
populations:
  - {{cell: bc_tnbc, state: metastatic, count: 1.0e6}}
  - {{cell: niche_cell, count: 1.0e7, compartment: lung}}
{metastasis}
mechanisms:
  rules: [anxa2-niche]
arms: [{{name: control}}]
duration: 5
readouts:
  - {{name: plasma_cargo, kind: exosomes, cargo: ANXA2, compartment: plasma}}
"""


def test_metastases_release_into_the_blood_at_their_vessels(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """Cancer cells growing in a distant organ send the vascular share of their exosomes into
    the blood, as the primary tumour does: a lung metastasis 100 times the primary's size
    raises plasma's share of their cargo accordingly (before, it reached no blood)."""
    plasma = {}
    lung = "  - {cell: bc_tnbc, state: metastatic, count: 1.0e8, compartment: lung}"
    for name, metastasis in (("primary", ""), ("metastasis", lung)):
        path = write(tmp_path, METASTASIS.format(metastasis=metastasis), f"{name}.yaml")
        result = run_scenario(kb, lib, load_scenario(path, kb, lib))
        plasma[name] = float(result.readouts["control"]["plasma_cargo"][-1])
    assert plasma["metastasis"] > 10 * plasma["primary"] > 0
