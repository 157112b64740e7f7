"""Diagnosis and subtype classifiers with nested cross-validation and honest uncertainty.

Every data-dependent step (normalisation fit, scaling, feature selection, model choice and
tuning, panel search, operating point) happens inside the outer training folds; the outer
test folds only ever see fitted pipelines. The model is chosen by inner-CV log-loss among a
small fixed set of candidates (logistic regression over a C × top-k grid, a calibrated linear
SVM, shrinkage LDA, shallow gradient boosting, and soft-voting ensembles of the best of each
family). Metrics come from out-of-fold predictions, with bootstrap 95% CIs; the plain
logistic-regression baseline is scored on the same folds and compared sample by sample.
With ``groups`` (e.g. one patient sampled several times) no group is ever split between a
training and a test part, outer or inner.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from .errors import BiopsyInputError, cell_problem
from .metrics import (
    LEVEL,
    METRICS,
    MIN_PER_CLASS,
    auc,
    brier,
    compare,
    interval,
    log_loss,
    smallest_class,
)
from .normalise import default_normaliser
from .readers import Dataset

Task = Literal["diagnosis", "subtype"]
OperatingPoint = Literal["accuracy", "youden"]
SMALL_COHORT = 30
MIN_CLASS = 10
FAMILIES: tuple[str, ...] = ("logistic", "svm", "lda", "boosting")
# a family takes part only when every inner training split holds this many samples per class
_FAMILY_MIN_CLASS = {"logistic": 1, "lda": 5, "svm": 6, "boosting": 25}

__all__ = [
    "FAMILIES",
    "CVSettings",
    "Candidate",
    "FitResult",
    "Selection",
    "SoftVote",
    "TopK",
    "baseline_pipeline",
    "fit_classifier",
    "greedy_panel",
    "select_model",
]


@dataclass(frozen=True)
class CVSettings:
    """Nested-CV settings; the defaults are the full setting of the benchmark."""

    outer_folds: int = 5
    inner_folds: int = 3
    c_grid: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)  # logistic regression
    k_grid: tuple[int, ...] = (10, 30, 0)  # logistic regression on the top k (0: every feature)
    svm_c_grid: tuple[float, ...] = (0.001, 0.01, 0.1)
    families: tuple[str, ...] = FAMILIES
    ensembles: bool = True  # soft votes of the inner-CV best of each family are candidates too
    operating_point: OperatingPoint = "accuracy"
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


class SoftVote(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Mean of the class probabilities of its members (each fitted on the same data)."""

    def __init__(self, estimators: list[Any]) -> None:
        self.estimators = estimators

    def fit(self, X: Any, y: Any) -> SoftVote:
        self.estimators_ = [clone(e).fit(X, y) for e in self.estimators]
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.mean([e.predict_proba(X) for e in self.estimators_], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass(frozen=True)
class Candidate:
    """One model configuration; it acts on normalised, standardised features."""

    family: str
    c: float = 1.0
    k: int = 0

    @property
    def name(self) -> str:
        if self.family == "logistic":
            return f"logistic(C={self.c:g}{f', top {self.k}' if self.k else ''})"
        if self.family == "svm":
            return f"linear SVM(C={self.c:g}, sigmoid-calibrated)"
        if self.family == "lda":
            return "shrinkage LDA"
        return "gradient boosting(depth 3, 200 trees)"

    def estimator(self, task: Task, seed: int) -> Any:
        balanced = "balanced" if task == "subtype" else None
        if self.family == "logistic":
            model = LogisticRegression(C=self.c, max_iter=5000, class_weight=balanced)
            return Pipeline([("select", TopK(self.k)), ("model", model)]) if self.k else model
        if self.family == "svm":
            svm = SVC(kernel="linear", C=self.c, class_weight=balanced)
            return CalibratedClassifierCV(svm, method="sigmoid", cv=3, ensemble=False)
        if self.family == "lda":
            return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        if self.family == "boosting":
            return HistGradientBoostingClassifier(
                max_depth=3,
                max_iter=200,
                class_weight=balanced,
                early_stopping=False,
                random_state=seed,
            )
        raise ValueError(f"unknown model family {self.family!r} (known: {', '.join(FAMILIES)})")


def _name(members: tuple[Candidate, ...]) -> str:
    if len(members) == 1:
        return members[0].name
    return "soft vote of " + " + ".join(m.name for m in members)


def _preprocess(kind: str, normalisation: str | None) -> Pipeline:
    return Pipeline(
        [("normalise", default_normaliser(kind, normalisation)), ("scale", StandardScaler())]
    )


def _model_pipeline(
    members: tuple[Candidate, ...], kind: str, task: Task, s: CVSettings
) -> Pipeline:
    """normalise → standardise → the chosen model (one candidate or their soft vote)."""
    estimators = [m.estimator(task, s.seed) for m in members]
    model = estimators[0] if len(estimators) == 1 else SoftVote(estimators)
    return Pipeline([*_preprocess(kind, s.normalisation).steps, ("model", model)])


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


# ----------------------------------------------------------------- folds


def _split(
    y: np.ndarray, groups: np.ndarray | None, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold; with groups, stratified group K-fold (no group on both sides)."""
    if groups is None:
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y))
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    return list(splitter.split(y, y, groups))


def _groups_per_class(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    return np.array([len(np.unique(groups[y == c])) for c in range(int(y.max()) + 1)])


@contextmanager
def _worker() -> Iterator[None]:
    """One thread per job (jobs run side by side) and no convergence chatter."""
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ----------------------------------------------------------------- operating point and calibration


def youden_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """Probability cut-off maximising sensitivity + specificity − 1."""
    fpr, tpr, thresholds = roc_curve(y, score)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def operating_threshold(y: np.ndarray, score: np.ndarray, rule: OperatingPoint) -> float:
    """Cut-off on out-of-fold scores: fewest misclassifications (``accuracy``) or the largest
    sensitivity + specificity − 1 (``youden``); halfway between the last score called
    positive and the next lower one, so that the cut does not sit on a training sample."""
    fpr, tpr, thresholds = roc_curve(y, score, drop_intermediate=False)
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    gain = tpr * n1 - fpr * n0 if rule == "accuracy" else tpr - fpr
    best = int(np.argmax(gain))
    cut = float(min(thresholds[best], 1.0))
    if best + 1 < len(thresholds):
        cut = (cut + float(thresholds[best + 1])) / 2
    return cut


def calibration(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Brier score, calibration intercept and slope (logistic recalibration), binned curve."""
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    recal = LogisticRegression(C=1e6, max_iter=1000).fit(logit[:, None], y)
    n_bins = int(min(10, max(2, len(y) // 20)))
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
    return {
        "brier": brier(y, p),
        "slope": float(recal.coef_[0, 0]),
        "intercept": float(recal.intercept_[0]),
        "bins": [
            {"predicted": float(a), "observed": float(b)}
            for a, b in zip(predicted, observed, strict=True)
        ],
    }


# ----------------------------------------------------------------- model choice


@dataclass
class Selection:
    """The model chosen by inner CV, every candidate's inner log-loss, the pooled inner
    out-of-fold probabilities of the choice, and its operating threshold (diagnosis)."""

    members: tuple[Candidate, ...]
    scores: dict[str, float] = field(default_factory=dict)
    oof: np.ndarray | None = None
    threshold: float | None = None

    @property
    def name(self) -> str:
        return _name(self.members)


def _candidates(s: CVSettings, n_features: int, smallest: int) -> list[Candidate]:
    out: list[Candidate] = []
    for family in s.families:
        if family not in _FAMILY_MIN_CLASS:
            raise ValueError(f"unknown model family {family!r} (known: {', '.join(FAMILIES)})")
        if smallest < _FAMILY_MIN_CLASS[family]:
            continue
        if family == "logistic":
            ks = sorted(
                {k if 0 < k < n_features else 0 for k in s.k_grid}, key=lambda k: k or n_features
            )
            out += [Candidate("logistic", c, k) for k in ks for c in s.c_grid]
        elif family == "svm":
            out += [Candidate("svm", c) for c in s.svm_c_grid]
        else:
            out.append(Candidate(family))
    return out


def _full_proba(model: Any, X: Any, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class, also for classes absent from the fit."""
    proba = model.predict_proba(X)
    out = np.zeros((proba.shape[0], n_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = proba
    return out


def select_model(
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray | None,
    kind: str,
    task: Task,
    s: CVSettings,
    folds: int,
    n_classes: int,
) -> Selection:
    """Choose the model by ``folds``-fold CV on (X, y) alone: every candidate's pooled
    out-of-fold log-loss; the best of each family, and (``s.ensembles``) every soft vote of
    two or more family bests, compete; ties go to the simpler model. The operating threshold
    comes from the chosen model's out-of-fold probabilities."""
    if folds < 2:
        fallback = Candidate("logistic", 1.0, 0)
        return Selection((fallback,))
    splits = _split(y, groups, folds, s.seed)
    smallest = min(int(np.bincount(y[tr], minlength=n_classes).min()) for tr, _ in splits)
    candidates = _candidates(s, X.shape[1], smallest) or [Candidate("logistic", 1.0, 0)]
    oof = {c: np.zeros((len(y), n_classes)) for c in candidates}
    for tr, te in splits:
        prep = _preprocess(kind, s.normalisation)
        z_train = prep.fit_transform(X.iloc[tr])
        z_test = prep.transform(X.iloc[te])
        for c in candidates:
            model = c.estimator(task, s.seed).fit(z_train, y[tr])
            oof[c][te] = _full_proba(model, z_test, n_classes)
    pooled: dict[tuple[Candidate, ...], np.ndarray] = {(c,): p for c, p in oof.items()}
    loss = {key: log_loss(y, p) for key, p in pooled.items()}
    best_of: dict[str, tuple[Candidate, ...]] = {}
    for key in pooled:  # candidates in order: the first of equal losses wins
        family = key[0].family
        if family not in best_of or loss[key] < loss[best_of[family]]:
            best_of[family] = key
    if s.ensembles:
        winners = [key[0] for key in best_of.values()]
        for size in range(2, len(winners) + 1):
            for members in itertools.combinations(winners, size):
                pooled[members] = np.mean([oof[m] for m in members], axis=0)
                loss[members] = log_loss(y, pooled[members])
    contenders = [*best_of.values(), *(k for k in pooled if len(k) > 1)]
    chosen = contenders[0]
    for key in contenders[1:]:
        if loss[key] < loss[chosen] - 1e-12:
            chosen = key
    threshold = None
    if task == "diagnosis":
        threshold = operating_threshold(y, pooled[chosen][:, 1], s.operating_point)
    scores = {_name(k): v for k, v in loss.items()}
    return Selection(chosen, scores, pooled[chosen], threshold)


def _fit_selected(
    selection: Selection, X: pd.DataFrame, y: np.ndarray, kind: str, task: Task, s: CVSettings
) -> Pipeline:
    model = _model_pipeline(selection.members, kind, task, s).fit(X, y)
    if selection.threshold is None and task == "diagnosis":  # no inner CV: in-sample Youden
        selection.threshold = youden_threshold(y, model.predict_proba(X)[:, 1])
    return model


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
    return auc(y_test, np.nan_to_num(x_test @ w))


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
    groups: np.ndarray | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Forward selection of up to ``max_k`` analytes by inner-CV AUC (Fisher discriminant)
    among the ``candidates`` with the largest univariate AUC distance from 0.5; the panel
    size is the smallest within ``tolerance`` of the best inner AUC. Binary ``y`` in {0, 1};
    with ``groups`` the inner folds keep each group whole."""
    univariate = np.array([abs(auc(y, X[:, j]) - 0.5) for j in range(X.shape[1])])
    pool = list(np.argsort(-univariate, kind="stable")[:candidates])
    steps: list[dict[str, Any]] = []
    few = np.bincount(y).min() if groups is None else _groups_per_class(y, groups).min()
    if few < max(folds, 2):  # too few samples to cross-validate a search
        steps = [{"added": names[j], "auc": 0.5 + float(univariate[j])} for j in pool[:max_k]]
        return [names[pool[0]]], steps
    splits = _split(y, groups, folds, seed)
    chosen: list[int] = []
    for _ in range(min(max_k, len(pool))):
        best_j, best_auc = -1, -1.0
        for j in pool:
            if j in chosen:
                continue
            cols = [*chosen, j]
            mean_auc = float(
                np.mean(
                    [_lda_auc(X[tr][:, cols], y[tr], X[te][:, cols], y[te]) for tr, te in splits]
                )
            )
            if mean_auc > best_auc + 1e-12:
                best_j, best_auc = j, mean_auc
        chosen.append(best_j)
        steps.append({"added": names[best_j], "auc": best_auc})
    top = max(s["auc"] for s in steps)
    size = next(i + 1 for i, s in enumerate(steps) if s["auc"] >= top - tolerance)
    return [names[j] for j in chosen[:size]], steps


def _panel(
    X: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None, kind: str, s: CVSettings, folds: int
) -> tuple[list[str], list[dict[str, Any]], Pipeline, LogisticRegression, list[int]]:
    """The greedy panel on (X, y) and a logistic regression on its analytes."""
    prep = _preprocess(kind, s.normalisation)
    z = prep.fit_transform(X)
    names = [str(n) for n in prep.named_steps["normalise"].get_feature_names_out()]
    panel, steps = greedy_panel(
        z,
        y,
        names,
        max_k=s.panel_max,
        candidates=s.panel_candidates,
        folds=folds,
        seed=s.seed,
        tolerance=s.panel_tolerance,
        groups=groups,
    )
    cols = [names.index(p) for p in panel]
    model = LogisticRegression(max_iter=5000).fit(z[:, cols], y)
    return panel, steps, prep, model, cols


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


def _outer_fold(
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray | None,
    tr: np.ndarray,
    te: np.ndarray,
    kind: str,
    task: Task,
    s: CVSettings,
    inner: int,
    n_classes: int,
) -> dict[str, Any]:
    with _worker():
        x_train, y_train = X.iloc[tr], y[tr]
        g_train = None if groups is None else groups[tr]
        selection = select_model(x_train, y_train, g_train, kind, task, s, inner, n_classes)
        model = _fit_selected(selection, x_train, y_train, kind, task, s)
        base = baseline_pipeline(kind, task, s.normalisation).fit(x_train, y_train)
        out: dict[str, Any] = {
            "test": te,
            "proba": _full_proba(model, X.iloc[te], n_classes),
            "base_proba": _full_proba(base, X.iloc[te], n_classes),
            "model": selection.name,
            "inner_log_loss": selection.scores.get(selection.name),
        }
        if task == "diagnosis":
            out["threshold"] = selection.threshold
            out["base_threshold"] = youden_threshold(y_train, base.predict_proba(x_train)[:, 1])
            if s.panel_max > 0:
                panel, _, prep, lr, cols = _panel(
                    x_train, y_train, g_train, kind, s, inner if inner >= 2 else 2
                )
                out["panel"] = panel
                out["panel_proba"] = lr.predict_proba(prep.transform(X.iloc[te])[:, cols])[:, 1]
    return out


def _final_fit(
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray | None,
    kind: str,
    task: Task,
    s: CVSettings,
    inner: int,
    n_classes: int,
) -> dict[str, Any]:
    """The model to keep: chosen by inner CV on all data, refitted on all data; the panel."""
    with _worker():
        selection = select_model(X, y, groups, kind, task, s, inner, n_classes)
        model = _fit_selected(selection, X, y, kind, task, s)
        out: dict[str, Any] = {"selection": selection, "model": model}
        if task == "diagnosis" and s.panel_max > 0:
            out["panel"], out["steps"], *_ = _panel(X, y, groups, kind, s, max(inner, 2))
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


def _fold_counts(
    data: Dataset, y: np.ndarray, groups: np.ndarray | None, classes: list[str], s: CVSettings
) -> tuple[int, int, int, list[str]]:
    """Outer, inner and final-fit inner folds, and warnings. Without groups the folds shrink
    to what the smallest class allows; with groups, too few groups in a class is an error."""
    warn: list[str] = []
    smallest = int(np.bincount(y).min())
    if groups is None:
        outer = min(s.outer_folds, smallest)
        inner = min(s.inner_folds, smallest - int(np.ceil(smallest / outer)))
        final_inner = min(s.inner_folds, smallest)
    else:
        per_class = _groups_per_class(y, groups)
        few = int(per_class.argmin())
        if per_class[few] < max(s.outer_folds, 2):
            column = data.group_column or ""
            message = (
                f"class {classes[few]!r} spans {per_class[few]} group(s) of {column!r}; grouped "
                f"{s.outer_folds}-fold cross-validation needs at least {max(s.outer_folds, 2)} "
                "(fewer --outer-folds, or more groups)"
            )
            raise BiopsyInputError([cell_problem(data.source, None, column, message)])
        outer = s.outer_folds
        fewest = int(per_class.min())
        inner = min(s.inner_folds, fewest - int(np.ceil(fewest / outer)))
        final_inner = min(s.inner_folds, fewest)
    if len(y) < SMALL_COHORT or smallest < MIN_CLASS:
        warn.append(
            f"small cohort (n = {len(y)}, smallest class {smallest}): {outer}-fold outer CV; "
            "estimates are unstable, read the 95% intervals, not the point values"
        )
    if inner < 2:  # the model kept is made the way the measured ones were: no tuning
        final_inner = 1
        warn.append(
            "too few samples for inner tuning: defaults used (logistic regression, C = 1) in "
            "every outer fold and for the model kept"
        )
    return outer, inner, final_inner, warn


def _group_array(data: Dataset) -> np.ndarray | None:
    if data.groups is None:
        return None
    groups = data.groups.reindex(data.values.index)
    if groups.isna().any():
        sample = str(groups.index[groups.isna()][0])
        raise BiopsyInputError(
            [
                cell_problem(
                    data.source,
                    data.rows.get(sample),
                    data.group_column or "",
                    f"sample {sample!r} has no group",
                )
            ]
        )
    return pd.factorize(groups.astype(str))[0]


Compared = list[tuple[str, np.ndarray, np.ndarray]]


def _diagnosis(
    metrics: dict[str, Any],
    y: np.ndarray,
    proba: np.ndarray,
    base: np.ndarray,
    hit: np.ndarray,
    base_hit: np.ndarray,
    folds: list[dict[str, Any]],
    s: CVSettings,
) -> Compared:
    """Operating point, calibration and the baseline of a diagnosis; the metrics compared."""
    p, bp = proba[:, 1], base[:, 1]
    rule = (
        "fewest misclassifications"
        if s.operating_point == "accuracy"
        else "Youden index (sensitivity + specificity - 1)"
    )
    metrics["operating_point"] = {
        "rule": f"{rule} on the inner-CV out-of-fold probabilities of each outer training fold",
        "baseline_rule": "Youden index on the baseline's own outer-training-fold probabilities",
        "fold_thresholds": [f["threshold"] for f in folds],
        "baseline_fold_thresholds": [f["base_threshold"] for f in folds],
    }
    metrics["calibration"] = calibration(y, p)
    metrics["baseline"] = {
        "model": "standardised logistic regression (C=1), same normalisation and folds",
        "delta": {},
    }
    return [
        ("cv_auc", p, bp),
        ("cv_sensitivity", hit, base_hit),
        ("cv_specificity", hit, base_hit),
        ("cv_balanced_accuracy", hit, base_hit),
        ("cv_brier", p, bp),
        ("cv_log_loss", proba, base),
    ]


def _subtype(
    metrics: dict[str, Any], y: np.ndarray, proba: np.ndarray, base: np.ndarray, classes: list[str]
) -> Compared:
    """Confusion matrix and the baseline of a subtype model; the metrics compared."""
    pred, base_pred = proba.argmax(axis=1), base.argmax(axis=1)
    metrics["confusion"] = {
        classes[i]: {classes[j]: int(((y == i) & (pred == j)).sum()) for j in range(len(classes))}
        for i in range(len(classes))
    }
    metrics["baseline"] = {
        "model": "standardised logistic regression (C=1, balanced), same normalisation and folds",
        "delta": {},
    }
    return [
        ("cv_balanced_accuracy", pred, base_pred),
        ("cv_macro_f1", pred, base_pred),
        ("cv_log_loss", proba, base),
    ]


def _interval_rule(y: np.ndarray, groups: np.ndarray | None, s: CVSettings) -> dict[str, Any]:
    unit = "sample" if groups is None else "group"
    smallest = smallest_class(y, groups)
    return {
        "level": LEVEL,
        "unit": unit,
        "smallest_class": smallest,
        "min_per_class": MIN_PER_CLASS,
        "bootstrap": smallest >= MIN_PER_CLASS,
        "rule": f"percentile bootstrap ({s.n_boot} resamples of {unit}s) when every class "
        f"holds {MIN_PER_CLASS} {unit}s and the interval has width; otherwise exact or score "
        "intervals (Clopper-Pearson, Newcombe) for independent samples, else none",
        "comparison": "better or worse only when the paired interval of model - baseline "
        "excludes 0 on that side; otherwise no detectable difference",
    }


def _check_training_folds(
    data: Dataset, y: np.ndarray, classes: list[str], splits: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    for number, (tr, _) in enumerate(splits, start=1):
        missing = [c for i, c in enumerate(classes) if not (y[tr] == i).any()]
        if missing:
            message = f"outer training fold {number} has no sample of class {missing[0]!r}"
            raise BiopsyInputError(
                [cell_problem(data.source, None, data.group_column or "", message)]
            )


def _collect(
    folds: list[dict[str, Any]], n: int, k: int, task: Task
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold probabilities (model, baseline), calls at the operating point, panel
    scores and the outer fold of every sample."""
    proba = np.zeros((n, k))
    base = np.zeros_like(proba)
    hit = np.zeros(n, dtype=bool)
    base_hit = np.zeros(n, dtype=bool)
    panel_p = np.zeros(n)
    fold_of = np.zeros(n, dtype=int)
    for number, f in enumerate(folds):
        proba[f["test"]] = f["proba"]
        base[f["test"]] = f["base_proba"]
        fold_of[f["test"]] = number
        if task == "diagnosis":
            hit[f["test"]] = f["proba"][:, 1] >= f["threshold"]
            base_hit[f["test"]] = f["base_proba"][:, 1] >= f["base_threshold"]
            if "panel_proba" in f:
                panel_p[f["test"]] = f["panel_proba"]
    return proba, base, hit, base_hit, panel_p, fold_of


def _header(
    data: Dataset,
    task: Task,
    y: np.ndarray,
    classes: list[str],
    groups: np.ndarray | None,
    s: CVSettings,
    fold_counts: tuple[int, int, int],
    folds: list[dict[str, Any]],
    selection: Selection,
) -> dict[str, Any]:
    """Cohort, CV settings and the models chosen (per outer fold and kept)."""
    outer, inner, final_inner = fold_counts
    return {
        "task": task,
        "n_samples": len(y),
        "n_analytes": data.values.shape[1],
        "classes": classes,
        "class_counts": {c: int((y == i).sum()) for i, c in enumerate(classes)},
        "cv": {
            "outer_folds": outer,
            "inner_folds": inner,
            "seed": s.seed,
            "bootstrap": s.n_boot,
            "group": data.group_column if groups is not None else None,
            "n_groups": int(groups.max()) + 1 if groups is not None else None,
            "bootstrap_unit": "group" if groups is not None else "sample",
            "selection": "lowest pooled inner-CV log-loss; ties go to the simpler model",
            "families": list(s.families),
            "c_grid": list(s.c_grid),
            "k_grid": list(s.k_grid),
            "svm_c_grid": list(s.svm_c_grid),
            "ensembles": s.ensembles,
            "normalisation": type(default_normaliser(data.kind, s.normalisation)).__name__
            + (f" ({s.normalisation})" if s.normalisation else ""),
        },
        "fold_models": [
            {"model": f["model"], "inner_log_loss": f["inner_log_loss"]} for f in folds
        ],
        "final_model": selection.name,
        "final_choice": "chosen by inner-CV log-loss"
        if final_inner >= 2
        else "defaults: too few samples to tune by inner CV",
        "final_inner_log_loss": selection.scores,
    }


def _panel_metrics(
    folds: list[dict[str, Any]],
    final: dict[str, Any],
    y: np.ndarray,
    panel_p: np.ndarray,
    groups: np.ndarray | None,
    s: CVSettings,
) -> dict[str, Any]:
    """The sparse panel: its out-of-fold AUC, the panel each outer fold chose and how often
    each analyte was chosen, and the panel fitted on all data."""
    chosen = [f["panel"] for f in folds]
    freq = pd.Series([a for panel in chosen for a in panel]).value_counts()
    return {
        "cv_auc": interval(METRICS["cv_auc"], y, panel_p, s.n_boot, s.seed, groups),
        "fold_panels": chosen,
        "selection_frequency": {str(k): int(v) for k, v in freq.items()},
        "features": final["panel"],
        "steps": final["steps"],
    }


def fit_classifier(
    data: Dataset,
    task: Task = "diagnosis",
    settings: CVSettings | None = None,
    positive: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FitResult:
    """Nested CV (outer: metrics; inner: model choice, tuning, threshold and panel search),
    the plain baseline on the same folds, then a final choice and fit on all data;
    ``progress(done, total)`` after each outer fold and the final fit."""
    s = settings or CVSettings()
    _check_labels(data, task)
    assert data.labels is not None
    X = data.values
    how = ""
    if task == "diagnosis":
        case, how = data.positive_choice(positive)
        classes = [c for c in data.classes if c != case] + [case]
    else:
        classes = data.classes
    y = np.array([classes.index(v) for v in data.labels])
    k = len(classes)
    groups = _group_array(data)
    outer, inner, final_inner, warn = _fold_counts(data, y, groups, classes, s)
    splits = _split(y, groups, outer, s.seed)
    _check_training_folds(data, y, classes, splits)
    jobs = [
        delayed(_outer_fold)(X, y, groups, tr, te, data.kind, task, s, inner, k)
        for tr, te in splits
    ]
    jobs.append(delayed(_final_fit)(X, y, groups, data.kind, task, s, final_inner, k))
    runs = []
    for run in Parallel(n_jobs=s.n_jobs, return_as="generator")(jobs):
        runs.append(run)
        if progress:
            progress(len(runs), len(jobs))
    *folds, final = runs
    proba, base, hit, base_hit, panel_p, fold_of = _collect(folds, len(y), k, task)
    selection: Selection = final["selection"]
    metrics = _header(
        data, task, y, classes, groups, s, (outer, inner, final_inner), folds, selection
    )
    metrics["warnings"] = warn
    if task == "diagnosis":
        metrics["positive_class"] = classes[1]
        metrics["positive_class_reason"] = how
    compared = (
        _diagnosis(metrics, y, proba, base, hit, base_hit, folds, s)
        if task == "diagnosis"
        else _subtype(metrics, y, proba, base, classes)
    )
    metrics["intervals"] = _interval_rule(y, groups, s)
    for key, ours, theirs in compared:
        metrics[key], metrics["baseline"][key], metrics["baseline"]["delta"][key] = compare(
            METRICS[key], y, ours, theirs, s.n_boot, s.seed, groups
        )
    if task == "diagnosis" and s.panel_max > 0:
        metrics["panel"] = _panel_metrics(folds, final, y, panel_p, groups, s)
    oof = pd.DataFrame(proba, index=X.index, columns=[f"p_{c}" for c in classes])
    oof.insert(0, "label", [classes[i] for i in y])
    oof.insert(1, "fold", fold_of + 1)
    return FitResult(
        task,
        metrics,
        oof,
        final["model"],
        list(X.columns),
        classes,
        selection.threshold,
        final.get("panel", []),
        final.get("steps", []),
        base[:, 1] if task == "diagnosis" else None,
    )
