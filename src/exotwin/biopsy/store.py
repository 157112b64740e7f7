"""Model folders: write a fit all-or-nothing, load it back, predict new samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from ..io import atomic_write, output_folder
from .classify import FitResult
from .errors import BiopsyInputError, cell_problem
from .readers import Dataset

MODEL_FILE = "model.joblib"
FEATURES_FILE = "features.json"

__all__ = ["load_model", "predict", "write_fit", "write_predictions"]


def write_fit(
    result: FitResult,
    data: Dataset,
    out: Path,
    report: str,
    extra: dict[str, Path | str] | None = None,
    overwrite: bool = False,
) -> None:
    """``model.joblib``, ``features.json``, ``metrics.json``, ``oof.csv`` and ``report.html``
    into ``out``, all or nothing, through :func:`exotwin.io.output_folder`."""
    out = Path(out)
    with output_folder(out, overwrite) as staging:
        joblib.dump(result.model, staging / MODEL_FILE)
        spec = {
            "task": result.task,
            "kind": data.kind,
            "features": result.features,
            "classes": result.classes,
            "threshold": result.threshold,
            "label": data.label_column,
            "panel": result.panel,
        }
        (staging / FEATURES_FILE).write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
        (staging / "metrics.json").write_text(
            json.dumps(_finite(result.metrics), indent=1) + "\n", encoding="utf-8"
        )
        result.oof.to_csv(staging / "oof.csv", index_label="sample")
        (staging / "report.html").write_text(report, encoding="utf-8")
        for name, content in (extra or {}).items():
            (staging / name).write_text(str(content), encoding="utf-8")


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and inf become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def load_model(folder: Path | str) -> tuple[Any, dict[str, Any]]:
    """The fitted pipeline and its ``features.json``."""
    folder = Path(folder)
    for name in (MODEL_FILE, FEATURES_FILE):
        if not (folder / name).is_file():
            raise BiopsyInputError(
                [cell_problem(folder / name, None, "", "missing from the model folder")]
            )
    spec = json.loads((folder / FEATURES_FILE).read_text(encoding="utf-8"))
    return joblib.load(folder / MODEL_FILE), spec


def predict(model: Any, spec: dict[str, Any], data: Dataset) -> pd.DataFrame:
    """``sample,predicted,score`` (diagnosis: score = probability of the case class) or
    ``sample,predicted`` plus one probability column per class (subtype)."""
    missing = [f for f in spec["features"] if f not in data.values.columns]
    if missing:
        row = 1 if data.kind == "signal" else None
        raise BiopsyInputError(
            [
                cell_problem(data.source, row, f, "feature of the model is missing from this file")
                for f in missing[:50]
            ]
        )
    proba = model.predict_proba(data.values[spec["features"]])
    classes = spec["classes"]
    table = pd.DataFrame({"sample": data.values.index})
    if spec["task"] == "diagnosis":
        score = proba[:, 1]
        table["predicted"] = np.where(score >= spec["threshold"], classes[1], classes[0])
        table["score"] = score
    else:
        table["predicted"] = [classes[i] for i in proba.argmax(axis=1)]
        for i, c in enumerate(classes):
            table[c] = proba[:, i]
    return table


def write_predictions(table: pd.DataFrame, out: Path | str) -> None:
    """CSV, atomically."""
    atomic_write(out, lambda tmp: table.to_csv(tmp, index=False))
