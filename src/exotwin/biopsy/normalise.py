"""Normalisation as scikit-learn transformers, so that every fit happens inside CV folds.

- :class:`LogSignal`: array signal already on a log2 scale, as is or quantile-normalised;
- :class:`DeltaCt`: qPCR Ct → −ΔCt against reference RNAs or the global mean (higher = more);
- :class:`CountNormaliser`: read counts → log2 CPM, TMM or DESeq2 size factors (pydeseq2),
  after low-count filtering.

All take and return samples × analytes; :func:`spike_in_qc` flags outlying spike-in Cts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, TransformerMixin

from .errors import BiopsyInputError, Problem
from .names import analyte_class

_NOFILE = Path("<data>")

__all__ = ["CountNormaliser", "DeltaCt", "LogSignal", "default_normaliser", "spike_in_qc"]


class _Named(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Remembers input column names; ``kept_`` are the output columns."""

    kept_: list[str]

    def _frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X.astype(float)
        names = getattr(self, "columns_", None) or [f"x{i}" for i in range(np.shape(X)[1])]
        return pd.DataFrame(np.asarray(X, dtype=float), columns=names)

    def _remember(self, frame: pd.DataFrame) -> None:
        self.columns_ = [str(c) for c in frame.columns]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.kept_, dtype=object)


class LogSignal(_Named):
    """Log-scale signal as is (``log2=True`` takes log2 first), optionally quantile-normalised
    to the mean sorted profile of the training samples."""

    def __init__(self, quantile: bool = False, log2: bool = False) -> None:
        self.quantile = quantile
        self.log2 = log2

    def _prepare(self, X: Any) -> np.ndarray:
        values = self._frame(X).to_numpy()
        return np.log2(np.clip(values, 1e-12, None)) if self.log2 else values

    def fit(self, X: Any, y: Any = None) -> LogSignal:
        frame = self._frame(X)
        self._remember(frame)
        self.kept_ = list(self.columns_)
        if self.quantile:
            self.reference_ = np.sort(self._prepare(frame), axis=1).mean(axis=0)
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = self._prepare(X)
        if not self.quantile:
            return values
        grid = np.arange(values.shape[1], dtype=float)
        ranks = rankdata(values, axis=1) - 1.0  # ties share the mean of their quantiles
        return np.interp(ranks, grid, self.reference_)


class DeltaCt(_Named):
    """−ΔCt per miRNA: reference Ct (mean of reference RNAs, or the sample's mean miRNA Ct)
    minus the miRNA's Ct. Undetected (missing) Cts count as ``max_ct``; miRNAs detected in
    fewer than ``min_detected`` of the training samples are dropped."""

    def __init__(
        self,
        method: Literal["global_mean", "reference"] = "global_mean",
        references: tuple[str, ...] | None = None,
        max_ct: float = 40.0,
        min_detected: float = 0.5,
    ) -> None:
        self.method = method
        self.references = references
        self.max_ct = max_ct
        self.min_detected = min_detected

    def fit(self, X: Any, y: Any = None) -> DeltaCt:
        frame = self._frame(X)
        self._remember(frame)
        detected = (frame.notna() & (frame < self.max_ct)).mean(axis=0)
        mirnas = [c for c in frame.columns if analyte_class(c) == "mirna"]
        self.kept_ = [c for c in mirnas if detected[c] >= self.min_detected]
        if not self.kept_:
            raise BiopsyInputError(
                [Problem(_NOFILE, None, "", "no miRNA detected in enough samples for ΔCt")]
            )
        refs = self.references or tuple(c for c in frame.columns if analyte_class(c) == "reference")
        self.references_ = [c for c in refs if c in frame.columns]
        if self.method == "reference" and not self.references_:
            raise BiopsyInputError(
                [Problem(_NOFILE, None, "", "ΔCt against reference RNAs: none measured")]
            )
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = self._frame(X)
        ct = frame.fillna(self.max_ct).clip(upper=self.max_ct)
        if self.method == "reference":
            reference = frame[self.references_].mean(axis=1)  # NaN when all undetected
            fallback = ct[self.kept_].mean(axis=1)
            reference = reference.fillna(fallback)
        else:
            reference = ct[self.kept_].mean(axis=1)
        return (reference.to_numpy()[:, None] - ct[self.kept_].to_numpy()).astype(float)


class CountNormaliser(_Named):
    """Counts → log2 normalised abundance; features kept when at least ``min_count`` reads in
    at least ``min_fraction`` of the training samples."""

    def __init__(
        self,
        method: Literal["tmm", "cpm", "deseq2"] = "tmm",
        min_count: float = 10.0,
        min_fraction: float = 0.5,
    ) -> None:
        self.method = method
        self.min_count = min_count
        self.min_fraction = min_fraction

    def fit(self, X: Any, y: Any = None) -> CountNormaliser:
        frame = self._frame(X)
        self._remember(frame)
        keep = (frame >= self.min_count).mean(axis=0) >= self.min_fraction
        self.kept_ = [c for c in frame.columns if keep[c]]
        if not self.kept_:
            raise BiopsyInputError(
                [
                    Problem(
                        _NOFILE,
                        None,
                        "",
                        f"no analyte has {self.min_count:g}+ reads in "
                        f"{self.min_fraction:.0%} of the samples",
                    )
                ]
            )
        counts = frame[self.kept_].to_numpy()
        if self.method == "tmm":
            libs = frame.to_numpy().sum(axis=1)
            upper = np.quantile(counts / libs[:, None], 0.75, axis=1)
            ref = int(np.argmin(np.abs(upper - upper.mean())))
            self.ref_counts_, self.ref_lib_ = counts[ref], float(libs[ref])
            factors = np.array([self._tmm(c, float(n)) for c, n in zip(counts, libs, strict=True)])
            self.scale_ = float(np.exp(np.mean(np.log(factors))))
        elif self.method == "deseq2":
            from pydeseq2.preprocessing import deseq2_norm_fit

            if not (counts > 0).all(axis=0).any():
                raise BiopsyInputError(
                    [
                        Problem(
                            _NOFILE,
                            None,
                            "",
                            "DESeq2 size factors need an analyte counted in every sample",
                        )
                    ]
                )
            self.logmeans_, self.filtered_ = deseq2_norm_fit(counts)
        return self

    def _tmm(self, obs: np.ndarray, lib: float) -> float:
        """edgeR's TMM factor of one sample against the reference (trim 30% M, 5% A)."""
        ref, nref = self.ref_counts_, self.ref_lib_
        ok = (obs > 0) & (ref > 0)
        if ok.sum() < 3 or lib <= 0:
            return 1.0
        o, r = obs[ok] / lib, ref[ok] / nref
        m = np.log2(o / r)
        a = 0.5 * np.log2(o * r)
        var = (lib - obs[ok]) / lib / obs[ok] + (nref - ref[ok]) / nref / ref[ok]
        n = len(m)
        lo_m, hi_m = np.floor(n * 0.3) + 1, n + 1 - (np.floor(n * 0.3) + 1)
        lo_a, hi_a = np.floor(n * 0.05) + 1, n + 1 - (np.floor(n * 0.05) + 1)
        rm, ra = rankdata(m), rankdata(a)
        keep = (rm >= lo_m) & (rm <= hi_m) & (ra >= lo_a) & (ra <= hi_a)
        if not keep.any():
            return 1.0
        return float(2 ** (np.sum(m[keep] / var[keep]) / np.sum(1 / var[keep])))

    def transform(self, X: Any) -> np.ndarray:
        frame = self._frame(X)
        counts = frame[self.kept_].to_numpy()
        if self.method == "deseq2":
            from pydeseq2.preprocessing import deseq2_norm_transform

            normed, _ = deseq2_norm_transform(counts, self.logmeans_, self.filtered_)
            return np.log2(np.asarray(normed, dtype=float) + 1.0)
        libs = frame.to_numpy().sum(axis=1)
        if self.method == "tmm":
            factors = np.array([self._tmm(c, float(n)) for c, n in zip(counts, libs, strict=True)])
            libs = libs * factors / self.scale_
        return np.log2((counts + 0.5) / (libs[:, None] + 1.0) * 1e6)


def default_normaliser(kind: str, method: str | None = None) -> _Named:
    """The normaliser for a data kind; ``method`` picks a variant (quantile, reference, cpm...)."""
    if kind == "ct":
        return DeltaCt(method="reference" if method == "reference" else "global_mean")
    if kind == "counts":
        return CountNormaliser(method=method if method in {"cpm", "deseq2"} else "tmm")  # type: ignore[arg-type]
    return LogSignal(quantile=method == "quantile")


def spike_in_qc(ct: pd.DataFrame, max_deviation: float = 2.0) -> pd.DataFrame:
    """Per sample and spike-in: Ct, deviation from the median over samples, and a flag when
    the spike-in is missing or deviates by more than ``max_deviation`` cycles."""
    spikes = [c for c in ct.columns if analyte_class(c) == "spike-in"]
    rows = []
    for spike in spikes:
        median = float(ct[spike].median())
        for sample, value in ct[spike].items():
            deviation = float(value - median) if pd.notna(value) else float("nan")
            flagged = bool(pd.isna(value) or abs(deviation) > max_deviation)
            rows.append((sample, spike, float(value), deviation, flagged))
    return pd.DataFrame(rows, columns=["sample", "spike_in", "ct", "deviation", "flagged"])
