"""``exotwin simulate`` / ``exotwin scenarios``: outputs on disk, all or nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.model import outputs

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
    assert rows[0] == ["arm", "time_days", "caf_fraction", "fibroblasts"]
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
    with pytest.raises(RuntimeError, match="disk full"):
        runner.invoke(
            app,
            ["simulate", str(write(tmp_path, SMALL_SCENARIO)), "--out", str(out)],
            catch_exceptions=False,
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
