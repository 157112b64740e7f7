"""The ``exotwin kb`` commands, run through the real CLI entry point."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app

from .helpers import GOOD_MECHANISM

runner = CliRunner()


def test_validate_packaged_graph() -> None:
    result = runner.invoke(app, ["kb", "validate"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ") and "loaded and validated in" in result.output


def test_validate_a_user_file_against_packaged_vocabularies(tmp_path: Path) -> None:
    good = tmp_path / "mine.yaml"
    good.write_text(GOOD_MECHANISM, encoding="utf-8")
    assert runner.invoke(app, ["kb", "validate", str(good)]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        GOOD_MECHANISM.replace("direction: promotes", "direction: maybe"), encoding="utf-8"
    )
    result = runner.invoke(app, ["kb", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"KnowledgeValidationError: {bad}:10: records.0.effects.0.direction:" in result.output


def test_search_table_and_json() -> None:
    table = runner.invoke(app, ["kb", "search", "adriamycin"])
    assert table.exit_code == 0 and "record(s)" in table.output
    as_json = runner.invoke(app, ["kb", "search", "--cargo", "P-gp", "--json"])
    records = json.loads(as_json.output)
    assert records and all("ABCB1" in r["cargo"] for r in records)


def test_search_errors_are_clear() -> None:
    assert runner.invoke(app, ["kb", "search"]).exit_code == 1
    result = runner.invoke(app, ["kb", "search", "--cell", "wizard"])
    assert result.exit_code == 1 and "unknown cell type 'wizard'" in result.output


def test_summary_show_neighbours() -> None:
    summary = json.loads(runner.invoke(app, ["kb", "summary", "--json"]).output)
    assert summary["records"] == sum(summary["by_kind"].values())
    shown = json.loads(runner.invoke(app, ["kb", "show", "s000.mir9-nf-to-caf"]).output)
    assert shown["reference"] == "[55]" and shown["file"].endswith("s000_microenvironment.yaml")
    assert runner.invoke(app, ["kb", "show", "nope"]).exit_code == 1
    found = json.loads(runner.invoke(app, ["kb", "neighbours", "MDSC", "--json"]).output)
    assert set(found) == {"sends", "receives"}


def test_export_csv(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "evidence.csv"
    result = runner.invoke(app, ["kb", "export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) > 100
    assert runner.invoke(app, ["kb", "export", "--format", "xls", "--out", str(out)]).exit_code == 2


def test_crosscheck_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "mti.tsv"
    bad.write_text("a\tb\n", encoding="utf-8")
    result = runner.invoke(app, ["kb", "crosscheck", "--mti", str(bad)])
    assert result.exit_code == 1 and "missing column" in result.output


def test_demo_writes_every_export(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    refused = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert refused.exit_code == 1 and "not written by exotwin" in refused.output
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        ".exotwin-manifest.json",
        "evidence.csv",
        "evidence.cyjs.json",
        "evidence.graphml",
        "evidence.json",
        "evidence.rules.csv",
        "flagship",
        "notes.txt",
        "tissue",
    ]
    assert (tmp_path / "flagship" / "report.html").exists()
    assert (tmp_path / "tissue" / "exosomes" / "snapshot_day10.png").exists()


def test_export_to_a_folder_or_under_a_file_is_a_typed_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kb", "export", "--format", "csv", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == f"OutputError: {tmp_path}: is a folder; give a file name to write\n"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    under = tmp_path / "file" / "evidence.csv"
    result = runner.invoke(app, ["kb", "export", "--format", "json", "--out", str(under)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"PathError: {under}: cannot write: a file stands")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_export_into_a_read_only_folder_is_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # root ignores chmod; a read-only mount
    out = tmp_path / "evidence.csv"
    result = runner.invoke(app, ["kb", "export", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr == f"PathError: {out}: cannot write: permission denied (read-only?)\n"
