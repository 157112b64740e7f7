"""Small generated expression files for the biopsy tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exotwin.biopsy.classify import CVSettings

FAST = CVSettings(
    outer_folds=3,
    inner_folds=2,
    c_grid=(0.1, 1.0),
    k_grid=(0,),
    n_boot=100,
    panel_max=2,
    panel_candidates=5,
)


def signal_frame(n: int = 80, p: int = 12, shift: float = 1.5, seed: int = 0) -> pd.DataFrame:
    """Wide table: ``sample``, ``hsa-miR-1..p`` log2 signal, ``group`` (case/control)."""
    rng = np.random.default_rng(seed)
    y = np.array(["case", "control"] * (n // 2))
    x = rng.normal(8.0, 1.0, size=(n, p))
    x[y == "case", :2] += shift
    frame = pd.DataFrame(x, columns=[f"hsa-miR-{i + 1}" for i in range(p)])
    frame.insert(0, "sample", [f"S{i}" for i in range(n)])
    frame["group"] = y
    return frame


@pytest.fixture
def signal_csv(tmp_path: Path) -> Path:
    path = tmp_path / "signal.csv"
    signal_frame().to_csv(path, index=False)
    return path
