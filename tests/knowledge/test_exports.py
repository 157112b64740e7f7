"""Every export is read back by its consuming tool or an independent parser."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import networkx as nx
import pytest
from pydantic import TypeAdapter

from exotwin.knowledge import KnowledgeBase
from exotwin.knowledge.exports import CSV_COLUMNS, export
from exotwin.knowledge.schema import Record

JS_DIR = Path(__file__).resolve().parents[1] / "js"


def test_csv_has_one_row_per_record_with_the_required_columns(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    out = tmp_path / "evidence.csv"
    export(kb, "csv", out)
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames is not None
        assert reader.fieldnames[: len(CSV_COLUMNS)] == CSV_COLUMNS
        rows = list(reader)
    assert [r["id"] for r in rows] == list(kb.records)
    assert {r["kind"] for r in rows} == {"mechanism", "biomarker", "therapy"}
    by_id = {r["id"]: r for r in rows}
    mir9 = by_id["s000.mir9-nf-to-caf"]
    assert (mir9["cargo"], mir9["cargo_type"], mir9["donor"], mir9["recipient"]) == (
        "hsa-miR-9",
        "miRNA",
        "breast_cancer_cell",
        "fibroblast",
    )
    assert (mir9["effect"], mir9["direction"], mir9["seed"], mir9["reference"]) == (
        "caf_activation",
        "promotes",
        "000",
        "[55]",
    )
    for row in rows:  # list columns stay aligned
        assert len(row["cargo"].split(";")) == len(row["cargo_type"].split(";")) or not row["cargo"]
        if row["kind"] != "biomarker":
            assert len(row["effect"].split(";")) == len(row["direction"].split(";"))
    hotair = [r for r in rows if r["kind"] == "biomarker" and r["cargo"] == "HOTAIR"]
    assert any("after_surgery:down" in r["effect"] for r in hotair)


def test_json_round_trips_through_the_schema(kb: KnowledgeBase, tmp_path: Path) -> None:
    out = tmp_path / "evidence.json"
    export(kb, "json", out)
    document = json.loads(out.read_text(encoding="utf-8"))
    records = TypeAdapter(list[Record]).validate_python(document["records"])
    assert records == list(kb.records.values())
    assert len(document["molecules"]) == len(kb.molecules)


def test_graphml_reads_back_in_networkx(kb: KnowledgeBase, tmp_path: Path) -> None:
    out = tmp_path / "evidence.graphml"
    export(kb, "graphml", out)
    graph = nx.read_graphml(out, force_multigraph=True)
    records = [
        n
        for n, d in graph.nodes(data=True)
        if d.get("type") in {"mechanism", "biomarker", "therapy"}
    ]
    assert len(records) == len(kb.records)
    relations = {d["relation"] for _, _, d in graph.edges(data=True)}
    assert {
        "secretes",
        "acts_on",
        "carries",
        "targets",
        "promotes",
        "inhibits",
        "is_a",
    } <= relations
    assert graph.has_edge("cell:breast_cancer_cell", "record:s000.mir9-nf-to-caf")
    assert graph.has_edge("record:s000.mir9-nf-to-caf", "phenotype:caf_activation")


def test_cytoscape_elements_read_back(kb: KnowledgeBase, tmp_path: Path) -> None:
    out = tmp_path / "evidence.cyjs.json"
    export(kb, "cytoscape", out)
    data = json.loads(out.read_text(encoding="utf-8"))
    graph = nx.cytoscape_graph(data)
    node_ids = {n["data"]["id"] for n in data["elements"]["nodes"]}
    edges = data["elements"]["edges"]
    assert all(e["data"]["source"] in node_ids and e["data"]["target"] in node_ids for e in edges)
    assert len({e["data"]["id"] for e in edges}) == len(edges)
    assert graph.number_of_nodes() == len(node_ids)


def test_cytoscape_js_loads_the_export(kb: KnowledgeBase, tmp_path: Path) -> None:
    """The consuming tool itself: headless Cytoscape.js under node."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "cytoscape").is_dir():
        pytest.skip("node and tests/js/node_modules (make test runs npm ci there) are needed")
    out = tmp_path / "evidence.cyjs.json"
    export(kb, "cytoscape", out)
    result = subprocess.run(
        [node, str(JS_DIR / "read_cytoscape.js"), str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    counts = json.loads(result.stdout)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert counts["nodes"] == len(data["elements"]["nodes"])
    assert counts["edges"] == len(data["elements"]["edges"])
    assert counts["dangling"] == 0
    assert counts["kinds"]["mechanism"] == len(kb.mechanisms)


def parse_physicell_rules(text: str) -> list[dict[str, object]]:
    """An independent reader of PhysiCell's rules CSV v2 (CBHG 3.0), as PhysiCell parses it:
    lines starting with ``//`` are comments; every other non-empty line has 8 fields."""
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("//"):
            continue
        fields = line.split(",")
        assert len(fields) == 8, f"line {number}: {line!r}"
        cell, signal, response, behavior, saturation, half_max, hill, dead = fields
        assert response in {"increases", "decreases"}, line
        assert cell and signal and behavior and " " not in cell
        rules.append(
            {
                "cell": cell,
                "signal": signal,
                "response": response,
                "behavior": behavior,
                "saturation": float(saturation),
                "half_max": float(half_max),
                "hill": float(hill),
                "dead": int(dead),
            }
        )
    return rules


def test_physicell_rules_parse_and_follow_the_grammar(kb: KnowledgeBase, tmp_path: Path) -> None:
    out = tmp_path / "rules.csv"
    export(kb, "physicell-rules", out)
    text = out.read_text(encoding="utf-8")
    rules = parse_physicell_rules(text)
    assert rules
    for rule in rules:
        assert rule["cell"] in kb.cell_types
        assert str(rule["signal"]).startswith("intracellular ")
        assert float(rule["half_max"]) > 0 and float(rule["hill"]) >= 1  # type: ignore[arg-type]
        assert rule["dead"] == 0
        if str(rule["behavior"]).startswith("transform to "):
            assert str(rule["behavior"]).removeprefix("transform to ") in kb.cell_types
    assert {"fibroblast", "intracellular hsa-miR-9", "increases", "transform to caf"} <= {
        v for r in rules for v in r.values() if isinstance(v, str)
    }
    # effects without a behaviour (or in a receiver outside the phenotype's receivers, e.g.
    # a tumour's progression in fibroblasts) are listed, not dropped
    assert "// unmapped " in text

    def maps(cell: str, phenotype: str) -> bool:
        entry = kb.phenotypes[phenotype]
        kinds = {k for c in entry.receivers for k in kb.descendants(c)}
        return entry.physicell is not None and (not kinds or cell in kinds)

    mapped = sum(1 for r in kb.mechanisms for e in r.effects if maps(r.recipient.cell, e.phenotype))
    assert "// unmapped s000.mir130b-3p-caf-spin90" in text  # progression, in CAFs
    unmapped = text.count("// unmapped ")
    total = sum(len(r.effects) for r in kb.mechanisms)
    assert mapped + unmapped == total


def test_unknown_format_is_an_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format 'xls'"):
        export(kb, "xls", tmp_path / "x.xls")
    assert not list(tmp_path.iterdir())
