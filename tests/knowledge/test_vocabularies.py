"""Every value the ``kb`` commands filter by is checked against its vocabulary (did-you-mean);
empty input is an error, not "ok" or "every record"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import load_knowledge, packaged_data_dir

from .helpers import GOOD_MECHANISM

runner = CliRunner()


def test_validate_an_empty_file_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["kb", "validate", str(empty)])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"KnowledgeValidationError: {empty}: no records (expected a 'records:' list of entries)\n"
    )


def test_validate_a_folder_of_records_uses_the_packaged_vocabularies(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    shutil.copytree(packaged_data_dir() / "records", folder)
    (folder / "extra.yaml").write_text(GOOD_MECHANISM, encoding="utf-8")
    result = runner.invoke(app, ["kb", "validate", str(folder)])
    shipped = len(load_knowledge().records)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok: {shipped + 1} records")
    whole = runner.invoke(app, ["kb", "validate", str(packaged_data_dir())])
    assert whole.exit_code == 0 and whole.output.startswith(f"ok: {shipped} records")


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_search_is_an_error(text: str) -> None:
    result = runner.invoke(app, ["kb", "search", text])
    assert result.exit_code == 1 and result.stderr.startswith(
        "QueryError: the search text is empty"
    )


@pytest.mark.parametrize(
    ("option", "value", "suggestion"),
    [
        ("--kind", "mechanizm", "'mechanism'"),
        ("--phenotype", "m2_polarisaton", "'m2_polarization'"),
        ("--seed", "004", "'003'"),
        ("--cell", "fibroblst", "'fibroblast'"),
        ("--cargo", "ABCB2", "'ABCB1'"),
        ("--drug", "doxorubicn", "'doxorubicin'"),
        ("--subtype", "tnbcc", "'tnbc'"),
        ("--pathway", "NF-kX", "'NF-κB'"),
    ],
)
def test_a_misspelt_filter_value_is_an_error_with_a_suggestion(
    option: str, value: str, suggestion: str
) -> None:
    result = runner.invoke(app, ["kb", "search", option, value])
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("UnknownEntityError: unknown ") and f"{value!r}" in line
    assert "did you mean " in line and suggestion in line.split("did you mean ")[1]


def test_known_filter_values_still_match() -> None:
    for args in (["--kind", "biomarker"], ["--seed", "003"], ["--phenotype", "M2 polarisation"]):
        result = runner.invoke(app, ["kb", "search", *args, "--json"])
        assert result.exit_code == 0 and result.output.startswith("[")


def test_show_and_neighbours_suggest_the_closest_id() -> None:
    result = runner.invoke(app, ["kb", "show", "s000.mir9-nf-to-cafe"])
    assert result.exit_code == 1 and "did you mean 's000.mir9-nf-to-caf'" in result.stderr
    result = runner.invoke(app, ["kb", "neighbours", "macrophag"])
    assert result.exit_code == 1 and "did you mean 'macrophage'" in result.stderr


def test_crosscheck_refuses_an_unknown_species(tmp_path: Path) -> None:
    mti = tmp_path / "mti.tsv"
    mti.write_text(
        "miRNA\tmiRNA_mature\ttarget_gene\tspecies\texperiments\tsupport\tpmid\n"
        "hsa-miR-222\thsa-miR-222-3p\tCDKN1B\tHuman\tqPCR\tFunctional MTI\t1\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["kb", "crosscheck", "--mti", str(mti), "--species", "Humna"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "UnknownEntityError: unknown species 'Humna'; did you mean 'Human'?"
    )
    for species in ("Human", "mouse"):
        ok = runner.invoke(app, ["kb", "crosscheck", "--mti", str(mti), "--species", species])
        assert ok.exit_code == 0, ok.output
