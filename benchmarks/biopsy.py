"""Benchmark: nested-CV diagnosis fit on the 3,180 × 100 GSE73002 train file (goal < 30 s on
2 cores). Prints the metrics against the plain logistic-regression baseline on the same folds
(paired bootstrap differences), then one JSON object on the last line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from exotwin.biopsy.classify import CVSettings, fit_classifier
from exotwin.biopsy.readers import read_data

DATA = Path(__file__).resolve().parents[2] / "shared/data/gse73002_serum_mirna_train.csv"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    start = time.perf_counter()
    data = read_data(path, label="breast cancer")
    result = fit_classifier(data, "diagnosis", CVSettings(n_jobs=2))
    seconds = time.perf_counter() - start
    m = result.metrics
    print(f"model {m['final_model']}")
    compared = {}
    for key, delta in m["baseline"]["delta"].items():
        ours, theirs = m[key]["value"], m["baseline"][key]["value"]
        print(
            f"{key} {ours:.5f}  baseline {theirs:.5f}  delta {delta['value']:+.5f} "
            f"[{delta['ci_low']:+.5f}, {delta['ci_high']:+.5f}] ({delta['direction']}: "
            f"{delta['verdict']})"
        )
        compared[key] = {
            "model": round(ours, 5),
            "baseline": round(theirs, 5),
            "delta": round(delta["value"], 5),
            "delta_ci": [round(delta["ci_low"], 5), round(delta["ci_high"], 5)],
            "verdict": delta["verdict"],
        }
    print(f"panel {m['panel']['features']}  cv_auc {m['panel']['cv_auc']}")
    summary = {
        "benchmark": "biopsy_nested_cv_gse73002",
        "samples": m["n_samples"],
        "analytes": m["n_analytes"],
        "outer_folds": m["cv"]["outer_folds"],
        "inner_folds": m["cv"]["inner_folds"],
        "seconds": round(seconds, 2),
        "goal_seconds": 30,
        "model": m["final_model"],
        "cv_auc": round(m["cv_auc"]["value"], 4),
        "baseline_cv_auc": round(m["baseline"]["cv_auc"]["value"], 4),
        "versus_baseline": compared,
        "panel": m["panel"]["features"],
        "panel_cv_auc": round(m["panel"]["cv_auc"]["value"], 4),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
