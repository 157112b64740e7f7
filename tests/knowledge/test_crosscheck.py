"""miRNA→target claims checked against a miRTarBase-style table (small and real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase, load_knowledge
from exotwin.knowledge.crosscheck import (
    MtiFileError,
    PairCheck,
    crosscheck,
    read_mti,
    summarise,
)

from .helpers import GOOD_MECHANISM, write_records

HEADER = "miRNA\tmiRTarBase\tmiRNA_mature\ttarget_gene\tspecies\texperiments\tsupport\tpmid\n"


def ours(checks: list[PairCheck]) -> PairCheck:
    """The check of the test record (the packaged records are checked too)."""
    return next(c for c in checks if c.record_id.startswith("test."))


def write_mti(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "mti.tsv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_small_table_supported_missing_and_absent(tmp_path: Path) -> None:
    kb = load_knowledge(write_records(tmp_path, GOOD_MECHANISM))  # miR-222 → CDKN1B (p27)
    supported = write_mti(
        tmp_path,
        ["hsa-miR-222\tMIRT1\thsa-miR-222-3p\tCDKN1B\tHuman\tWestern blot\tFunctional MTI\t123.0"],
    )
    check = ours(crosscheck(kb, read_mti(supported)))
    assert (check.mirna, check.target, check.status) == ("hsa-miR-222", "CDKN1B", "supported")
    assert check.evidence[0].pmid == "123"

    other_target = write_mti(
        tmp_path, ["hsa-miR-222\tMIRT1\thsa-miR-222-3p\tPTEN\tHuman\tqPCR\tFunctional MTI\t1.0"]
    )
    check = ours(crosscheck(kb, read_mti(other_target)))
    assert check.status == "not_found"

    other_mirna = write_mti(
        tmp_path, ["hsa-miR-21\tMIRT1\thsa-miR-21-5p\tCDKN1B\tHuman\tqPCR\tFunctional MTI\t1.0"]
    )
    check = ours(crosscheck(kb, read_mti(other_mirna)))
    assert check.status == "mirna_absent"


def test_species_filter_and_case_insensitive_symbols(tmp_path: Path) -> None:
    kb = load_knowledge(write_records(tmp_path, GOOD_MECHANISM))
    mouse = read_mti(
        write_mti(
            tmp_path,
            ["mmu-miR-222\tMIRT1\tmmu-miR-222-3p\tCdkn1b\tMouse\tqPCR\tFunctional MTI\t9.0"],
        )
    )
    assert ours(crosscheck(kb, mouse)).status == "supported"
    assert ours(crosscheck(kb, mouse, species="Human")).status == "mirna_absent"


def test_arm_specific_names_match_only_their_arm(tmp_path: Path) -> None:
    text = GOOD_MECHANISM.replace("cargo: [miR-222]", "cargo: [miR-423-5p]")
    kb = load_knowledge(write_records(tmp_path, text))
    wrong_arm = read_mti(
        write_mti(
            tmp_path,
            ["hsa-miR-423\tMIRT1\thsa-miR-423-3p\tCDKN1B\tHuman\tqPCR\tFunctional MTI\t1.0"],
        )
    )
    check = ours(crosscheck(kb, wrong_arm))
    assert check.status == "mirna_absent"


def test_bad_tables_are_typed_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("miRNA\ttarget\nmiR-1\tX\n", encoding="utf-8")
    with pytest.raises(MtiFileError, match=r"bad.tsv:1: missing column\(s\)"):
        read_mti(path)
    with pytest.raises(MtiFileError, match="cannot read"):
        read_mti(tmp_path / "missing.tsv")
    short = write_mti(tmp_path, ["hsa-miR-1\tMIRT1\thsa-miR-1-3p"])
    with pytest.raises(MtiFileError, match=r"mti.tsv:2: expected 8 tab-separated fields"):
        read_mti(short)


def test_real_mirtarbase_table(kb: KnowledgeBase, shared_dir: Path) -> None:
    table = read_mti(shared_dir / "data" / "mirtarbase_functional_mti_strong.tsv")
    assert table.rows > 12_000
    checks = crosscheck(kb, table)
    counts = summarise(checks)
    assert counts["pairs"] == counts["supported"] + counts["not_found"] + counts["mirna_absent"]
    by_pair = {(c.mirna, c.target): c for c in checks}
    # well-known interactions that the reviews cite are supported by strong evidence
    assert by_pair[("hsa-miR-222", "CDKN1B")].status == "supported"
    assert by_pair[("hsa-miR-145", "IRS1")].status == "supported"
    assert counts["supported"] >= 5
