"""``exotwin biopsy fit|de|predict`` never delete what exotwin did not write."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app

from .conftest import signal_frame

runner = CliRunner()
QUICK = ["--outer-folds", "2", "--inner-folds", "2", "--bootstrap", "20", "--panel", "0"]


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "signal.csv"
    signal_frame(n=24, p=4).to_csv(path, index=False)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("command", ["fit", "de"])
def test_a_rerun_keeps_the_users_notes(command: str, tmp_path: Path, small_csv: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    args = ["biopsy", command, str(small_csv), "--label", "group", "--out", str(out)]
    args += QUICK if command == "fit" else []
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and _files(out) == ["notes.txt"]
    assert refused.stderr.startswith("OutputError: ") and "--overwrite" in refused.stderr
    written = runner.invoke(app, [*args, "--overwrite"])
    assert written.exit_code == 0, written.output
    again = runner.invoke(app, args)  # exotwin's folder now: no --overwrite needed
    assert again.exit_code == 0, again.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert ".exotwin-manifest.json" in _files(out) and "de.csv" in _files(out)


def test_predict_into_a_folder_is_a_typed_error(tmp_path: Path, small_csv: Path) -> None:
    model = tmp_path / "model"
    fit = ["biopsy", "fit", str(small_csv), "--label", "group", "--out", str(model), *QUICK]
    assert runner.invoke(app, fit).exit_code == 0
    result = runner.invoke(app, ["biopsy", "predict", str(model), str(small_csv), "--out", "/"])
    assert (
        result.exit_code == 1
        and result.stderr == "OutputError: /: is a folder; give a file name to write\n"
    )
    missing = runner.invoke(
        app, ["biopsy", "predict", str(tmp_path / "nope"), str(small_csv), "--out", "p.csv"]
    )
    assert missing.exit_code == 1 and "missing from the model folder" in missing.stderr
