"""Readers: every format, with the shared real files and small generated ones."""

from __future__ import annotations

from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest

from exotwin.biopsy.errors import BiopsyInputError
from exotwin.biopsy.names import analyte_class, mirbase_name, normalise_names
from exotwin.biopsy.readers import detect_format, read_data

from .conftest import signal_frame


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hsa-miR-21-5p", "hsa-miR-21-5p"),
        ("miR-21-5p", "hsa-miR-21-5p"),
        ("hsa-mir-100", "hsa-miR-100"),
        ("MIR21_5p", "hsa-miR-21-5p"),
        ("hsa-let-7f-1*", "hsa-let-7f-1*"),
        ("hsa-miR-548ak", "hsa-miR-548ak"),
        ("U6", None),
        ("cel-miR-39", None),
    ],
)
def test_mirbase_names(raw: str, expected: str | None) -> None:
    assert mirbase_name(raw) == expected


def test_name_report_classes() -> None:
    names, report = normalise_names(["miR-1", "SNORD38B", "UniSp6", "GAPDH"])
    assert names == ["hsa-miR-1", "SNORD38B", "UniSp6", "GAPDH"]
    assert report.references == ["SNORD38B"] and report.spike_ins == ["UniSp6"]
    assert report.unmatched == ["GAPDH"]
    assert analyte_class("RNU6B") == "reference"


def test_gse73002_wide_csv(shared_dir: Path) -> None:
    data = read_data(shared_dir / "data/gse73002_serum_mirna_train.csv", label="breast cancer")
    assert data.values.shape == (3180, 100)
    assert data.kind == "signal" and data.values.index.is_unique
    assert data.labels is not None and data.labels.value_counts().to_dict() == {
        "0": 2169,
        "1": 1011,
    }
    assert data.positive_class() == "1"
    assert not data.names.unmatched


def test_tcga_wide_csv(shared_dir: Path) -> None:
    data = read_data(shared_dir / "data/tcga_brca_mirna_subtype_train.csv", label="subtype")
    assert data.values.shape == (150, 184)
    assert data.classes == ["Basal", "Her2", "LumA"]
    assert "hsa-let-7a-1" in data.values.columns and "hsa-miR-100" in data.values.columns


def test_gse41922_qpcr(shared_dir: Path) -> None:
    path = shared_dir / "data/gse41922_serum_mirna_qpcr_ct.txt"
    assert detect_format(path) == "qpcr"
    data = read_data(path)
    assert data.kind == "ct" and data.values.shape[0] == 54
    assert {"SNORD38B", "U6", "UniSp6"} <= set(data.values.columns)
    assert data.names.references == ["SNORD38B", "SNORD38B", "U6", "U6"]
    assert "UniSp6" in data.names.spike_ins
    assert any("replicate rows averaged" in n for n in data.notes)
    assert data.values.isna().to_numpy().any()  # undetected Cts stay missing


@pytest.mark.parametrize("project", ["PRJNA593193", "PRJNA1054301"])
def test_ev_counts_with_metadata(shared_dir: Path, project: str) -> None:
    path = shared_dir / f"data/ev_mirna_seq/{project}_expression_count.csv"
    data = read_data(path, label="disease")
    assert data.kind == "counts"
    assert data.classes == ["Breast cancer", "Healthy donor"]
    assert data.positive_class() == "Breast cancer"
    assert (data.values.to_numpy() >= 0).all()
    assert data.values.index[0].startswith("SRR")


def test_generated_csv_and_tsv(tmp_path: Path) -> None:
    frame = signal_frame(n=10, p=4)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_csv(tmp_path / "a.tsv", index=False, sep="\t")
    a = read_data(tmp_path / "a.csv", label="group")
    b = read_data(tmp_path / "a.tsv", label="group")
    pd.testing.assert_frame_equal(a.values, b.values)
    assert list(a.values.index[:2]) == ["S0", "S1"] and a.positive_class() == "case"


def test_generated_without_id_column(tmp_path: Path) -> None:
    frame = signal_frame(n=6, p=3).drop(columns="sample")
    frame.to_csv(tmp_path / "noid.csv", index=False)
    data = read_data(tmp_path / "noid.csv", label="group")
    assert list(data.values.index[:2]) == ["row2", "row3"]


def test_generated_h5ad(tmp_path: Path) -> None:
    frame = signal_frame(n=10, p=4)
    adata = anndata.AnnData(
        X=frame.filter(like="miR").to_numpy(),
        obs=pd.DataFrame({"group": frame["group"].to_numpy()}, index=frame["sample"]),
        var=pd.DataFrame(index=["miR-1", "miR-2", "hsa-mir-3", "hsa-miR-4-5p"]),
    )
    adata.write_h5ad(tmp_path / "a.h5ad")
    data = read_data(tmp_path / "a.h5ad", label="group")
    assert list(data.values.columns) == ["hsa-miR-1", "hsa-miR-2", "hsa-miR-3", "hsa-miR-4-5p"]
    assert data.classes == ["case", "control"]
    np.testing.assert_allclose(data.values.to_numpy(), frame.filter(like="miR").to_numpy())


def test_generated_qpcr_and_meta(tmp_path: Path) -> None:
    text = (
        '# comment line\n"# quoted comment"\n\t\t\n'
        "ID_REF\tc1\tc2\ts1\ts2\n"
        "U6\t30\t31\t30.5\t\n"
        "U6\t30.2\t31.2\t30.7\t31\n"
        "UniSp6\t18\t18.2\t18.1\t25\n"
        "hsa-miR-21\t25\t26\t22\tUndetermined\n"
        "hsa-miR-155\t28\t28.5\t27\t27.5\n"
    )
    (tmp_path / "ct.txt").write_text(text)
    pd.DataFrame(
        {"sample": ["c1", "c2", "s1", "s2"], "group": ["control"] * 2 + ["case"] * 2}
    ).to_csv(tmp_path / "meta.csv", index=False)
    data = read_data(tmp_path / "ct.txt", label="group", meta=tmp_path / "meta.csv")
    assert data.values.loc["c1", "U6"] == pytest.approx(30.1)
    assert data.values.loc["s1", "U6"] == pytest.approx(30.6)
    assert np.isnan(data.values.loc["s2", "hsa-miR-21"])
    assert data.labels is not None and data.labels["s1"] == "case"


def test_generated_counts_autodetect_meta(tmp_path: Path) -> None:
    counts = pd.DataFrame(
        {"miRNA": ["hsa-miR-1", "hsa-mir-1", "hsa-miR-2"], "R1": [5, 1, 3], "R2": [0, 2, 9]}
    )
    counts.to_csv(tmp_path / "P_expression_count.csv", index=False)
    pd.DataFrame({"Run": ["R2", "R1"], "disease": ["Breast cancer", "Healthy donor"]}).to_csv(
        tmp_path / "P_metadata.csv", index=False
    )
    data = read_data(tmp_path / "P_expression_count.csv", label="disease")
    assert data.values.loc["R1", "hsa-miR-1"] == 6  # rows naming one miRNA are summed
    assert data.labels is not None and data.labels.to_dict() == {
        "R1": "Healthy donor",
        "R2": "Breast cancer",
    }


def test_group_from_h5ad_obs_and_from_metadata(tmp_path: Path) -> None:
    frame = signal_frame(n=10, p=4)
    patient = [f"P{i // 2}" for i in range(10)]
    adata = anndata.AnnData(
        X=frame.filter(like="miR").to_numpy(),
        obs=pd.DataFrame(
            {"group": frame["group"].to_numpy(), "patient": patient}, index=frame["sample"]
        ),
        var=pd.DataFrame(index=["miR-1", "miR-2", "miR-3", "miR-4"]),
    )
    adata.write_h5ad(tmp_path / "a.h5ad")
    data = read_data(tmp_path / "a.h5ad", label="group", group="patient")
    assert data.groups is not None and data.groups.tolist() == patient
    with pytest.raises(BiopsyInputError, match="no such obs column"):
        read_data(tmp_path / "a.h5ad", label="group", group="subject")
    counts = pd.DataFrame({"miRNA": ["hsa-miR-1", "hsa-miR-2"], "R1": [5, 3], "R2": [0, 9]})
    counts.to_csv(tmp_path / "P_expression_count.csv", index=False)
    meta = pd.DataFrame({"Run": ["R2", "R1"], "disease": ["a", "b"], "donor": ["D2", "D1"]})
    meta.to_csv(tmp_path / "P_metadata.csv", index=False)
    data = read_data(tmp_path / "P_expression_count.csv", label="disease", group="donor")
    assert data.groups is not None and data.groups.to_dict() == {"R1": "D1", "R2": "D2"}
    with pytest.raises(BiopsyInputError, match="no such column in the metadata"):
        read_data(tmp_path / "P_expression_count.csv", label="disease", group="subject")
