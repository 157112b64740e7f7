"""Separation check: does one analyte, or the first principal component, split the classes
almost perfectly on its own?

Each analyte's AUC, and the AUC of the first principal component of the standardised values
(found without the labels), are taken direction-free (max(AUC, 1 − AUC)). At or above
:data:`SEPARATION_AUC` the check warns: one serum analyte, or an axis that never saw the
labels, that alone matches the best published multi-miRNA panels (the 5-miRNA index for
GSE73002 reached 0.971 on its test cohort) more often means the groups were collected,
stored, extracted or measured differently (a batch or platform effect) than a disease signal.
In tiny cohorts perfect separation happens by chance; the check shuffles the labels to say
how often, and then says that instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from .normalise import default_normaliser
from .readers import Dataset

SEPARATION_AUC = 0.95
SHUFFLES = 1000
CHANCE = 0.05  # separation seen in at least this fraction of label shuffles counts as chance

__all__ = ["SEPARATION_AUC", "separation_check"]


def _aucs(ranks: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Direction-free AUC of every column (ranks of one column per analyte) for each row of
    ``positive`` (boolean label vectors)."""
    n1 = positive.sum(axis=-1, keepdims=True)
    n0 = positive.shape[-1] - n1
    auc = (positive.astype(float) @ ranks - n1 * (n1 + 1) / 2) / (n1 * n0)
    return np.asarray(np.maximum(auc, 1 - auc))


def _first_component(z: np.ndarray) -> np.ndarray:
    """Scores on the first principal component of the standardised columns."""
    z = z[:, z.std(axis=0) > 0]
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    if z.shape[0] >= z.shape[1]:  # eigenvectors of the smaller Gram matrix (sign is moot)
        _, vectors = np.linalg.eigh(z.T @ z)
        return np.asarray(z @ vectors[:, -1])
    _, vectors = np.linalg.eigh(z @ z.T)
    return np.asarray(vectors[:, -1])


def separation_check(
    data: Dataset, positive: str | None = None, method: str | None = None, seed: int = 0
) -> dict[str, Any] | None:
    """Analytes and PC1 with direction-free AUC ≥ :data:`SEPARATION_AUC` (two classes only,
    on the normalised values), how often label shuffles reach it, and the warning to show
    (None when nothing separates)."""
    if data.labels is None or len(data.classes) != 2:
        return None
    case = data.positive_class(positive)
    normaliser = default_normaliser(data.kind, method)
    z = np.asarray(normaliser.fit_transform(data.values), dtype=float)
    names = [str(n) for n in normaliser.get_feature_names_out()]
    y = (data.labels.to_numpy() == case)[None, :]
    ranks = np.column_stack([rankdata(z, axis=0), rankdata(_first_component(z))])
    observed = _aucs(ranks, y)[0]
    rng = np.random.default_rng(seed)
    shuffled = _aucs(ranks, np.array([rng.permutation(y[0]) for _ in range(SHUFFLES)]))
    chance = {
        "analyte": float((shuffled[:, :-1].max(axis=1) >= SEPARATION_AUC).mean()),
        "pc1": float((shuffled[:, -1] >= SEPARATION_AUC).mean()),
    }
    order = np.argsort(-observed[:-1], kind="stable")
    flagged = [(names[j], float(observed[j])) for j in order if observed[j] >= SEPARATION_AUC]
    out: dict[str, Any] = {
        "threshold": SEPARATION_AUC,
        "case": case,
        "analytes": [{"analyte": n, "auc": a} for n, a in flagged],
        "pc1_auc": float(observed[-1]),
        "chance": chance,
    }
    out["kind"], out["warning"] = _message(flagged, float(observed[-1]), chance, len(y[0]))
    return out


def _message(
    flagged: list[tuple[str, float]], pc1_auc: float, chance: dict[str, float], n: int
) -> tuple[str | None, str | None]:
    """``("batch", warning)`` where shuffled labels rarely separate as well, ``("chance",
    note)`` where they often do, ``(None, None)`` where nothing separates."""
    found = []
    if flagged:
        name, auc = flagged[0]
        more = f" (and {len(flagged) - 1} more analytes)" if len(flagged) > 1 else ""
        found.append((f"{name} alone separates the classes with AUC {auc:.3f}{more}", "analyte"))
    if pc1_auc >= SEPARATION_AUC:
        text = (
            f"the first principal component, which never sees the labels, reaches AUC {pc1_auc:.3f}"
        )
        found.append((text, "pc1"))
    real = [text for text, key in found if chance[key] < CHANCE]
    lucky = [
        f"{text} ({chance[key]:.0%} of label shuffles do as well)"
        for text, key in found
        if chance[key] >= CHANCE
    ]
    if real:
        message = (
            f"near-perfect separation: {'; '.join(real)}. In serum this more often means the "
            "groups were collected, stored, extracted or measured differently (a batch or "
            "platform effect) than a disease signal; check how the samples were obtained "
            "before trusting a model"
        )
        return "batch", message + (f". By chance at n = {n}: {'; '.join(lucky)}" if lucky else "")
    if lucky:
        return "chance", f"separation expected by chance at n = {n}: {'; '.join(lucky)}"
    return None, None
