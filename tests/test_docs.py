"""README and docs agree with the code: scenario counts, output columns, valid cell ids."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import load_library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.scenario.outputs import timeseries_rows
from exotwin.model.scenario.run import run_scenario
from exotwin.model.tissue.run import TissueResult, write_tables
from model.conftest import SMALL_SCENARIO, write

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COUNT = re.compile(r"\b(\d+)\s+(?:shipped\s+)?(compartment\s+|tissue\s+)?scenarios\b")
COLUMNS = re.compile(r"timeseries\.csv`?[^`]{0,60}?`arm,(\w+),`")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_scenario_counts_quoted_in_the_docs_are_true() -> None:
    actual = {"tissue": len(packaged_scenarios("tissue")), "": len(packaged_scenarios())}
    quoted = [(p.name, m) for p in DOCS for m in COUNT.finditer(_text(p))]
    assert quoted, "README quotes how many scenarios ship"
    for name, match in quoted:
        kind = "tissue" if (match.group(2) or "").strip() == "tissue" else ""
        assert int(match.group(1)) == actual[kind], f"{name}: {match.group(0)!r}"


def _written_columns(tmp_path: Path, kb: KnowledgeBase) -> dict[str, list[str]]:
    lib = load_library(kb)
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    header, _ = timeseries_rows(run_scenario(kb, lib, scenario))
    tissue = TissueResult(scenario, 0, times={"a": np.array([0.0])})
    tissue.readouts = {"a": {r.name: np.array([1.0]) for r in scenario.readouts}}
    write_tables(tissue, tmp_path)
    with (tmp_path / "timeseries.csv").open(encoding="utf-8", newline="") as handle:
        return {"simulate": header, "tissue": next(csv.reader(handle))}


def test_documented_columns_are_the_columns_written(tmp_path: Path, kb: KnowledgeBase) -> None:
    written = _written_columns(tmp_path, kb)
    assert written["simulate"][:2] == written["tissue"][:2] == ["arm", "day"]
    documented = [(p.name, m.group(1)) for p in DOCS for m in COLUMNS.finditer(_text(p))]
    assert {name for name, _ in documented} >= {"README.md", "tissue.md"}
    assert all(column == "day" for _, column in documented), documented


@pytest.mark.parametrize("kind", ["cell_types", "cell_states"])
def test_docs_list_every_valid_cell_id(kb: KnowledgeBase, kind: str) -> None:
    text = _text(ROOT / "docs" / "scenarios.md")
    section = text.split("## Cell types and states", 1)[1].split("\n## ", 1)[0]
    part = section.split("Cell states:")[0 if kind == "cell_types" else 1]
    listed = re.findall(r"^\s*- `([a-z0-9_]+)`", part, flags=re.M)
    assert sorted(listed) == sorted(getattr(kb, kind))
