"""Query API: synonyms, hierarchy, drugs, pathways, subtypes and neighbours."""

from __future__ import annotations

import pytest

from exotwin.knowledge import KnowledgeBase, UnknownEntityError
from exotwin.knowledge.names import mirna_arm, mirna_family, name_key
from exotwin.knowledge.query import Query, neighbours, record_molecules, search


def ids(kb: KnowledgeBase, **criteria: str) -> set[str]:
    return {r.id for r in search(kb, Query(**criteria))}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("TGF-β1", "tgf-beta1"),
        ("NF-κB", "NF-kappaB"),
        ("NF-κB", "nf-kb"),
        ("Circ_0001142", "circ-0001142"),
    ],
)
def test_name_keys_fold_spelling(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_mirna_family_and_arm() -> None:
    assert mirna_family("hsa-miR-222-3p") == mirna_family("miRNA-222") == "mir-222"
    assert mirna_arm("hsa-miR-423-5p") == "5p" and mirna_arm("miR-222") is None
    assert mirna_family("MMP9") is None


@pytest.mark.parametrize("spelling", ["P-gp", "p-glycoprotein", "MDR1", "ABCB1"])
def test_cargo_synonyms_find_the_same_records(kb: KnowledgeBase, spelling: str) -> None:
    found = ids(kb, cargo=spelling)
    assert found == ids(kb, cargo="ABCB1")
    assert {"s003.pgp-exosome-transfer", "s003.pgp-transfer-in-vivo"} <= found


def test_free_text_synonym_of_a_mirna_arm(kb: KnowledgeBase) -> None:
    # miR-222 was curated without its arm; the 3p spelling still finds it (same family)
    assert ids(kb, text="hsa-miR-222-3p") >= ids(kb, cargo="miR-222")
    assert ids(kb, cargo="miR-222")


def test_drug_synonym_reaches_resistance_records(kb: KnowledgeBase) -> None:
    adriamycin = ids(kb, drug="adriamycin")
    assert adriamycin == ids(kb, drug="doxorubicin")
    kinds = {kb.record(i).kind for i in adriamycin}
    assert {"mechanism", "therapy"} <= kinds
    # the UCH-L1 story (resistant MCF-7 exosomes) is about adriamycin
    assert any("UCHL1" in record_molecules(kb.record(i)) for i in adriamycin)


def test_cell_type_search_includes_subtypes(kb: KnowledgeBase) -> None:
    macrophage = ids(kb, cell="macrophage")
    m2 = ids(kb, cell="macrophage_m2")
    assert m2 <= macrophage
    assert ids(kb, cell="TAM") == macrophage  # synonym of macrophage


def test_combined_criteria_are_anded(kb: KnowledgeBase) -> None:
    both = ids(kb, cell="TAM", phenotype="M2 polarisation")
    assert both and both <= ids(kb, cell="TAM") and both <= ids(kb, phenotype="m2_polarization")
    for record_id in both:
        record = kb.record(record_id)
        assert any(e.phenotype == "m2_polarization" for e in record.effects)  # type: ignore[union-attr]


def test_pathway_search_folds_greek(kb: KnowledgeBase) -> None:
    assert ids(kb, pathway="NF-kB") == ids(kb, pathway="NF-κB") != set()


def test_subtype_and_kind(kb: KnowledgeBase) -> None:
    tnbc = ids(kb, subtype="tnbc")
    assert tnbc
    assert all("tnbc" in kb.record(i).context.subtypes for i in tnbc)
    biomarkers = ids(kb, kind="biomarker", text="HOTAIR")
    assert biomarkers and all(kb.record(i).kind == "biomarker" for i in biomarkers)


def test_word_search_falls_back_to_text(kb: KnowledgeBase) -> None:
    assert ids(kb, text="cholangiocarcinoma")
    assert not ids(kb, text="xylophone")


def test_unknown_cell_is_an_error(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownEntityError, match="unknown cell type 'wizard'"):
        search(kb, Query(cell="wizard"))
    with pytest.raises(UnknownEntityError):
        neighbours(kb, "wizard")


def test_neighbours_of_cafs(kb: KnowledgeBase) -> None:
    found = neighbours(kb, "CAF")
    assert found["sends"] and found["receives"]
    assert all(e.donor == "caf" for e in found["sends"])
    assert {e.recipient for e in found["sends"]} & kb.descendants("breast_cancer_cell")
    # normal fibroblasts receive miR-9 / miR-125b and become CAFs; CAFs are a sub-type of
    # fibroblast, so a fibroblast query sees both directions
    fibroblast = neighbours(kb, "fibroblast")
    assert any("promotes caf_activation" in e.effects for e in fibroblast["receives"])


def test_a_cell_query_finds_records_that_make_that_cell(kb: KnowledgeBase) -> None:
    # cancer exosomes turn bone-marrow myeloid cells into MDSCs: an MDSC query finds it
    assert "s000.bc-exo-mdsc-cxcr4" in ids(kb, cell="MDSC")
    assert "s000.mir9-nf-to-caf" in ids(kb, cell="CAF")
