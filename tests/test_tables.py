"""Tables: fitted to a terminal, one line per row when piped, and --json / --csv."""

from __future__ import annotations

import csv
import io
import json

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.model.scenario.load import packaged_scenarios
from exotwin.tables import Column, Format, Table, blocks, emit, output_format, plain

runner = CliRunner()
LONG_ID = "doxorubicin-resistant-exosomes-ldn57444"


def _table() -> Table:
    table = Table("Shipped", [Column("id", "id"), Column("title"), Column("n", "number", ".2f")])
    table.add(LONG_ID, "Exosomes rich in UCH-L1 and P-gp spread resistance " * 3, 3.14159)
    table.add("short", "x", 12345.678)
    return table


def _printed(table: Table, width: int, terminal: bool) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=terminal, color_system=None)
    emit(table, Format.table, console) if terminal else None
    return buffer.getvalue() if terminal else plain(table)


def test_piped_tables_keep_each_row_on_one_line() -> None:
    lines = plain(_table()).splitlines()
    assert lines[0] == "Shipped" and lines[1].split() == ["id", "title", "n"]
    assert len(lines) == 4  # title, header, two rows: nothing wrapped
    assert lines[2].startswith(LONG_ID) and lines[2].endswith("3.14")
    assert lines[3].endswith("12345.68")  # numbers right-aligned
    assert len(lines[2]) > 80  # long rows stay whole rather than wrap at 80 columns


@pytest.mark.parametrize("width", [90, 140])
def test_terminal_tables_never_split_ids_or_numbers(width: int) -> None:
    out = _printed(_table(), width, terminal=True)
    assert LONG_ID in out and "12345.68" in out and "3.14" in out
    assert all(len(line) <= width for line in out.splitlines())


def test_a_terminal_too_narrow_gets_one_block_per_row() -> None:
    out = _printed(_table(), 50, terminal=True)
    assert out == blocks(_table(), 50) + "\n"
    lines = out.splitlines()
    assert LONG_ID in lines and "  n      3.14" in lines
    assert all(len(line) <= 50 for line in lines)


def test_json_and_csv_keep_raw_values(capsys: pytest.CaptureFixture[str]) -> None:
    emit(_table(), Format.json)
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["id"] == LONG_ID and rows[0]["n"] == 3.14159
    emit(_table(), Format.csv)
    read = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert read[1] == {"id": "short", "title": "x", "n": "12345.678"}


def test_json_and_csv_together_are_refused() -> None:
    with pytest.raises(typer.BadParameter):
        output_format(True, True)
    result = runner.invoke(app, ["scenarios", "list", "--json", "--csv"])
    assert result.exit_code == 2 and "not both" in result.output


def test_scenarios_list_piped_json_and_csv() -> None:
    shipped = packaged_scenarios()
    piped = runner.invoke(app, ["scenarios", "list"])
    assert piped.exit_code == 0, piped.output
    rows = piped.stdout.splitlines()[2:]
    assert [row.split()[0] for row in rows] == list(shipped)  # one line per scenario
    as_json = json.loads(runner.invoke(app, ["scenarios", "list", "--json"]).stdout)
    assert [r["id"] for r in as_json] == list(shipped)
    assert all(isinstance(r["checks"], int) for r in as_json)
    as_csv = list(
        csv.DictReader(io.StringIO(runner.invoke(app, ["scenarios", "list", "--csv"]).stdout))
    )
    assert [r["id"] for r in as_csv] == list(shipped) and set(as_csv[0]) == {
        "id",
        "title",
        "arms",
        "checks",
    }


@pytest.mark.parametrize(
    ("args", "columns"),
    [
        (["kb", "search", "adriamycin"], {"id", "kind", "cargo", "reference", "not stated"}),
        (["kb", "summary"], {"seed", "section", "title", "mechanism", "total"}),
        (["kb", "provenance"], {"kind", "stated", "inferred", "total"}),
        (["kb", "neighbours", "CAF"], {"direction", "record", "donor", "recipient", "cargo"}),
    ],
)
def test_kb_tables_as_csv(args: list[str], columns: set[str]) -> None:
    result = runner.invoke(app, [*args, "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and columns <= set(rows[0])
    if args[1] == "neighbours":
        assert {r["direction"] for r in rows} == {"sends", "receives"}


def test_kb_search_piped_keeps_ids_whole() -> None:
    result = runner.invoke(app, ["kb", "search", "adriamycin"])
    lines = result.stdout.splitlines()
    hits = json.loads(runner.invoke(app, ["kb", "search", "adriamycin", "--json"]).stdout)
    assert len(lines) == 2 + len(hits)
    assert [line.split()[0] for line in lines[2:]] == [h["id"] for h in hits]
