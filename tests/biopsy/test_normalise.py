"""Normalisers: fitted on training samples only, applied to any sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from exotwin.biopsy.normalise import CountNormaliser, DeltaCt, LogSignal, spike_in_qc
from exotwin.biopsy.readers import read_data


def test_quantile_maps_to_training_reference() -> None:
    rng = np.random.default_rng(1)
    train = pd.DataFrame(rng.normal(size=(20, 6)), columns=[f"hsa-miR-{i}" for i in range(6)])
    norm = LogSignal(quantile=True).fit(train)
    out = norm.transform(train * 3 + 2)  # a monotone change of scale is undone
    np.testing.assert_allclose(np.sort(out, axis=1), np.tile(norm.reference_, (20, 1)))
    np.testing.assert_allclose(LogSignal().fit_transform(train), train.to_numpy())


def test_delta_ct_against_references_and_global_mean() -> None:
    ct = pd.DataFrame(
        {
            "U6": [30.0, 32.0],
            "hsa-miR-1": [25.0, 27.0],
            "hsa-miR-2": [28.0, np.nan],
            "UniSp6": [18, 18],
        },
        index=["a", "b"],
    )
    ref = DeltaCt(method="reference", max_ct=35).fit(ct)
    assert ref.kept_ == ["hsa-miR-1", "hsa-miR-2"]
    np.testing.assert_allclose(ref.transform(ct), [[5.0, 2.0], [5.0, -3.0]])
    glob = DeltaCt(max_ct=35).fit_transform(ct)
    np.testing.assert_allclose(glob, [[1.5, -1.5], [4.0, -4.0]])


def test_spike_in_qc_flags_outliers() -> None:
    ct = pd.DataFrame({"UniSp6": [18.0, 18.3, 24.0, np.nan], "hsa-miR-1": [1, 2, 3, 4]})
    qc = spike_in_qc(ct)
    assert qc["flagged"].tolist() == [False, False, True, True]


def test_count_normalisers_filter_and_scale() -> None:
    counts = pd.DataFrame(
        [[100, 200, 0, 50], [200, 400, 1, 100], [100, 220, 0, 40]],
        columns=["hsa-miR-1", "hsa-miR-2", "hsa-miR-3", "hsa-miR-4"],
    )
    for method in ("cpm", "tmm", "deseq2"):
        norm = CountNormaliser(method=method).fit(counts)
        assert norm.kept_ == ["hsa-miR-1", "hsa-miR-2", "hsa-miR-4"]
        out = norm.transform(counts)
        # sample 2 is sample 1 sequenced twice as deep: same normalised profile
        np.testing.assert_allclose(out[0], out[1], atol=0.02)


def test_real_counts_and_ct(shared_dir: Path) -> None:
    counts = read_data(shared_dir / "data/ev_mirna_seq/PRJNA593193_expression_count.csv")
    out = CountNormaliser("tmm").fit(counts.values.iloc[:4]).transform(counts.values.iloc[4:])
    assert out.shape[0] == 2 and np.isfinite(out).all()
    ct = read_data(shared_dir / "data/gse41922_serum_mirna_qpcr_ct.txt")
    dct = DeltaCt(method="reference").fit(ct.values)
    assert dct.references_ == ["SNORD38B", "U6"]
    assert np.isfinite(dct.transform(ct.values)).all()
