"""Tables the commands print: fitted to the terminal, plain when piped, or JSON / CSV.

A :class:`Table` holds raw values (numbers stay numbers). :func:`emit` prints it

- on a terminal, as a rich table whose id and number columns are never wrapped or cut (text
  columns wrap between words in the space left); on a terminal too narrow for that, as one
  block per row with a ``column  value`` line per cell;
- when stdout is not a terminal, in a plain layout: one line per row, columns aligned by
  spaces, nothing wrapped or cut (``grep`` finds a whole row);
- with ``--json``, as a list of objects keyed by column name; with ``--csv``, as CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

__all__ = ["Column", "CsvOption", "Format", "JsonOption", "Table", "emit", "output_format"]

Kind = Literal["id", "number", "text"]
MIN_TEXT = 14  # narrowest a text column may get before the plain layout is used
MAX_WORD = 40  # words longer than this may be folded in a text column
GAP = "  "

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (machine-readable) instead of a table.")
]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")]


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def output_format(as_json: bool, as_csv: bool = False) -> Format:
    """The format chosen by ``--json`` / ``--csv`` (not both)."""
    if as_json and as_csv:
        raise typer.BadParameter("give --json or --csv, not both", param_hint="--json/--csv")
    return Format.json if as_json else Format.csv if as_csv else Format.table


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    fmt: str = ""  # format spec of numbers shown in a table (``.3f``); raw in JSON and CSV


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        self.rows.append(list(values))

    def records(self) -> list[dict[str, Any]]:
        return [
            {c.name: _json_value(v) for c, v in zip(self.columns, row, strict=True)}
            for row in self.rows
        ]

    def cells(self) -> list[list[str]]:
        """The rows as display text, one line per cell."""
        return [
            [_show(v, c.fmt) for c, v in zip(self.columns, row, strict=True)] for row in self.rows
        ]


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _show(value: Any, fmt: str) -> str:
    if value is None:
        return ""
    if fmt and isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, fmt)
    return " ".join(str(value).split())


def emit(table: Table, fmt: Format = Format.table, console: Console | None = None) -> None:
    """Print ``table`` in ``fmt`` to stdout (see the module docstring)."""
    if fmt is Format.json:
        typer.echo(json.dumps(table.records(), indent=1, ensure_ascii=False))
    elif fmt is Format.csv:
        typer.echo(to_csv(table), nl=False)
    else:
        console = console or Console()
        if not console.is_terminal:
            console.file.write(plain(table) + "\n")
        elif _fits(table, console.width):
            console.print(_rich(table))
        else:
            console.file.write(blocks(table, console.width) + "\n")


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in table.columns])
    writer.writerows([["" if v is None else v for v in row] for row in table.rows])
    return buffer.getvalue()


def plain(table: Table) -> str:
    """The title, then the header and rows with columns aligned; nothing wrapped or cut."""
    lines = [[c.name for c in table.columns], *table.cells()]
    widths = [max(len(line[i]) for line in lines) for i in range(len(table.columns))]
    right = [c.kind == "number" for c in table.columns]
    out = [f"{table.title}"] if table.title else []
    for line in lines:
        cells = [
            cell.rjust(w) if r else cell.ljust(w)
            for cell, w, r in zip(line, widths, right, strict=True)
        ]
        out.append(GAP.join(cells).rstrip())
    return "\n".join(out)


def blocks(table: Table, width: int) -> str:
    """For a terminal too narrow for the table: one block per row, headed by its first cell,
    then ``column  value`` lines wrapped between words."""
    names = [c.name for c in table.columns[1:]]
    pad = max((len(n) for n in names), default=0) + 4
    out = [table.title] if table.title else []
    for row in table.cells():
        out.append(row[0])
        for name, cell in zip(names, row[1:], strict=True):
            lines = textwrap.wrap(
                cell, max(20, width - pad), break_long_words=False, break_on_hyphens=False
            ) or [""]
            out.append(f"  {name.ljust(pad - 2)}{lines[0]}")
            out += [" " * pad + line for line in lines[1:]]
    return "\n".join(out)


def _widths(table: Table) -> list[tuple[int, int]]:
    """Per column: the widest cell, and the narrowest it may get (the longest word of a text
    column, up to ``MAX_WORD``; the widest cell of an id or number column)."""
    cells = table.cells()
    out = []
    for i, c in enumerate(table.columns):
        texts = [c.name, *(row[i] for row in cells)]
        widest = max(len(t) for t in texts)
        word = max(len(w) for t in texts for w in t.split() or [""])
        out.append(
            (
                widest,
                max(min(word, MAX_WORD), min(widest, MIN_TEXT)) if c.kind == "text" else widest,
            )
        )
    return out


def _fits(table: Table, width: int) -> bool:
    """Whether every column gets its narrowest width on a terminal ``width`` wide."""
    borders = 3 * len(table.columns) + 1
    return sum(narrow for _, narrow in _widths(table)) + borders <= width


def _rich(table: Table) -> RichTable:
    out = RichTable(title=table.title or None)
    for column, (_, narrow) in zip(table.columns, _widths(table), strict=True):
        if column.kind == "text":
            out.add_column(column.name, overflow="fold", ratio=1, min_width=narrow)
        else:
            out.add_column(
                column.name,
                no_wrap=True,
                min_width=narrow,
                justify="right" if column.kind == "number" else "left",
            )
    for row in table.cells():
        out.add_row(*(Text(cell) for cell in row))  # never read as markup
    return out


def table_of(title: str, columns: Sequence[tuple[str, Kind] | tuple[str, Kind, str]]) -> Table:
    """A table from ``(name, kind[, fmt])`` tuples."""
    return Table(title, [Column(*spec) for spec in columns])
