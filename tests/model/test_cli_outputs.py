"""``exotwin simulate`` / ``exotwin scenarios``: outputs on disk, all or nothing."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.model.scenario import outputs

from .conftest import SMALL_SCENARIO, write

runner = CliRunner()


def test_simulate_writes_timeseries_summary_and_report(tmp_path: Path) -> None:
    scenario = write(tmp_path, SMALL_SCENARIO)
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", str(scenario), "--out", str(out), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "PASS more-cafs-with-exosomes" in result.output
    with (out / "timeseries.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["arm", "day", "caf_fraction", "fibroblasts"]
    assert {r[0] for r in rows[1:]} == {"exosomes", "no-release"}
    assert len(rows) == 1 + 2 * 11  # days 0..10 for both arms
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["seed"] == 7 and summary["passed"] is True
    [check] = summary["checks"]
    assert check["left"]["value"] > check["right"]["value"]
    [rule] = summary["rules"]
    assert rule["record"] == "s000.mir9-nf-to-caf" and rule["reference"] == "[55]"
    assert rule["parameters"]["half_max"]["source"].startswith("assumption")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in report and "s000.mir9-nf-to-caf" in report and "[55]" in report


def test_a_failing_check_exits_one(tmp_path: Path) -> None:
    text = SMALL_SCENARIO.replace('op: ">"', 'op: "<"')
    result = runner.invoke(
        app, ["simulate", str(write(tmp_path, text)), "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 1 and "FAIL more-cafs-with-exosomes" in result.output


def test_bad_scenario_leaves_no_output(tmp_path: Path) -> None:
    text = SMALL_SCENARIO.replace("{cell: fibroblast,", "{cell: fibroblest,")
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", str(write(tmp_path, text)), "--out", str(out)])
    assert result.exit_code == 1
    assert "populations.1.cell: unknown cell type 'fibroblest'" in result.output
    assert not out.exists()


def test_failure_while_writing_leaves_no_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(outputs, "report_html", broken)
    out = tmp_path / "run"
    result = runner.invoke(
        app, ["simulate", str(write(tmp_path, SMALL_SCENARIO)), "--out", str(out)]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "exotwin failed unexpectedly (RuntimeError: disk full); full traceback in" in (
        result.output
    )
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_scenarios_list_and_check() -> None:
    listed = runner.invoke(app, ["scenarios", "list"])
    assert listed.exit_code == 0 and "tnbc-doxorubicin-exosomal-resistance" in listed.output
    checked = runner.invoke(app, ["scenarios", "check", "nf-to-caf-mir9-mir125b"])
    assert checked.exit_code == 0, checked.output
    missing = runner.invoke(app, ["scenarios", "check", "no-such-scenario"])
    assert missing.exit_code == 1 and "no scenario file or shipped scenario" in missing.output


# ------------------------------------------------------------ outputs that never destroy

TISSUE = """\
id: tiny-tissue
title: a tiny 2D tissue
mechanisms: {rules: [mir9-caf]}
tissue:
  dimensions: 2
  domain: [200, 200]
  voxel: 20
  dt_diffusion: 0.2
  dt_mechanics: 0.2
  dt_phenotype: 6
  cells:
    - {cell: bc_tnbc, count: 10, layout: spheroid, radius: 30}
    - {cell: fibroblast, count: 10, layout: shell, inner_radius: 40, radius: 90}
arms: [{name: a}, {name: b, interventions: [{type: release_inhibitor, efficacy: 1.0}]}]
duration: 0.5
output_every: 0.25
readouts:
  - {name: fibroblasts, kind: count, of: {cell: fibroblast}}
"""


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _hidden(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_simulate_never_deletes_what_it_did_not_write(tmp_path: Path) -> None:
    scenario = str(write(tmp_path, SMALL_SCENARIO))
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    refused = runner.invoke(app, ["simulate", scenario, "--out", str(out)])
    assert refused.exit_code == 1 and _files(out) == ["notes.txt"]
    assert refused.output.startswith("OutputError: ") and len(refused.output.splitlines()) == 1
    assert "not written by exotwin" in refused.output and "--overwrite" in refused.output
    written = runner.invoke(app, ["simulate", scenario, "--out", str(out), "--overwrite"])
    assert written.exit_code == 0, written.output
    expected = [".exotwin-manifest.json", "notes.txt", "report.html", "summary.json"]
    assert _files(out) == sorted([*expected, "timeseries.csv"])
    again = runner.invoke(app, ["simulate", scenario, "--out", str(out)])  # exotwin's folder now
    assert again.exit_code == 0 and (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not [h for h in _hidden(tmp_path) if h.startswith(".run")]


@pytest.mark.parametrize("where", [".", "home", "repository"])
def test_simulate_refuses_dangerous_folders(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = write(tmp_path, SMALL_SCENARIO)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    out = {".": ".", "home": str(tmp_path / "home"), "repository": str(tmp_path)}[where]
    before = _files(tmp_path)
    result = runner.invoke(app, ["simulate", str(scenario), "--out", out, "--overwrite"])
    assert result.exit_code == 1 and result.output.startswith("OutputError: ")
    assert _files(tmp_path) == before


def test_simulate_into_a_file_or_under_one_is_a_typed_error(tmp_path: Path) -> None:
    scenario = str(write(tmp_path, SMALL_SCENARIO))
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["simulate", scenario, "--out", str(tmp_path / "file")])
    assert result.exit_code == 1 and "file: is a file; give a folder" in result.output
    result = runner.invoke(app, ["simulate", scenario, "--out", str(tmp_path / "file" / "o")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{tmp_path / 'file' / 'o'}: cannot write output folder: a file stands" in result.output
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"


def test_simulate_in_a_read_only_folder_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def denied(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    scenario = str(write(tmp_path, SMALL_SCENARIO))
    result = runner.invoke(app, ["simulate", scenario, "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"PathError: {tmp_path / 'run'}: cannot write output folder")
    assert "permission denied" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_simulate_into_a_really_read_only_folder(tmp_path: Path) -> None:
    scenario = str(write(tmp_path, SMALL_SCENARIO))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = runner.invoke(app, ["simulate", scenario, "--out", str(locked / "run")])
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 1 and "permission denied" in result.output


def test_tissue_rerun_drops_stale_arms_and_keeps_the_users_files(tmp_path: Path) -> None:
    scenario = str(write(tmp_path, TISSUE))
    out = tmp_path / "tissue"
    first = runner.invoke(app, ["tissue", scenario, "--out", str(out), "--no-plots"])
    assert first.exit_code == 0, first.output
    assert (out / "b" / "cells_day0.parquet").is_file()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "b" / "my-sketch.png").write_text("mine", encoding="utf-8")
    again = runner.invoke(app, ["tissue", scenario, "--out", str(out), "--no-plots", "--arm", "a"])
    assert again.exit_code == 0, again.output
    assert _files(out / "b") == ["my-sketch.png"]  # the stale arm's outputs are gone
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "a" / "cells_day0p5.parquet").is_file()


def test_an_interrupted_tissue_run_leaves_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exotwin.model.tissue.engine import TissueModel

    scenario = str(write(tmp_path, TISSUE))
    out = tmp_path / "tissue"
    assert runner.invoke(app, ["tissue", scenario, "--out", str(out), "--no-plots"]).exit_code == 0
    before = {name: (out / name).read_bytes() for name in _files(out)}
    original = TissueModel.advance
    calls: list[float] = []

    def interrupted(self: TissueModel, minutes: float, *progress: object) -> None:
        calls.append(minutes)
        if len(calls) > 1:
            raise KeyboardInterrupt
        original(self, minutes, *progress)  # type: ignore[arg-type]

    monkeypatch.setattr(TissueModel, "advance", interrupted)
    result = runner.invoke(
        app, ["tissue", scenario, "--out", str(out), "--no-plots", "--seed", "3"]
    )
    assert result.exit_code == 130  # interrupted (Ctrl-C)
    assert {name: (out / name).read_bytes() for name in _files(out)} == before
    assert not [h for h in _hidden(tmp_path) if h.startswith(".tissue")]
    fresh = tmp_path / "fresh"
    runner.invoke(app, ["tissue", scenario, "--out", str(fresh), "--no-plots"])
    assert not fresh.exists()  # no day-0 files of a run that did not finish


KILLED_TISSUE = """
import sys, time
from exotwin.model.tissue.engine import TissueModel

def slow(self, minutes, progress=None):
    print("ready", file=sys.stderr, flush=True)
    time.sleep(60)

TissueModel.advance = slow
from exotwin.cli import main
sys.argv = ["exotwin", "tissue", *sys.argv[1:]]
main()
"""


def interruptible() -> None:
    """In the child: SIGINT back to its default (a shell that starts the tests in the
    background ignores SIGINT, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_killed_tissue_command_leaves_the_previous_output(signum: int, tmp_path: Path) -> None:
    scenario = str(write(tmp_path, TISSUE))
    out = tmp_path / "tissue"
    assert runner.invoke(app, ["tissue", scenario, "--out", str(out), "--no-plots"]).exit_code == 0
    before = {name: (out / name).read_bytes() for name in _files(out)}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, "-c", KILLED_TISSUE, scenario, "--out", str(out), "--no-plots"]
    with subprocess.Popen(
        args, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=interruptible
    ) as proc:
        assert proc.stderr is not None
        while (line := proc.stderr.readline()) and line.strip() != "ready":
            pass
        assert [h for h in _hidden(tmp_path) if h.startswith(".tissue")]  # staging in use
        proc.send_signal(signum)
        assert proc.wait(timeout=60) != 0
        assert "Traceback" not in proc.stderr.read()
    assert {name: (out / name).read_bytes() for name in _files(out)} == before
    assert not [h for h in _hidden(tmp_path) if h.startswith(".tissue")]


def test_sensitivity_refuses_a_foreign_folder_and_keeps_notes(tmp_path: Path) -> None:
    out = tmp_path / "sobol"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    args = ["sensitivity", "nf-to-caf-mir9-mir125b", "--arm", "exosomes", "--readout"]
    args += ["caf_fraction", "--day", "10", "--method", "morris", "--n", "2", "--out", str(out)]
    args += ["--parameters", "rule_max_rate,rule_half_max"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "not written by exotwin" in refused.output
    written = runner.invoke(app, [*args, "--overwrite"])
    assert written.exit_code == 0, written.output
    assert _files(out) == [
        ".exotwin-manifest.json",
        "indices.csv",
        "indices.json",
        "notes.txt",
        "plot.png",
    ]


def test_export_sbml_to_a_folder_is_a_typed_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "sbml", "nf-to-caf-mir9-mir125b", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"OutputError: {tmp_path}: is a folder; give a file name")


@pytest.mark.parametrize("command", ["sweep", "cohort"])
def test_sweeps_refuse_a_foreign_folder(command: str, tmp_path: Path) -> None:
    spec = Path(__file__).parents[2] / "src/exotwin/model/data/cohorts"
    spec = next(spec.glob("*.yaml"))
    out = tmp_path / "cohort"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, [command, str(spec), "--out", str(out)])
    assert result.exit_code == 1 and "not written by exotwin" in result.output
    assert _files(out) == ["notes.txt"]


def test_tissue_into_a_file_is_a_typed_error(tmp_path: Path) -> None:
    # was a NotADirectoryError traceback
    scenario = str(write(tmp_path, TISSUE))
    (tmp_path / "file").write_text("x", encoding="utf-8")
    for out in (tmp_path / "file", tmp_path / "file" / "o"):
        result = runner.invoke(app, ["tissue", scenario, "--out", str(out), "--no-plots"])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert result.stderr.startswith(f"OutputError: {out}: is a file") or (
            result.stderr.startswith(f"PathError: {out}: cannot write output folder")
        )
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"
