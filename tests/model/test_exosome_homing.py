"""Exosome organotropism: exosomes carrying a record's cargo home to the organs it names
(organotropism.yaml ``exosome_homing``) and take a larger share of plasma clearance there."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library, ModelDataError, load_library, packaged_model_dir
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario

from .conftest import write

ORGANS = ("lung", "liver", "bone", "brain")

# No cells in the distant organs: their pools only receive and decay (all at niche_decay), so
# their amounts stand in the ratio of the shares of plasma clearance each organ takes (to the
# uptake by the few cancer cells that seed them in five days).
TUMOUR_ONLY = """\
id: homing
title: Where a tumour's exosomes go
populations:
  - {{cell: bc_tnbc, state: metastatic, count: 1.0e9}}
mechanisms:
  rules: [{rule}]
arms:
  - name: control
duration: 5
readouts:
{readouts}
"""


def _organ_exosomes(
    kb: KnowledgeBase, lib: Library, tmp_path: Path, rule: str, cargo: str
) -> dict[str, float]:
    readouts = "\n".join(
        f"  - {{name: {organ}, kind: exosomes, cargo: {cargo}, compartment: {organ}}}"
        for organ in ORGANS
    )
    path = write(tmp_path, TUMOUR_ONLY.format(rule=rule, readouts=readouts), f"{rule}.yaml")
    result = run_scenario(kb, lib, load_scenario(path, kb, lib))
    return {organ: float(v[-1]) for organ, v in result.readouts["control"].items()}


def test_anxa2_exosomes_home_to_lung_and_brain(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """AnxA2 exosomes (record naming lung and brain) weigh exosome_homing_fold times their
    share in those organs; bone keeps its plain share (before: every organ its plain share)."""
    got = _organ_exosomes(kb, lib, tmp_path, "anxa2-niche", "ANXA2")
    share = {organ: lib.value(f"niche_fraction_{organ}") for organ in ORGANS}
    weight = {o: got[o] / got["liver"] / (share[o] / share["liver"]) for o in ORGANS}
    assert weight["lung"] > 1.9 and weight["brain"] > 1.9  # the fold's range starts at 2
    fold = lib.value("exosome_homing_fold")
    assert weight == pytest.approx({"lung": fold, "liver": 1, "bone": 1, "brain": fold}, rel=1e-2)


def test_exosomes_that_home_nowhere_keep_the_plain_shares(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    got = _organ_exosomes(kb, lib, tmp_path, "mir122-niche", "miR-122")
    for organ in ("lung", "bone", "brain"):
        expected = lib.value(f"niche_fraction_{organ}") / lib.value("niche_fraction_liver")
        assert got[organ] / got["liver"] == pytest.approx(expected, rel=1e-2), organ


def test_homing_for_an_unknown_record_names_file_and_line(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "exosome_homing:\n  - {record: s000.nothing-here, organs: [brain], source: a test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), extra])
    [problem] = info.value.problems
    assert problem.file.name == "extra.yaml" and problem.line == 2
    assert problem.field == "exosome_homing.0.record" and "unknown record" in problem.message
