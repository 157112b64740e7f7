"""Separation check: one analyte or the label-blind PC1 splitting serum classes almost
perfectly is flagged as a possible batch effect, unless chance explains it."""

from __future__ import annotations

from pathlib import Path

from exotwin.biopsy.readers import Dataset, read_data
from exotwin.biopsy.separation import SEPARATION_AUC, separation_check

from .conftest import signal_frame


def test_gse73002_separation_looks_like_a_batch_effect(shared_dir: Path) -> None:
    data = read_data(shared_dir / "data/gse73002_serum_mirna_train.csv", label="breast cancer")
    check = separation_check(data)
    assert check is not None and check["kind"] == "batch"
    top = check["analytes"][0]
    assert top["analyte"] == "hsa-miR-8073" and top["auc"] >= SEPARATION_AUC
    assert check["pc1_auc"] >= SEPARATION_AUC and check["chance"]["pc1"] == 0.0
    assert "hsa-miR-8073" in check["warning"] and "batch or platform effect" in check["warning"]


def test_tiny_cohort_separation_is_called_chance(shared_dir: Path) -> None:
    path = shared_dir / "data/ev_mirna_seq/PRJNA593193_expression_count.csv"
    check = separation_check(read_data(path, label="disease"))
    assert check is not None and check["kind"] == "chance"
    assert check["chance"]["analyte"] > 0.5 and "by chance at n = 6" in check["warning"]


def test_ordinary_effects_raise_nothing() -> None:
    frame = signal_frame(n=80)
    values = frame.drop(columns=["sample", "group"]).set_axis(frame["sample"])
    labels = frame["group"].set_axis(frame["sample"])
    check = separation_check(Dataset(values, "signal", Path("<g>"), labels, "group"))
    assert check is not None and check["kind"] is None and check["warning"] is None
    assert check["analytes"] == [] and check["pc1_auc"] < SEPARATION_AUC


def test_more_than_two_classes_are_not_checked(shared_dir: Path) -> None:
    data = read_data(shared_dir / "data/tcga_brca_mirna_subtype_train.csv", label="subtype")
    assert separation_check(data) is None
