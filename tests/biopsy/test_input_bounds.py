"""Expression values beyond any measurement are refused when the table loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.biopsy.errors import BiopsyInputError
from exotwin.biopsy.readers import read_data

from .conftest import signal_frame


def test_a_value_beyond_any_measurement_is_refused(tmp_path: Path) -> None:
    # 1e300 crashed the SVM fit with "dual coefficients are not finite" (a traceback)
    frame = signal_frame(n=24, p=4)
    frame.iloc[3, 2] = 1e300
    frame.to_csv(tmp_path / "huge.csv", index=False)
    with pytest.raises(BiopsyInputError, match=r"huge\.csv:5: column 'hsa-miR-2': value beyond"):
        read_data(tmp_path / "huge.csv", label="group")
