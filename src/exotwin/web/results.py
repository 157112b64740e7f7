"""A finished job's outputs as the pages chart them (read back from the output folder)."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..knowledge import KnowledgeBase
from ..model import Scenario
from ..model.display import intervention_marks, readout_title, readout_unit
from .errors import ApiError

SNAPSHOT = re.compile(r"^cells_day(\d+(?:p\d+)?)\.parquet$")
MAX_CELLS = 20000


def finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null (JSON has neither)."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(path: Path) -> Any:
    return finite(json.loads(path.read_text(encoding="utf-8")))


def series(path: Path) -> dict[str, dict[str, list[float | None]]]:
    """``timeseries.csv`` as arm → column → values (first column after arm: time in days)."""
    out: dict[str, dict[str, list[float | None]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for row in reader:
            columns = out.setdefault(row[0], {name: [] for name in ["day", *header[2:]]})
            for name, value in zip(["day", *header[2:]], row[1:], strict=True):
                number = float(value) if value else math.nan
                columns[name].append(number if math.isfinite(number) else None)
    return out


def doses(sc: Scenario, kb: KnowledgeBase | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per arm, the days of scheduled interventions (drug doses, exosome doses, surgery, a
    treatment's start), as the report marks them."""
    return {
        arm.name: [
            {"day": m.day, "label": m.label} for m in intervention_marks(kb, arm, sc.duration)
        ]
        for arm in sc.arms
    }


def scenario_result(
    output: Path, sc: Scenario, solver: str, kb: KnowledgeBase | None = None
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "summary": _json(output / "summary.json"),
        "series": series(output / "timeseries.csv"),
        "readouts": [
            {
                "name": r.name,
                "kind": r.kind,
                "unit": readout_unit(r),
                "description": r.description,
                "title": readout_title(kb, r) if kb is not None else r.description or r.name,
            }
            for r in sc.readouts
        ],
        "doses": doses(sc, kb),
    }
    if solver == "tissue":
        result["snapshots"] = {
            arm.name: sorted(
                float(m.group(1).replace("p", "."))
                for p in arm.glob("cells_day*.parquet")
                if (m := SNAPSHOT.match(p.name))
            )
            for arm in sorted(output.iterdir())
            if arm.is_dir()
        }
    return result


def biopsy_result(output: Path) -> dict[str, Any]:
    return {
        "metrics": _json(output / "metrics.json"),
        "features": _json(output / "features.json"),
        "roc": _json(output / "roc.json"),
    }


def predict_result(output: Path, limit: int = 200) -> dict[str, Any]:
    with (output / "predictions.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {"count": len(rows), "predictions": rows[:limit]}


def _label(day: float) -> str:
    return f"day{day:g}".replace(".", "p")


def snapshot(output: Path, arm: str, day: float) -> dict[str, Any]:
    """Cells (x, y, type, phase) and each field's mid-plane of one tissue snapshot."""
    import pyarrow.parquet as pq

    arms = {p.name: p for p in output.iterdir() if p.is_dir()}
    if arm not in arms:
        raise ApiError(404, "arm", f"no snapshots of arm {arm!r}", "unknown_snapshot")
    cells_path = arms[arm] / f"cells_{_label(day)}.parquet"
    fields_path = arms[arm] / f"fields_{_label(day)}.npz"
    if not cells_path.is_file() or not fields_path.is_file():
        raise ApiError(404, "day", f"no snapshot of arm {arm!r} on day {day:g}", "unknown_snapshot")
    table = pq.read_table(cells_path, columns=["x", "y", "cell", "phase"]).slice(0, MAX_CELLS)
    cells = {name: table.column(name).to_pylist() for name in ("x", "y", "cell", "phase")}
    cells["x"] = [round(v, 1) for v in cells["x"]]
    cells["y"] = [round(v, 1) for v in cells["y"]]
    fields: dict[str, list[list[float]]] = {}
    with np.load(fields_path) as npz:
        lower, dx = npz["lower"].tolist(), float(npz["dx"])
        for name in npz.files:
            if name not in {"lower", "dx", "minute"}:
                grid = npz[name]
                plane = grid[grid.shape[0] // 2] if grid.ndim == 3 else grid
                fields[name] = [[float(f"{v:.4g}") for v in row] for row in plane.tolist()]
    return {"arm": arm, "day": day, "cells": cells, "fields": fields, "lower": lower, "dx": dx}
