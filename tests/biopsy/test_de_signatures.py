"""Differential abundance and knowledge signatures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exotwin.biopsy.de import P_FLOOR, bh_fdr, bh_log, differential, format_p, profile_shift
from exotwin.biopsy.plots import volcano_points
from exotwin.biopsy.readers import Dataset, read_data
from exotwin.biopsy.signatures import (
    Signature,
    evaluate_signatures,
    knowledge_signatures,
    score_signature,
)
from exotwin.knowledge import KnowledgeBase

from .conftest import signal_frame


def test_bh_fdr_matches_definition() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2])
    np.testing.assert_allclose(bh_fdr(p), [0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_bh_in_log_space_matches_scipy() -> None:
    p = np.random.default_rng(0).random(200) ** 4
    np.testing.assert_allclose(np.exp(bh_log(np.log(p))), bh_fdr(p), rtol=1e-12)


def test_differential_on_generated() -> None:
    frame = signal_frame(n=80)
    values = frame.drop(columns=["sample", "group"]).set_axis(frame["sample"])
    data = Dataset(values, "signal", Path("<g>"), frame["group"].set_axis(frame["sample"]), "group")
    table = differential(data)
    assert set(table.index[:2]) == {"hsa-miR-1", "hsa-miR-2"}
    assert (table.loc[["hsa-miR-1", "hsa-miR-2"], "log2_fc"] > 1).all()
    assert (table["q_value"] >= table["p_value"]).all()
    g = table["hedges_g"]
    assert (table["g_ci_low"] < g).all() and (g < table["g_ci_high"]).all()
    assert table.loc["hsa-miR-1", "auc"] > 0.75 and table.attrs["case"] == "case"
    assert profile_shift(table) is None  # two analytes move, not the profile


def test_differential_real_qpcr_and_tcga(shared_dir: Path) -> None:
    tcga = read_data(shared_dir / "data/tcga_brca_mirna_subtype_train.csv", label="subtype")
    table = differential(tcga)
    assert "eta_squared" in table.columns and table["q_value"].iloc[0] < 1e-5


def test_knowledge_signatures(kb: KnowledgeBase) -> None:
    sigs = {s.name: s for s in knowledge_signatures(kb)}
    assert "hsa-miR-1246" in sigs["diagnostic_mirnas"].members
    assert "hsa-miR-222" in sigs["exosomal_chemoresistance_mirnas"].members
    assert all(sig.records for sig in sigs.values())


def test_signature_score_and_test_real(shared_dir: Path, kb: KnowledgeBase) -> None:
    data = read_data(shared_dir / "data/gse73002_serum_mirna_train.csv", label="breast cancer")
    assert data.labels is not None
    rows = evaluate_signatures(data.values, data.labels, knowledge_signatures(kb), "1")
    diag = next(r for r in rows if r["signature"] == "diagnostic_mirnas")
    assert "hsa-miR-1246" in diag["measured"]  # type: ignore[operator]
    assert float(diag["p_value"]) < 1e-10  # type: ignore[arg-type]


def test_score_is_rank_based() -> None:
    values = pd.DataFrame(
        [[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]], columns=["hsa-miR-1", "hsa-miR-2", "hsa-miR-3"]
    )
    score = score_signature(values, Signature("s", "", ("hsa-miR-3",), ()))
    assert score.iloc[0] == score.iloc[1] == pytest.approx(1 / 3)


def test_gse73002_p_values_are_bounds_not_zeros(shared_dir: Path) -> None:
    """scipy's p underflows to 0 for every analyte here; log space keeps them apart."""
    data = read_data(shared_dir / "data/gse73002_serum_mirna_train.csv", label="breast cancer")
    table = differential(data)
    assert np.isfinite(table["log10_p"]).all() and table["log10_p"].nunique() == len(table)
    assert (table["p_value"] >= P_FLOOR).all() and (table["log10_q"] >= table["log10_p"]).all()
    assert table["log10_p"].min() < -300 and format_p(table["log10_p"].min()) == "< 1e-300"
    assert format_p(-2.5) == "0.00316"
    points = volcano_points(table)
    assert np.isfinite(points["y"]).all() and np.ptp(points["y"]) > 100  # spread, not a smear
    assert points["below"].sum() == (table["log10_p"] < -300).sum() > 0


def test_gse73002_whole_profile_shift_is_flagged(shared_dir: Path) -> None:
    data = read_data(shared_dir / "data/gse73002_serum_mirna_train.csv", label="breast cancer")
    warning = profile_shift(differential(data))
    assert warning is not None and "whole profile is shifted" in warning
    assert profile_shift(differential(data, method="quantile")) is None
