"""Model choice by inner CV, the operating point, metrics and the paired comparison with the
baseline."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    balanced_accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)

from exotwin.biopsy.classify import (
    CVSettings,
    SoftVote,
    fit_classifier,
    operating_threshold,
    select_model,
)
from exotwin.biopsy.metrics import auc, balanced_accuracy, macro_f1, paired_bootstrap
from exotwin.biopsy.metrics import log_loss as our_log_loss
from exotwin.biopsy.readers import Dataset, read_data

from .conftest import FAST, signal_frame


def _dataset(frame: pd.DataFrame, label: str = "group") -> Dataset:
    values = frame.drop(columns=["sample", label]).set_axis(frame["sample"], axis=0)
    return Dataset(
        values, "signal", Path("<generated>"), frame[label].set_axis(frame["sample"]), label
    )


def test_numpy_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.normal(y, 1.0), 1)  # ties
    assert auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    y3 = rng.integers(0, 3, 300)
    pred = np.where(rng.random(300) < 0.7, y3, rng.integers(0, 3, 300))
    pred[pred == 2] = 1  # a class never predicted
    assert balanced_accuracy(y3, pred) == pytest.approx(balanced_accuracy_score(y3, pred))
    assert macro_f1(y3, pred) == pytest.approx(f1_score(y3, pred, average="macro"))
    proba = rng.dirichlet(np.ones(3), 300)
    assert our_log_loss(y3, proba) == pytest.approx(log_loss(y3, proba, labels=[0, 1, 2]))


def test_paired_bootstrap_is_paired() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    good, noisy = y + rng.normal(0, 0.5, 200), y + rng.normal(0, 2.0, 200)
    a, b, delta = paired_bootstrap(auc, y, good, noisy, 300, 0)
    assert delta["value"] == pytest.approx(a["value"] - b["value"])
    assert 0 < delta["ci_low"] < delta["value"] < delta["ci_high"]
    _, _, none = paired_bootstrap(auc, y, good, good, 300, 0)
    assert none["ci_low"] == none["ci_high"] == 0.0


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("accuracy", 0.65), ("youden", 0.15)],
)
def test_operating_threshold(rule: str, expected: float) -> None:
    # 2 cases, 8 controls: catching the low case costs 3 false positives
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.2, 0.4, 0.35, 0.3, 0.1, 0.1, 0.05, 0.05, 0.0])
    assert operating_threshold(y, score, rule) == pytest.approx(expected)  # type: ignore[arg-type]


def test_soft_vote_averages_its_members() -> None:
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(60, 3)), np.repeat([0, 1], 30)
    members = [LogisticRegression(C=0.1), LogisticRegression(C=10.0)]
    vote = SoftVote(members).fit(X, y)
    expected = np.mean([m.fit(X, y).predict_proba(X) for m in members], axis=0)
    assert np.allclose(vote.predict_proba(X), expected)
    assert set(vote.predict(X)) <= {0, 1}


def test_select_model_scores_every_candidate_and_ensembles() -> None:
    data = _dataset(signal_frame(n=120, p=6))
    y = (data.labels == "case").to_numpy().astype(int)  # type: ignore[union-attr]
    s = replace(FAST, c_grid=(0.1, 1.0), svm_c_grid=(0.01,))
    chosen = select_model(data.values, y, None, "signal", "diagnosis", s, 2, 2)
    names = set(chosen.scores)
    assert {"logistic(C=0.1)", "logistic(C=1)", "linear SVM(C=0.01, sigmoid-calibrated)"} <= names
    assert "shrinkage LDA" in names and any(n.startswith("soft vote of") for n in names)
    assert "gradient boosting(depth 3, 200 trees)" in names  # 30+ per class in inner training
    assert chosen.scores[chosen.name] == min(chosen.scores.values())
    assert chosen.oof is not None and chosen.oof.shape == (120, 2)
    assert chosen.threshold is not None and 0 < chosen.threshold < 1
    tiny = select_model(data.values.iloc[:16], y[:16], None, "signal", "diagnosis", s, 2, 2)
    assert all(n.startswith("logistic") for n in tiny.scores)  # families need bigger classes


def test_nonlinear_signal_model_beats_baseline_on_every_metric() -> None:
    """An interaction no linear model can use: the inner CV must find a model that does."""
    rng = np.random.default_rng(3)
    n = 360
    x = rng.normal(8.0, 1.0, size=(n, 6))
    case = (x[:, 0] - 8.0) * (x[:, 1] - 8.0) > 0
    frame = pd.DataFrame(x, columns=[f"hsa-miR-{i + 1}" for i in range(6)])
    frame.insert(0, "sample", [f"S{i}" for i in range(n)])
    frame["group"] = np.where(case, "case", "control")
    m = fit_classifier(_dataset(frame), "diagnosis", FAST).metrics
    assert "gradient boosting" in m["final_model"]
    assert m["baseline"]["cv_auc"]["value"] < 0.65 < 0.9 < m["cv_auc"]["value"]
    for key, delta in m["baseline"]["delta"].items():
        assert delta["verdict"] == "better", key
    assert m["baseline"]["delta"]["cv_auc"]["ci_low"] > 0


def test_metrics_report_paired_deltas_for_every_metric(shared_dir: Path) -> None:
    data = read_data(shared_dir / "data/tcga_brca_mirna_subtype_train.csv", label="subtype")
    m = fit_classifier(data, "subtype", replace(FAST, c_grid=(0.1, 1.0))).metrics
    keys = [k for k in m if k.startswith("cv_")]
    assert keys == ["cv_balanced_accuracy", "cv_macro_f1", "cv_log_loss"]
    for key in keys:
        delta = m["baseline"]["delta"][key]
        assert delta["value"] == pytest.approx(m[key]["value"] - m["baseline"][key]["value"])
        assert delta["ci_low"] <= delta["value"] <= delta["ci_high"]
    assert m["baseline"]["delta"]["cv_log_loss"]["direction"] == "lower is better"
    assert len(m["fold_models"]) == 3 and m["final_model"]


def test_default_settings_are_the_benchmark_settings() -> None:
    s = CVSettings()
    assert s.outer_folds == 5 and s.inner_folds == 3 and s.operating_point == "accuracy"
    assert s.families == ("logistic", "svm", "lda", "boosting") and s.ensembles
