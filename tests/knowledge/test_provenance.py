"""Field-level provenance: flags validated at load, notes and flags agree, every view shows them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import KnowledgeBase, KnowledgeValidationError, load_knowledge
from exotwin.knowledge.exports import export, to_physicell_rules
from exotwin.knowledge.provenance import (
    count_fields,
    field_classes,
    non_stated_fields,
    note_disagreements,
    unflagged_as_written,
)
from exotwin.knowledge.query import Query, claims_stated, search, stated_only

from .helpers import GOOD_MECHANISM, write_records

runner = CliRunner()

FLAGGED = GOOD_MECHANISM.replace(
    "    summary:",
    "    curator_note: The donor line is not named by the review, so the donor is inferred.\n"
    "    provenance:\n"
    "      donor: inferred\n"
    '      targets[p27]: {class: added, source: "Smith et al., 2020"}\n'
    "    summary:",
).replace("donor is inferred.", "donor is inferred; p27 is added from Smith et al.")


def problems_for(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(KnowledgeValidationError) as info:
        load_knowledge(write_records(tmp_path, text))
    return [str(p) for p in info.value.problems]


def test_flags_load_under_canonical_paths(tmp_path: Path) -> None:
    kb = load_knowledge(write_records(tmp_path, FLAGGED))
    record = kb.record("test.mir222-invasion")
    assert non_stated_fields(record) == [("donor", "inferred"), ("targets[CDKN1B]", "added")]
    assert record.provenance["targets[CDKN1B]"].source == "Smith et al., 2020"
    classes = field_classes(record)
    assert classes["donor.cell"] == classes["donor.lines[MCF-7]"] == "inferred"
    assert classes["recipient.cell"] == classes["effects[tamoxifen_resistance].direction"]
    assert classes["recipient.cell"] == "stated"


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "The donor line is not named by the review, so the donor is inferred;",
            "The donor line is not named by the review;",
            "records.0.curator_note",
            "flagged 'inferred' but the curator_note does not say so",
        ),
        (
            "      donor: inferred\n",
            "",
            "records.0.curator_note",
            "curator_note says 'inferred' but no field is flagged 'inferred'",
        ),
        (
            "      donor: inferred\n",
            "      donors: inferred\n",
            "records.0.provenance.donors",
            "the record fills no field 'donors'",
        ),
        (
            "targets[p27]",
            "targets[p53]",
            "records.0.provenance.targets[p53]",
            "targets has no item 'p53'",
        ),
        (
            "      donor: inferred\n",
            "      donor: inferred\n      donor.cell: inferred\n",
            "records.0.provenance.donor.cell",
            "lies inside the flagged field 'donor'",
        ),
        (
            '{class: added, source: "Smith et al., 2020"}',
            "added",
            "records.0.provenance.targets[p27]",
            "needs a source",
        ),
        (
            "      donor: inferred\n",
            "      donor: guessed\n",
            "records.0.provenance.donor.class",
            "Input should be 'normalised', 'inferred' or 'added'",
        ),
        (
            "    provenance:\n",
            '    as_written: {pathway: "p-27 down"}\n    provenance:\n',
            "records.0.as_written.pathway",
            "keeps the review's spelling of 'pathway'",
        ),
    ],
)
def test_bad_provenance_is_refused_with_file_line_and_field(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    assert old in FLAGGED
    problems = problems_for(tmp_path, FLAGGED.replace(old, new))
    assert any(f": {field}: " in p and message in p for p in problems), problems
    assert all(p.startswith(str(tmp_path / "records.yaml") + ":") for p in problems)


def test_every_record_notes_and_flags_agree(kb: KnowledgeBase) -> None:
    """Walk the whole graph: each note's provenance words have their flags and vice versa."""
    disagreements = {
        record.id: note_disagreements(record) + unflagged_as_written(record)
        for record in kb.records.values()
    }
    assert not {k: v for k, v in disagreements.items() if v}
    assert sum(1 for r in kb.records.values() if r.provenance) > 80


@pytest.mark.parametrize(
    ("record_id", "flags"),
    [
        (
            "s000.preadipocyte-mir140-sox2-sox9",
            {"effects[stemness].direction": "inferred", "effects[migration].direction": "inferred"},
        ),
        ("s003.mir567-reverses-trastuzumab-resistance", {"targets[ATG5]": "added"}),
        ("s003.her2-resistance-pdl1-tgfb1-levels", {"clinical_uses[response]": "inferred"}),
        ("s003.her2-trastuzumab-resistant-immune-therapy", {"modality": "inferred"}),
    ],
)
def test_the_audited_records_carry_their_flags(
    kb: KnowledgeBase, record_id: str, flags: dict[str, str]
) -> None:
    found = dict(non_stated_fields(kb.record(record_id)))
    assert flags.items() <= found.items()


def test_the_audit_findings_are_fixed(kb: KnowledgeBase) -> None:
    levels = kb.record("s003.her2-resistance-pdl1-tgfb1-levels")
    assert [c.direction for c in levels.changes] == ["altered"]  # type: ignore[union-attr]
    rituximab = kb.record("s003.rapamycin-u18666a-block-release-rituximab")
    assert "drug_neutralization" not in {e.phenotype for e in rituximab.effects}  # type: ignore[union-attr]
    assert kb.record("s003.her2-trastuzumab-resistant-immune-therapy").modality == "immunotherapy"  # type: ignore[union-attr]
    source = kb.record("s003.mir567-reverses-trastuzumab-resistance").provenance["targets[ATG5]"]
    assert "Han et al., 2020" in source.source
    # one rule for table roles: 'BC progression' is an effect of both rows, direction inferred
    for record_id in ("s000.mir130a-3p-rab5b", "s000.macrophage-mir503-3p-dact2-metabolism"):
        classes = field_classes(kb.record(record_id))
        assert classes["effects[tumor_progression].phenotype"] == "stated"
        assert classes["effects[tumor_progression].direction"] == "inferred"
    assert field_classes(kb.record("s000.mir122-niche-glucose"))["targets[PKM]"] == "inferred"
    platform = kb.record("s003.hcq-hollow-zns-hybrid-glioblastoma")
    assert (platform.section, "hybrid_carrier") == ("3.1", platform.tags[0])
    epithelium = kb.record("s003.exo-pdl1-migration-lung-epithelium")
    assert epithelium.donor.cell == "lung_epithelial_cell" and not epithelium.donor.lines  # type: ignore[union-attr]


def test_synonyms_of_one_mirna_are_linked(kb: KnowledgeBase, tmp_path: Path) -> None:
    assert kb.molecules["hsa-miR-19a"].same_as == "hsa-miR-19a-3p"
    assert {"hsa-miR-19a", "hsa-miR-19a-3p"} <= kb.molecule_matches("miR-19a-3p")
    text = "molecules:\n  - {id: hsa-miR-9-5p, type: miRNA, mirbase: hsa-miR-9-5p}\n"
    problems = problems_for(tmp_path, text)
    assert any("'hsa-miR-9' names the same miRNA as ['hsa-miR-9-5p']" in p for p in problems)


def test_accessions_are_checked(tmp_path: Path) -> None:
    text = "molecules:\n  - {id: TESTGENE, type: protein, identifiers: {hgnc: '1234'}}\n"
    problems = problems_for(tmp_path, text)
    assert any("hgnc accession '1234' does not match HGNC:" in p for p in problems)


def test_counts_cover_every_field(kb: KnowledgeBase) -> None:
    counts = count_fields(kb.records.values())
    assert set(counts) == {"stated", "normalised", "inferred", "added"}
    assert counts["stated"] > counts["inferred"] > counts["normalised"] > counts["added"] > 0


def test_stated_only_drops_records_with_an_unstated_effect_or_direction(kb: KnowledgeBase) -> None:
    everything = search(kb, Query(cargo="miR-567"))
    kept = search(kb, Query(cargo="miR-567", stated_only=True))
    assert kept == stated_only(everything)
    assert "s000.mir567-trastuzumab-autophagy" in {r.id for r in kept}  # donor inferred only
    assert not claims_stated(kb.record("s000.macrophage-mir503-3p-dact2-metabolism"))
    assert not claims_stated(kb.record("s003.trpc5-exo-acquired-chemoresistance"))
    assert claims_stated(kb.record("s000.mir9-nf-to-caf"))


def test_exports_carry_provenance(kb: KnowledgeBase, tmp_path: Path) -> None:
    export(kb, "csv", tmp_path / "g.csv")
    with (tmp_path / "g.csv").open(newline="", encoding="utf-8") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert rows["s000.mir9-nf-to-caf"]["provenance"] == ""
    assert rows["s000.mir122-niche-glucose"]["provenance"] == (
        "recipient:normalised;targets[PKM]:inferred;effects[premetastatic_niche]:inferred"
    )
    export(kb, "json", tmp_path / "g.json")
    records = {r["id"]: r for r in json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))["records"]}
    flag = records["s003.mir567-reverses-trastuzumab-resistance"]["provenance"]["targets[ATG5]"]
    assert flag["class"] == "added" and flag["source"]
    export(kb, "graphml", tmp_path / "g.graphml")
    graph = nx.read_graphml(tmp_path / "g.graphml")
    node = "record:s000.mir122-niche-glucose"
    assert "targets[PKM]:inferred" in graph.nodes[node]["provenance"]
    relations = {(d["relation"], d.get("provenance")) for _, _, d in graph.edges(node, data=True)}
    assert ("targets", "inferred") in relations and ("promotes", "inferred") in relations
    assert ("inhibits", "stated") in relations
    rules = to_physicell_rules(kb)
    assert "\n// not stated in s000.mir222-invasion: targets[PDLIM2]:normalised\n" in rules
    unmapped = [line for line in rules.splitlines() if "unmapped s000.mir122-niche" in line]
    assert unmapped and all("(not stated: recipient:normalised;" in line for line in unmapped)


def test_cli_provenance_show_and_search() -> None:
    counted = runner.invoke(app, ["kb", "provenance", "--json"])
    assert counted.exit_code == 0, counted.output
    fields = json.loads(counted.output)["fields"]
    summary = runner.invoke(app, ["kb", "summary", "--json"])
    assert json.loads(summary.output)["fields_by_provenance"] == fields
    shown = runner.invoke(app, ["kb", "show", "s003.mir567-reverses-trastuzumab-resistance"])
    assert any(
        line.startswith("targets[ATG5]: added (Han et al., 2020")
        for line in json.loads(shown.output)["not_stated"]
    )
    both = runner.invoke(app, ["kb", "search", "--json", "miR-122"])
    assert "s000.mir122-niche-glucose" in {r["id"] for r in json.loads(both.output)}
    stated = runner.invoke(app, ["kb", "search", "--json", "--stated-only", "miR-122"])
    assert "s000.mir122-niche-glucose" not in {r["id"] for r in json.loads(stated.output)}
