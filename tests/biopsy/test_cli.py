"""``exotwin biopsy fit|predict|de`` end to end on generated and real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from exotwin.biopsy.cli import biopsy_app

from .conftest import signal_frame

runner = CliRunner()
QUICK = ["--outer-folds", "3", "--inner-folds", "2", "--bootstrap", "50", "--panel", "2"]


def test_fit_predict_de_diagnosis(tmp_path: Path, signal_csv: Path) -> None:
    model = tmp_path / "model"
    result = runner.invoke(
        biopsy_app, ["fit", str(signal_csv), "--label", "group", "--out", str(model), *QUICK]
    )
    assert result.exit_code == 0, result.output
    assert "cv_auc:" in result.output and "baseline" in result.output
    for name in ("model.joblib", "features.json", "metrics.json", "report.html"):
        assert (model / name).is_file()
    metrics = json.loads((model / "metrics.json").read_text())
    assert {"value", "ci_low", "ci_high"} <= set(metrics["cv_auc"])
    html = (model / "report.html").read_text()
    assert html.count("<svg") >= 4  # ROC, calibration, panel, volcano
    new = signal_frame(n=10, seed=3).drop(columns="group")
    new.to_csv(tmp_path / "new.csv", index=False)
    pred = tmp_path / "pred.csv"
    result = runner.invoke(
        biopsy_app, ["predict", str(model), str(tmp_path / "new.csv"), "--out", str(pred)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pred)
    assert list(table.columns) == ["sample", "predicted", "score"] and len(table) == 10
    assert set(table["predicted"]) <= {"case", "control"}
    de = tmp_path / "de"
    result = runner.invoke(
        biopsy_app, ["de", str(signal_csv), "--label", "group", "--out", str(de)]
    )
    assert result.exit_code == 0, result.output
    assert (de / "de.csv").is_file() and (de / "volcano.svg").is_file()


def test_fit_predict_subtype_real_tcga(tmp_path: Path, shared_dir: Path) -> None:
    data = shared_dir / "data/tcga_brca_mirna_subtype_train.csv"
    model = tmp_path / "tcga"
    args = [
        "fit",
        str(data),
        "--label",
        "subtype",
        "--task",
        "subtype",
        "--out",
        str(model),
        *QUICK,
    ]
    result = runner.invoke(biopsy_app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["cv_balanced_accuracy"]["value"] > 0.7
    pred = tmp_path / "p.csv"
    result = runner.invoke(biopsy_app, ["predict", str(model), str(data), "--out", str(pred)])
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(pred).columns) == ["sample", "predicted", "Basal", "Her2", "LumA"]


def test_de_real_qpcr_with_meta(tmp_path: Path, shared_dir: Path) -> None:
    path = shared_dir / "data/gse41922_serum_mirna_qpcr_ct.txt"
    samples = path.read_text().splitlines()[5].split("\t")[1:]
    meta = pd.DataFrame(
        {
            "sample": samples,
            "group": ["control" if s.startswith("c") else "cancer" for s in samples],
        }
    )
    meta.to_csv(tmp_path / "meta.csv", index=False)
    out = tmp_path / "de"
    args = [
        "de",
        str(path),
        "--label",
        "group",
        "--meta",
        str(tmp_path / "meta.csv"),
        "--out",
        str(out),
    ]
    result = runner.invoke(biopsy_app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "de.csv", index_col=0)
    assert "SNORD38B" not in table.index and len(table) > 100
