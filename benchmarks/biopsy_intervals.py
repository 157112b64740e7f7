"""Coverage of the 95% intervals of exotwin.biopsy.metrics by class size (simulation).

For m samples per class it draws data sets with a known sensitivity or AUC and counts how
often each interval holds the truth: the percentile bootstrap over samples (as the classifier
resamples), the same with the exact/score interval where the bootstrap has zero width, and the
exact/score interval alone (Clopper–Pearson; Newcombe for AUC). The smallest m at which the
bootstrap rule stays near 95% sets ``MIN_PER_CLASS``. Prints a table, then one JSON line.

    python benchmarks/biopsy_intervals.py [replicates]
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy import stats

from exotwin.biopsy.metrics import MIN_PER_CLASS, auc, auc_interval, clopper_pearson

SIZES = (5, 10, 15, 20, 30, 50)
N_BOOT = 500


def _boot_sensitivity(hit: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=N_BOOT)
    pos = counts[:, y == 1]
    total = pos.sum(axis=1)
    keep = total > 0
    return np.asarray((pos[keep] @ hit[y == 1]) / total[keep])


def _boot_auc(score: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    counts = rng.multinomial(len(y), np.full(len(y), 1 / len(y)), size=N_BOOT)
    a, b = score[y == 1], score[y == 0]
    wins = (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])
    cp, cn = counts[:, y == 1], counts[:, y == 0]
    keep = (cp.sum(axis=1) > 0) & (cn.sum(axis=1) > 0)
    cp, cn = cp[keep], cn[keep]
    return np.asarray(np.einsum("bi,ij,bj->b", cp, wins, cn) / (cp.sum(1) * cn.sum(1)))


def _covers(low: float, high: float, truth: float) -> bool:
    return low <= truth <= high


def _one(kind: str, truth: float, m: int, rng: np.random.Generator) -> tuple[bool, bool, bool]:
    y = np.repeat([1, 0], m)
    if kind == "sensitivity":
        hit = (rng.random(2 * m) < truth).astype(float)
        point = float(hit[y == 1].mean())
        boot = _boot_sensitivity(hit, y, rng)
        exact = clopper_pearson(int(hit[y == 1].sum()), m)
    else:
        shift = np.sqrt(2) * stats.norm.ppf(truth)
        score = rng.normal(0, 1, 2 * m) + shift * y
        point = auc(y, score)
        boot = _boot_auc(score, y, rng)
        exact = auc_interval(point, m, m)
    low, high = np.percentile(boot, [2.5, 97.5])
    plain = _covers(low, high, truth)
    rule = plain if high - low > 1e-12 else _covers(*exact, truth)
    return plain, rule, _covers(*exact, truth)


def main() -> None:
    replicates = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    rng = np.random.default_rng(0)
    rows = []
    print("metric       truth  m/class  bootstrap  bootstrap+exact-if-flat  exact/score")
    for kind, truths in (("sensitivity", (0.7, 0.9)), ("auc", (0.75, 0.9))):
        for truth in truths:
            for m in SIZES:
                hits = np.array([_one(kind, truth, m, rng) for _ in range(replicates)])
                plain, rule, exact = (float(v) for v in hits.mean(axis=0))
                rows.append(
                    {"metric": kind, "truth": truth, "m": m, "bootstrap": plain, "rule": rule}
                    | {"exact": exact}
                )
                print(f"{kind:12s} {truth:5.2f}  {m:7d}  {plain:9.3f}  {rule:23.3f}  {exact:11.3f}")
    print(json.dumps({"min_per_class": MIN_PER_CLASS, "replicates": replicates, "rows": rows}))


if __name__ == "__main__":
    main()
