"""Grouped cross-validation: samples of one patient never straddle a training/test split."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from exotwin.biopsy import BiopsyInputError, read_data
from exotwin.biopsy import classify as classify_module
from exotwin.biopsy.classify import fit_classifier
from exotwin.biopsy.cli import biopsy_app

from .conftest import FAST

runner = CliRunner()


def patient_frame(
    patients: int = 60, per: int = 3, p: int = 30, noise: float = 0.1, seed: int = 0
) -> pd.DataFrame:
    """``per`` samples (days) of each patient: the patient's own profile plus a little noise;
    labels drawn per patient at random, so there is nothing to learn but the patient."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(8.0, 1.0, (patients, p))
    status = np.array(["case", "control"] * (patients // 2))
    rng.shuffle(status)
    rows = [
        [f"P{i}-d{j}", f"P{i}", status[i], *(centre[i] + rng.normal(0.0, noise, p))]
        for i in range(patients)
        for j in range(per)
    ]
    columns = ["sample", "patient", "group", *[f"hsa-miR-{k + 1}" for k in range(p)]]
    return pd.DataFrame(rows, columns=columns)


@pytest.fixture
def patients_csv(tmp_path: Path) -> Path:
    path = tmp_path / "patients.csv"
    patient_frame().to_csv(path, index=False)
    return path


def test_reader_takes_the_group_column(patients_csv: Path) -> None:
    data = read_data(patients_csv, label="group", group="patient")
    assert data.groups is not None and data.group_column == "patient"
    assert "patient" not in data.values.columns and data.values.shape == (180, 30)
    assert data.groups["P7-d2"] == "P7"


def test_grouped_cv_is_honest_where_plain_cv_leaks(
    patients_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = fit_classifier(read_data(patients_csv, label="group"), "diagnosis", FAST)
    data = read_data(patients_csv, label="group", group="patient")
    splits: list[tuple[np.ndarray | None, list[tuple[np.ndarray, np.ndarray]]]] = []
    real_split = classify_module._split

    def recording_split(y: np.ndarray, groups: np.ndarray | None, folds: int, seed: int) -> Any:
        out = real_split(y, groups, folds, seed)
        splits.append((groups, out))
        return out

    monkeypatch.setattr(classify_module, "_split", recording_split)
    grouped = fit_classifier(data, "diagnosis", FAST)
    leaky, honest = plain.metrics["cv_auc"], grouped.metrics["cv_auc"]
    # duplicated patients leak under plain K-fold: the labels are pure noise per patient
    assert leaky["value"] > 0.9
    assert honest["value"] < leaky["value"] - 0.3
    assert honest["ci_low"] < 0.5 < honest["ci_high"]
    assert grouped.metrics["cv"]["group"] == "patient" and grouped.metrics["cv"]["n_groups"] == 60
    assert grouped.metrics["cv"]["bootstrap_unit"] == "group"
    # the cluster bootstrap is wider than the (wrong) per-sample one
    assert honest["ci_high"] - honest["ci_low"] > leaky["ci_high"] - leaky["ci_low"]
    # no patient in two outer test folds
    folds = grouped.oof["fold"].groupby(data.groups).nunique()
    assert (folds == 1).all()
    # every split made during the fit (outer, inner model choice, panel) kept groups whole
    assert len(splits) >= 1 + 3 + 1  # outer, inner per outer fold, final
    for groups, made in splits:
        assert groups is not None
        for train, test in made:
            assert not set(groups[train]) & set(groups[test])


def test_grouped_same_seed_same_numbers(patients_csv: Path) -> None:
    data = read_data(patients_csv, label="group", group="patient")
    a = fit_classifier(data, "diagnosis", FAST).metrics
    b = fit_classifier(data, "diagnosis", FAST).metrics
    assert a["cv_auc"] == b["cv_auc"] and a["baseline"] == b["baseline"]


def test_missing_group_column_is_a_typed_error(patients_csv: Path) -> None:
    with pytest.raises(BiopsyInputError) as info:
        read_data(patients_csv, label="group", group="subject")
    problem = info.value.problems[0]
    assert problem.line == 1 and "subject" in problem.field and "no such column" in problem.message


def test_missing_group_id_names_its_row(tmp_path: Path) -> None:
    frame = patient_frame(patients=10)
    frame.loc[4, "patient"] = ""
    frame.to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(BiopsyInputError) as info:
        read_data(tmp_path / "gap.csv", label="group", group="patient")
    problem = info.value.problems[0]
    assert problem.line == 6 and "patient" in problem.field and "missing group" in problem.message


def test_too_few_groups_for_the_folds(tmp_path: Path) -> None:
    patient_frame(patients=8, per=5).to_csv(tmp_path / "few.csv", index=False)
    data = read_data(tmp_path / "few.csv", label="group", group="patient")
    with pytest.raises(BiopsyInputError, match=r"spans 4 group\(s\) of 'patient'.*5-fold"):
        fit_classifier(data, "diagnosis", replace(FAST, outer_folds=5))
    assert fit_classifier(data, "diagnosis", FAST).metrics["cv"]["outer_folds"] == 3


def test_cli_fit_with_group(tmp_path: Path, patients_csv: Path) -> None:
    out = tmp_path / "model"
    args = ["fit", str(patients_csv), "--label", "group", "--out", str(out), "--group", "patient"]
    args += ["--outer-folds", "3", "--inner-folds", "2", "--bootstrap", "50", "--panel", "2"]
    result = runner.invoke(biopsy_app, args)
    assert result.exit_code == 0, result.output
    assert "grouped CV by 'patient': 60 groups" in result.output
    assert "Grouped CV by <b>patient</b>" in (out / "report.html").read_text(encoding="utf-8")
    bad = runner.invoke(biopsy_app, [*args[:6], "--group", "subject"])
    assert bad.exit_code == 1 and "column 'subject': no such column" in bad.output
