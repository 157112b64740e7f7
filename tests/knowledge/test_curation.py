"""The packaged curation: size, coverage of the seeds' tables, citations that exist."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.knowledge.query import record_molecules

SEED_000 = "000_0db7d75799f15e9f.txt"
SEED_003 = "003_1318f4528543938e.txt"


def numbers(reference: str) -> set[int]:
    found: set[int] = set()
    for part in re.findall(r"\d+(?:\s*[–-]\s*\d+)?", reference):
        ends = [int(n) for n in re.split(r"\s*[–-]\s*", part)]
        found |= set(range(ends[0], ends[-1] + 1))
    return found


def test_size_and_kinds(kb: KnowledgeBase) -> None:
    kinds = Counter(r.kind for r in kb.records.values())
    assert len(kb.records) > 150
    assert kinds["mechanism"] > 80 and kinds["biomarker"] > 15 and kinds["therapy"] > 20
    assert {r.seed for r in kb.records.values()} == {"000", "003"}


def test_garbled_names_keep_the_original(kb: KnowledgeBase) -> None:
    noted = [r for r in kb.records.values() if r.as_written]
    assert noted and all(r.curator_note for r in noted)
    texts = " ".join(v for r in noted for v in r.as_written.values())
    for garble in ("miR-63", "GLIS232", "MCF-57444"):
        assert garble in texts


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("Table 1. Cancer-derived exosomes", "3. Roles of Cancer-Derived"),
        ("Table 2. Cancer-derived exosomes", "4. Roles of Microenvironment"),
        ("Table 3. Tumor microenvironment-derived exosomes", "5. Roles of Exosomes"),
    ],
)
def test_every_table_row_of_seed_000_is_curated(
    kb: KnowledgeBase, shared_dir: Path, start: str, end: str
) -> None:
    text = (shared_dir / "seeds" / SEED_000).read_text(encoding="utf-8")
    block = text[text.index(start) : text.index(end, text.index(start))]
    if start.startswith("Table 3"):  # the table continues after section 4.3
        cont = text.index("Table 3. Cont.")
        block += text[cont : text.index("5. Roles of Exosomes")]
    wanted = {int(n) for n in re.findall(r"\[(\d+)\]", block)}
    cited = set().union(*(numbers(r.reference) for r in kb.records.values() if r.seed == "000"))
    assert wanted and not wanted - cited, sorted(wanted - cited)


def test_every_cited_reference_exists_in_its_seed(kb: KnowledgeBase, shared_dir: Path) -> None:
    seeds = {
        s.id: (shared_dir / "seeds" / s.file).read_text(encoding="utf-8")
        for s in kb.sources.values()
    }
    for source in kb.sources.values():
        for reference in source.references:
            assert reference in seeds[source.id], reference
    for record in kb.records.values():
        if record.reference == "uncited":
            continue
        if record.seed == "000":
            for n in re.findall(r"\d+", record.reference):
                assert re.search(rf"[\[,–-]{n}[\],–-]", seeds["000"]), (record.id, n)
        else:
            for reference in record.reference.split(";"):
                assert reference.strip() in seeds["003"], (record.id, reference)


def test_seed_003_themes_named_by_the_issue_are_curated(kb: KnowledgeBase) -> None:
    seed3 = [r for r in kb.records.values() if r.seed == "003"]
    text = " ".join(f"{r.summary} {' '.join(record_molecules(r))}" for r in seed3)
    for theme in (
        "ABCB1",
        "GSTP1",
        "BIRC5",
        "hsa-miR-423-5p",
        "H19",
        "CAV1",
        "TNC",
        "trastuzumab",
        "HNRNPA2B1",
        "AGAP2-AS1",
        "CD274",
        "hsa-miR-155",
        "TRPC5",
        "HOTAIR",
    ):
        assert theme in text, theme
