"""Diagnosis and subtype classifiers with nested cross-validation and honest uncertainty.

Every data-dependent step (normalisation fit, scaling, feature selection, tuning, panel
search, operating point) happens inside the outer training folds; the outer test folds only
ever see fitted pipelines. Metrics come from out-of-fold predictions, with bootstrap 95% CIs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import calibration_curve
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .errors import BiopsyInputError, cell_problem
from .normalise import default_normaliser
from .readers import Dataset

Task = Literal["diagnosis", "subtype"]
SMALL_COHORT = 30
MIN_CLASS = 10

__all__ = ["CVSettings", "FitResult", "TopK", "build_pipeline", "fit_classifier", "greedy_panel"]


@dataclass(frozen=True)
class CVSettings:
    """Nested-CV settings; the defaults are the full setting of the benchmark."""

    outer_folds: int = 5
    inner_folds: int = 3
    c_grid: tuple[float, ...] = (0.01, 0.1, 1.0)
    k_grid: tuple[int, ...] = (10, 30, 0)  # 0: every feature
    panel_max: int = 5
    panel_candidates: int = 20
    panel_tolerance: float = 0.002  # smallest panel within this inner AUC of the best
    n_boot: int = 1000
    seed: int = 0
    n_jobs: int = 1
    normalisation: str | None = None  # variant for default_normaliser (quantile, cpm...)


class TopK(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Keep the ``k`` features with the largest ANOVA F on the training data (0: all)."""

    def __init__(self, k: int = 0) -> None:
        self.k = k

    def fit(self, X: Any, y: Any) -> TopK:
        n = np.shape(X)[1]
        if self.k <= 0 or self.k >= n:
            self.index_ = np.arange(n)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                f, _ = f_classif(X, y)
            self.index_ = np.sort(np.argsort(-np.nan_to_num(f, nan=-1.0), kind="stable")[: self.k])
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.asarray(X)[:, self.index_]


def build_pipeline(
    kind: str, task: Task, normalisation: str | None = None, k: int = 0, c: float = 1.0
) -> Pipeline:
    """normalise → standardise → top-k features → (multinomial) logistic regression."""
    model = LogisticRegression(
        C=c, max_iter=5000, class_weight="balanced" if task == "subtype" else None
    )
    return Pipeline(
        [
            ("normalise", default_normaliser(kind, normalisation)),
            ("scale", StandardScaler()),
            ("select", TopK(k)),
            ("model", model),
        ]
    )


def baseline_pipeline(kind: str, task: Task, normalisation: str | None = None) -> Pipeline:
    """The plain baseline: normalise → standardise → logistic regression (C = 1), no tuning."""
    return Pipeline(
        [
            ("normalise", default_normaliser(kind, normalisation)),
            ("scale", StandardScaler()),
            (
                "model",
                LogisticRegression(
                    max_iter=5000, class_weight="balanced" if task == "subtype" else None
                ),
            ),
        ]
    )


# ----------------------------------------------------------------- statistics


def _interval(values: list[float], point: float) -> dict[str, float]:
    if not values:
        return {"value": point, "ci_low": float("nan"), "ci_high": float("nan")}
    low, high = np.percentile(values, [2.5, 97.5])
    return {"value": point, "ci_low": float(low), "ci_high": float(high)}


def bootstrap(
    metric: Any, y: np.ndarray, pred: np.ndarray, n_boot: int, seed: int
) -> dict[str, float]:
    """Point estimate and percentile bootstrap 95% CI of ``metric(y, pred)`` over samples."""
    rng = np.random.default_rng(seed)
    n = len(y)
    values: list[float] = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        if len(np.unique(y[idx])) < 2:
            continue
        values.append(float(metric(y[idx], pred[idx])))
    return _interval(values, float(metric(y, pred)))


def youden_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """Probability cut-off maximising sensitivity + specificity − 1."""
    fpr, tpr, thresholds = roc_curve(y, score)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def _sensitivity(y: np.ndarray, hit: np.ndarray) -> float:
    return float(hit[y == 1].mean()) if (y == 1).any() else float("nan")


def _specificity(y: np.ndarray, hit: np.ndarray) -> float:
    return float((~hit[y == 0]).mean()) if (y == 0).any() else float("nan")


def calibration(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Brier score, calibration intercept and slope (logistic recalibration), binned curve."""
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    recal = LogisticRegression(C=1e6, max_iter=1000).fit(logit[:, None], y)
    n_bins = int(min(10, max(2, len(y) // 20)))
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
    return {
        "brier": float(brier_score_loss(y, p)),
        "slope": float(recal.coef_[0, 0]),
        "intercept": float(recal.intercept_[0]),
        "bins": [
            {"predicted": float(a), "observed": float(b)}
            for a, b in zip(predicted, observed, strict=True)
        ],
    }


# ----------------------------------------------------------------- panel search


def _lda_auc(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> float:
    """AUC on the test part of a Fisher discriminant fitted on the training part (fast)."""
    mu1, mu0 = x_train[y_train == 1].mean(axis=0), x_train[y_train == 0].mean(axis=0)
    cov = np.atleast_2d(np.cov(x_train, rowvar=False)) + 1e-6 * np.eye(x_train.shape[1])
    w = np.linalg.solve(cov, mu1 - mu0)
    if len(np.unique(y_test)) < 2:
        return 0.5
    return float(roc_auc_score(y_test, np.nan_to_num(x_test @ w)))


def greedy_panel(
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    *,
    max_k: int,
    candidates: int,
    folds: int,
    seed: int,
    tolerance: float = 0.002,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Forward selection of up to ``max_k`` analytes by inner-CV AUC (Fisher discriminant)
    among the ``candidates`` with the largest univariate AUC distance from 0.5; the panel
    size is the smallest within ``tolerance`` of the best inner AUC. Binary ``y`` in {0, 1}."""
    univariate = np.array([abs(roc_auc_score(y, X[:, j]) - 0.5) for j in range(X.shape[1])])
    pool = list(np.argsort(-univariate, kind="stable")[:candidates])
    steps: list[dict[str, Any]] = []
    if np.bincount(y).min() < max(folds, 2):  # too few samples to cross-validate a search
        steps = [{"added": names[j], "auc": 0.5 + float(univariate[j])} for j in pool[:max_k]]
        return [names[pool[0]]], steps
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y))
    chosen: list[int] = []
    for _ in range(min(max_k, len(pool))):
        best_j, best_auc = -1, -1.0
        for j in pool:
            if j in chosen:
                continue
            cols = [*chosen, j]
            auc = float(
                np.mean(
                    [_lda_auc(X[tr][:, cols], y[tr], X[te][:, cols], y[te]) for tr, te in splits]
                )
            )
            if auc > best_auc + 1e-12:
                best_j, best_auc = j, auc
        chosen.append(best_j)
        steps.append({"added": names[best_j], "auc": best_auc})
    top = max(s["auc"] for s in steps)
    size = next(i + 1 for i, s in enumerate(steps) if s["auc"] >= top - tolerance)
    return [names[j] for j in chosen[:size]], steps


def _panel_fold(
    Xtr: pd.DataFrame, ytr: np.ndarray, Xte: pd.DataFrame, kind: str, s: CVSettings, folds: int
) -> tuple[list[str], np.ndarray]:
    prep = Pipeline(
        [("normalise", default_normaliser(kind, s.normalisation)), ("scale", StandardScaler())]
    )
    ztr = prep.fit_transform(Xtr)
    names = [str(n) for n in prep.named_steps["normalise"].get_feature_names_out()]
    panel, _ = greedy_panel(
        ztr,
        ytr,
        names,
        max_k=s.panel_max,
        candidates=s.panel_candidates,
        folds=folds,
        seed=s.seed,
        tolerance=s.panel_tolerance,
    )
    cols = [names.index(p) for p in panel]
    model = LogisticRegression(max_iter=5000).fit(ztr[:, cols], ytr)
    return panel, model.predict_proba(prep.transform(Xte)[:, cols])[:, 1]


# ----------------------------------------------------------------- nested CV


@dataclass
class FitResult:
    """Cross-validated metrics, out-of-fold predictions and the model fitted on all data."""

    task: Task
    metrics: dict[str, Any]
    oof: pd.DataFrame
    model: Pipeline
    features: list[str]
    classes: list[str]
    threshold: float | None
    panel: list[str] = field(default_factory=list)
    panel_steps: list[dict[str, Any]] = field(default_factory=list)
    baseline_oof: np.ndarray | None = None


def _search(
    kind: str, task: Task, s: CVSettings, n_features: int, inner: int
) -> GridSearchCV | Pipeline:
    pipe = build_pipeline(kind, task, s.normalisation)
    ks = sorted({k if 0 < k < n_features else 0 for k in s.k_grid})
    grid: dict[str, list[Any]] = {"model__C": list(s.c_grid), "select__k": ks}
    if inner < 2 or len(s.c_grid) * len(ks) == 1:
        return pipe.set_params(model__C=s.c_grid[0], select__k=ks[0])
    return GridSearchCV(
        pipe,
        grid,
        cv=StratifiedKFold(inner, shuffle=True, random_state=s.seed),
        scoring="roc_auc" if task == "diagnosis" else "balanced_accuracy",
        n_jobs=1,
        error_score="raise",
    )


def _outer_fold(
    X: pd.DataFrame,
    y: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    kind: str,
    task: Task,
    s: CVSettings,
    inner: int,
) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _search(kind, task, s, X.shape[1], inner).fit(X.iloc[tr], y[tr])
        proba = model.predict_proba(X.iloc[te])
        base = baseline_pipeline(kind, task, s.normalisation).fit(X.iloc[tr], y[tr])
        base_proba = base.predict_proba(X.iloc[te])
        out: dict[str, Any] = {"test": te, "proba": proba, "base_proba": base_proba}
        if hasattr(model, "best_params_"):
            out["params"] = model.best_params_
        if task == "diagnosis":
            out["threshold"] = youden_threshold(y[tr], model.predict_proba(X.iloc[tr])[:, 1])
            out["base_threshold"] = youden_threshold(y[tr], base.predict_proba(X.iloc[tr])[:, 1])
            if s.panel_max > 0:
                out["panel"], out["panel_proba"] = _panel_fold(
                    X.iloc[tr], y[tr], X.iloc[te], kind, s, inner if inner >= 2 else 2
                )
    return out


def _check_labels(data: Dataset, task: Task) -> None:
    if data.labels is None:
        raise BiopsyInputError([cell_problem(data.source, None, "", "no label column given")])
    counts = data.labels.value_counts()
    if len(counts) < 2:
        raise BiopsyInputError(
            [cell_problem(data.source, None, data.label_column or "", "label has one class only")]
        )
    if task == "diagnosis" and len(counts) != 2:
        raise BiopsyInputError(
            [
                cell_problem(
                    data.source,
                    None,
                    data.label_column or "",
                    f"diagnosis needs two classes, found {len(counts)}: {sorted(counts.index)} (use --task subtype)",
                )
            ]
        )
    if counts.min() < 2:
        raise BiopsyInputError(
            [
                cell_problem(
                    data.source,
                    None,
                    data.label_column or "",
                    f"class {counts.idxmin()!r} has one sample; cross-validation needs two per class",
                )
            ]
        )


def fit_classifier(
    data: Dataset,
    task: Task = "diagnosis",
    settings: CVSettings | None = None,
    positive: str | None = None,
) -> FitResult:
    """Nested CV (outer: metrics; inner: tuning and panel search), then a final fit on all data."""
    s = settings or CVSettings()
    _check_labels(data, task)
    assert data.labels is not None
    X = data.values
    if task == "diagnosis":
        case = data.positive_class(positive)
        classes = [c for c in data.classes if c != case] + [case]
    else:
        classes = data.classes
    y = np.array([classes.index(v) for v in data.labels])
    smallest = int(np.bincount(y).min())
    outer = min(s.outer_folds, smallest)
    inner = min(s.inner_folds, smallest - int(np.ceil(smallest / outer)))
    warn = []
    if len(y) < SMALL_COHORT or smallest < MIN_CLASS:
        warn.append(
            f"small cohort (n = {len(y)}, smallest class {smallest}): {outer}-fold outer CV; "
            "estimates are unstable, read the 95% intervals, not the point values"
        )
    if inner < 2:
        warn.append("too few samples for inner tuning: defaults used (C, all features)")
    splits = list(StratifiedKFold(outer, shuffle=True, random_state=s.seed).split(X, y))
    folds = Parallel(n_jobs=s.n_jobs)(
        delayed(_outer_fold)(X, y, tr, te, data.kind, task, s, inner) for tr, te in splits
    )
    proba = np.zeros((len(y), len(classes)))
    base = np.zeros_like(proba)
    hit = np.zeros(len(y), dtype=bool)
    base_hit = np.zeros(len(y), dtype=bool)
    panel_p = np.zeros(len(y))
    for f in folds:
        proba[f["test"]] = f["proba"]
        base[f["test"]] = f["base_proba"]
        if task == "diagnosis":
            hit[f["test"]] = f["proba"][:, 1] >= f["threshold"]
            base_hit[f["test"]] = f["base_proba"][:, 1] >= f["base_threshold"]
            if "panel_proba" in f:
                panel_p[f["test"]] = f["panel_proba"]
    metrics: dict[str, Any] = {
        "task": task,
        "n_samples": len(y),
        "n_analytes": X.shape[1],
        "classes": classes,
        "class_counts": {c: int((y == i).sum()) for i, c in enumerate(classes)},
        "cv": {
            "outer_folds": outer,
            "inner_folds": inner,
            "seed": s.seed,
            "bootstrap": s.n_boot,
            "c_grid": list(s.c_grid),
            "k_grid": list(s.k_grid),
            "normalisation": type(default_normaliser(data.kind, s.normalisation)).__name__
            + (f" ({s.normalisation})" if s.normalisation else ""),
        },
        "fold_params": [_plain(f.get("params", {})) for f in folds],
        "warnings": warn,
    }
    b = s.n_boot
    if task == "diagnosis":
        metrics["positive_class"] = classes[1]
        p, bp = proba[:, 1], base[:, 1]
        metrics["cv_auc"] = bootstrap(roc_auc_score, y, p, b, s.seed)
        metrics["cv_sensitivity"] = bootstrap(_sensitivity, y, hit, b, s.seed)
        metrics["cv_specificity"] = bootstrap(_specificity, y, hit, b, s.seed)
        metrics["cv_balanced_accuracy"] = bootstrap(
            balanced_accuracy_score, y, hit.astype(int), b, s.seed
        )
        metrics["operating_point"] = {
            "rule": "Youden index on each outer training fold",
            "fold_thresholds": [f["threshold"] for f in folds],
        }
        metrics["calibration"] = calibration(y, p)
        metrics["baseline"] = {
            "model": "standardised logistic regression (C=1), same normalisation and folds",
            "cv_auc": bootstrap(roc_auc_score, y, bp, b, s.seed),
            "cv_sensitivity": bootstrap(_sensitivity, y, base_hit, b, s.seed),
            "cv_specificity": bootstrap(_specificity, y, base_hit, b, s.seed),
            "cv_balanced_accuracy": bootstrap(
                balanced_accuracy_score, y, base_hit.astype(int), b, s.seed
            ),
        }
        if s.panel_max > 0:
            chosen = [f["panel"] for f in folds]
            freq = pd.Series([a for panel in chosen for a in panel]).value_counts()
            metrics["panel"] = {
                "cv_auc": bootstrap(roc_auc_score, y, panel_p, b, s.seed),
                "fold_panels": chosen,
                "selection_frequency": {str(k): int(v) for k, v in freq.items()},
            }
    else:
        pred = proba.argmax(axis=1)
        base_pred = base.argmax(axis=1)
        macro = _macro_f1
        metrics["cv_balanced_accuracy"] = bootstrap(balanced_accuracy_score, y, pred, b, s.seed)
        metrics["cv_macro_f1"] = bootstrap(macro, y, pred, b, s.seed)
        metrics["confusion"] = {
            classes[i]: {
                classes[j]: int(((y == i) & (pred == j)).sum()) for j in range(len(classes))
            }
            for i in range(len(classes))
        }
        metrics["baseline"] = {
            "model": "standardised logistic regression (C=1, balanced), same normalisation and folds",
            "cv_balanced_accuracy": bootstrap(balanced_accuracy_score, y, base_pred, b, s.seed),
            "cv_macro_f1": bootstrap(macro, y, base_pred, b, s.seed),
        }
    # the model to keep: tuned by inner CV on all data, refitted on all data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        final_inner = min(s.inner_folds, smallest)
        search = _search(data.kind, task, s, X.shape[1], final_inner).fit(X, y)
    final = search.best_estimator_ if hasattr(search, "best_estimator_") else search
    metrics["final_params"] = _plain(getattr(search, "best_params_", {}))
    threshold = youden_threshold(y, final.predict_proba(X)[:, 1]) if task == "diagnosis" else None
    panel: list[str] = []
    steps: list[dict[str, Any]] = []
    if task == "diagnosis" and s.panel_max > 0:
        prep = Pipeline(
            [
                ("normalise", default_normaliser(data.kind, s.normalisation)),
                ("scale", StandardScaler()),
            ]
        )
        z = prep.fit_transform(X)
        names = [str(n) for n in prep.named_steps["normalise"].get_feature_names_out()]
        panel, steps = greedy_panel(
            z,
            y,
            names,
            max_k=s.panel_max,
            candidates=s.panel_candidates,
            folds=max(final_inner, 2),
            seed=s.seed,
            tolerance=s.panel_tolerance,
        )
        metrics["panel"]["features"] = panel
        metrics["panel"]["steps"] = steps
    oof = pd.DataFrame(proba, index=X.index, columns=[f"p_{c}" for c in classes])
    oof.insert(0, "label", [classes[i] for i in y])
    return FitResult(
        task,
        metrics,
        oof,
        final,
        list(X.columns),
        classes,
        threshold,
        panel,
        steps,
        base[:, 1] if task == "diagnosis" else None,
    )


def _macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    return float(f1_score(y, pred, average="macro"))


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}
