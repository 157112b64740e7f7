"""Bad input: typed errors naming row and column; nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.biopsy import BiopsyInputError, read_data
from exotwin.biopsy.classify import fit_classifier
from exotwin.biopsy.cli import biopsy_app

from .conftest import FAST, signal_frame

runner = CliRunner()


def _write(tmp_path: Path, edit: str) -> Path:
    frame = signal_frame(n=20, p=4).astype(object)
    if edit == "nan":
        frame.loc[3, "hsa-miR-2"] = ""
    elif edit == "inf":
        frame.loc[4, "hsa-miR-3"] = "inf"
    elif edit == "text":
        frame.loc[5, "hsa-miR-1"] = "high"
    elif edit == "dup":
        frame.loc[6, "sample"] = "S1"
    elif edit == "one_class":
        frame["group"] = "case"
    elif edit == "no_mirna":
        frame.columns = ["sample", "GAPDH", "ACTB", "TP53", "MYC", "group"]
    path = tmp_path / f"{edit}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "row", "column", "message"),
    [
        ("nan", 5, "hsa-miR-2", "missing value"),
        ("inf", 6, "hsa-miR-3", "infinite"),
        ("text", 7, "hsa-miR-1", "not a number: 'high'"),
        ("dup", 8, "sample", "duplicate sample id 'S1'"),
        ("one_class", None, "group", "one class"),
        ("no_mirna", 1, "", "no analyte matches a miRNA"),
    ],
)
def test_typed_errors(
    tmp_path: Path, edit: str, row: int | None, column: str, message: str
) -> None:
    path = _write(tmp_path, edit)
    with pytest.raises(BiopsyInputError) as info:
        read_data(path, label="group")
    problem = info.value.problems[0]
    assert problem.file == path and problem.line == row
    assert column in problem.field and message in problem.message
    assert f"{path.name}" in str(info.value)


def test_missing_label_column(tmp_path: Path) -> None:
    with pytest.raises(BiopsyInputError, match="no such column"):
        read_data(_write(tmp_path, "ok"), label="diagnosis")


def test_diagnosis_needs_two_classes(tmp_path: Path) -> None:
    frame = signal_frame(n=30, p=4)
    frame.loc[:9, "group"] = "third"
    frame.to_csv(tmp_path / "three.csv", index=False)
    with pytest.raises(BiopsyInputError, match="--task subtype"):
        fit_classifier(read_data(tmp_path / "three.csv", label="group"), "diagnosis", FAST)


def test_cli_fit_bad_input_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = runner.invoke(
        biopsy_app, ["fit", str(_write(tmp_path, "text")), "--label", "group", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "row" not in result.output or "column 'hsa-miR-1'" in result.output
    assert "text.csv:7: column 'hsa-miR-1': not a number" in result.output
    assert not out.exists() and not list(tmp_path.glob(".model*"))


def test_predict_missing_features(tmp_path: Path) -> None:
    train = _write(tmp_path, "ok")
    model = tmp_path / "model"
    args = ["fit", str(train), "--label", "group", "--out", str(model), "--outer-folds", "2"]
    args += ["--inner-folds", "2", "--bootstrap", "20", "--panel", "0"]
    assert runner.invoke(biopsy_app, args).exit_code == 0
    frame = signal_frame(n=6, p=4).drop(columns=["hsa-miR-3", "group"])
    frame.to_csv(tmp_path / "new.csv", index=False)
    pred = tmp_path / "pred.csv"
    result = runner.invoke(
        biopsy_app, ["predict", str(model), str(tmp_path / "new.csv"), "--out", str(pred)]
    )
    assert result.exit_code == 1
    assert "new.csv:1: column 'hsa-miR-3': feature of the model is missing" in result.output
    assert not pred.exists()
