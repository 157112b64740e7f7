"""``exotwin biopsy fit|predict|de`` end to end on generated and real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
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
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    assert {"value", "ci_low", "ci_high"} <= set(metrics["cv_auc"])
    html = (model / "report.html").read_text(encoding="utf-8")
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
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["cv_balanced_accuracy"]["value"] > 0.7
    pred = tmp_path / "p.csv"
    result = runner.invoke(biopsy_app, ["predict", str(model), str(data), "--out", str(pred)])
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(pred).columns) == ["sample", "predicted", "Basal", "Her2", "LumA"]


def test_de_real_qpcr_with_meta(tmp_path: Path, shared_dir: Path) -> None:
    path = shared_dir / "data/gse41922_serum_mirna_qpcr_ct.txt"
    samples = path.read_text(encoding="utf-8").splitlines()[5].split("\t")[1:]
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


_INTERVAL = re.compile(r"\[([-+]?[\d.]+), ([-+]?[\d.]+)\]")


@pytest.mark.parametrize("name", ["PRJNA593193", "PRJNA1054301"])
def test_fit_real_ev_seq_intervals_have_width_and_verdicts_follow_them(
    tmp_path: Path, shared_dir: Path, name: str
) -> None:
    data = shared_dir / f"data/ev_mirna_seq/{name}_expression_count.csv"
    out = tmp_path / name
    result = runner.invoke(biopsy_app, ["fit", str(data), "--label", "disease", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    rows = [line for line in lines if line.startswith("cv_")]
    assert len(rows) == 6
    for line in rows:  # no zero-width interval anywhere
        assert all(float(high) > float(low) for low, high in _INTERVAL.findall(line)), line
    for line in rows:
        model_part, base_part, delta_part = re.split(r"   baseline |   model - baseline ", line)
        for part in (model_part, base_part):  # a non-zero width, or the reason
            found = _INTERVAL.search(part)
            if found:
                assert float(found.group(2)) > float(found.group(1)), line
            else:
                assert "(too few samples for an interval)" in part, line
        key = line.split(":")[0]
        delta = metrics["baseline"]["delta"][key]
        if ": better" in delta_part or ": worse" in delta_part:
            assert delta["ci_low"] is not None and not delta["ci_low"] <= 0 <= delta["ci_high"]
        assert delta_part.split(": ")[1].startswith(delta["verdict"])
    assert any(line.startswith("intervals: the smallest class holds") for line in lines)
    # one model line, agreeing with the warnings
    model_lines = [line for line in lines if line.startswith("model:")]
    assert len(model_lines) == 1
    if any("too few samples for inner tuning" in line for line in lines):
        assert "defaults" in model_lines[0]
        assert {f["model"] for f in metrics["fold_models"]} == {metrics["final_model"]}
    # the positive class, and how it was chosen, everywhere
    how = "the class not named like a control, unlike 'Healthy donor'"
    assert f"positive class: 'Breast cancer' = 1 ({how})" in result.output
    assert metrics["positive_class_reason"] == how
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Positive class (= 1): <b>Breast cancer</b>" in report
    assert "Separation check" in report and "[1.0000, 1.0000]" not in result.output


def test_positive_class_given_or_explained(tmp_path: Path) -> None:
    frame = signal_frame(n=40)
    frame["group"] = frame["group"].map({"case": "B", "control": "A"})
    frame.to_csv(tmp_path / "ab.csv", index=False)
    args = ["fit", str(tmp_path / "ab.csv"), "--label", "group", "--outer-folds", "2"]
    args += ["--inner-folds", "2", "--bootstrap", "20", "--panel", "0"]
    result = runner.invoke(biopsy_app, [*args, "--out", str(tmp_path / "m1")])
    assert result.exit_code == 0, result.output
    assert "positive class: 'B' = 1 (last in sorted order" in result.output
    assert "use --positive" in result.output
    result = runner.invoke(biopsy_app, [*args, "--out", str(tmp_path / "m2"), "--positive", "A"])
    assert "positive class: 'A' = 1 (given with --positive)" in result.output
    assert json.loads((tmp_path / "m2/metrics.json").read_text(encoding="utf-8"))["positive_class"] == "A"


def test_de_real_gse73002_bounds_effects_and_warnings(tmp_path: Path, shared_dir: Path) -> None:
    path = shared_dir / "data/gse73002_serum_mirna_train.csv"
    out = tmp_path / "de"
    result = runner.invoke(
        biopsy_app, ["de", str(path), "--label", "breast cancer", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "positive class: '1'" in result.output and "smallest p < 1e-300" in result.output
    assert "whole profile is shifted" in result.output
    assert "batch or platform effect" in result.output and "hsa-miR-8073" in result.output
    assert re.search(r"g \+\d\.\d\d \[\+\d\.\d\d, \+\d\.\d\d\], AUC 0\.\d{3}", result.output)
    table = pd.read_csv(out / "de.csv", index_col=0)
    assert (table["p_value"] > 0).all() and table["log10_p"].nunique() == len(table)
    assert "p &lt; 1e-300" in (out / "volcano.svg").read_text(encoding="utf-8")
