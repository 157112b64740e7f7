"""Schema validation: good input loads; each kind of bad input names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeValidationError, load_knowledge

from .helpers import GOOD_MECHANISM, write_records


def problems_for(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(KnowledgeValidationError) as info:
        load_knowledge(write_records(tmp_path, text))
    return [str(p) for p in info.value.problems]


def test_good_record_loads_and_is_canonicalised(tmp_path: Path) -> None:
    kb = load_knowledge(write_records(tmp_path, GOOD_MECHANISM))
    record = kb.record("test.mir222-invasion")
    assert record.cargo == ["hsa-miR-222"]  # synonym resolved to the miRBase-style id
    assert record.targets == ["CDKN1B"]  # p27 resolved to its HGNC symbol
    assert kb.record_files[record.id].name == "records.yaml"


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        (
            "{cell: bc_luminal}",
            "{cell: luminal_blob}",
            6,
            "records.0.recipient.cell",
            "unknown cell type 'luminal_blob'",
        ),
        (
            "state: tamoxifen_resistant",
            "state: sleepy",
            5,
            "records.0.donor.state",
            "unknown cell state 'sleepy'",
        ),
        ('    reference: "[107]"\n', "", 2, "records.0.reference", "Field required"),
        (
            'reference: "[107]"',
            'reference: "[999]"',
            14,
            "records.0.reference",
            "is not a citation of seed 000",
        ),
        (
            'reference: "[107]"',
            'reference: "Smith et al., 2020"',
            14,
            "records.0.reference",
            "is not a citation of seed 000",
        ),
        (
            "direction: promotes",
            "direction: upward",
            10,
            "records.0.effects.0.direction",
            "Input should be 'promotes' or 'inhibits'",
        ),
        (
            "phenotype: tamoxifen_resistance",
            "phenotype: telepathy",
            10,
            "records.0.effects.0.phenotype",
            "unknown phenotype 'telepathy'",
        ),
        (
            "cargo: [miR-222]",
            "cargo: [miR-99999]",
            4,
            "records.0.cargo.0",
            "unknown molecule 'miR-99999'",
        ),
        ('section: "5.2"', 'section: "9.9"', 13, "records.0.section", "has no section '9.9'"),
        ('seed: "000"', 'seed: "007"', 12, "records.0.seed", "unknown seed '007'"),
        ("kind: mechanism", "kind: rumour", 3, "records.0.kind", "does not match any of"),
        (
            "    pathway: p27 down\n",
            "    pathway: p27 down\n    colour: blue\n",
            9,
            "records.0.colour",
            "Extra inputs are not permitted",
        ),
    ],
)
def test_bad_field_is_named_with_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, field: str, message: str
) -> None:
    assert old in GOOD_MECHANISM
    problems = problems_for(tmp_path, GOOD_MECHANISM.replace(old, new))
    expected = f"records.yaml:{line}: {field}:"
    assert any(expected in p and message in p for p in problems), problems


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    text = GOOD_MECHANISM.replace("cargo: [miR-222]", "cargo: [miR-222")
    problems = problems_for(tmp_path, text)
    assert len(problems) == 1
    assert "records.yaml:5:" in problems[0] and "YAML syntax" in problems[0]


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    text = GOOD_MECHANISM.replace(
        "    kind: mechanism\n", "    kind: mechanism\n    kind: therapy\n"
    )
    problems = problems_for(tmp_path, text)
    assert any("records.yaml:4:" in p and "duplicate key 'kind'" in p for p in problems)


def test_duplicate_record_id_across_files(tmp_path: Path) -> None:
    paths = write_records(tmp_path, GOOD_MECHANISM, "a.yaml")
    paths += write_records(tmp_path, GOOD_MECHANISM, "b.yaml")[1:]
    with pytest.raises(KnowledgeValidationError) as info:
        load_knowledge(paths)
    [problem] = info.value.problems
    assert problem.file.name == "b.yaml" and problem.line == 2 and problem.field == "records.0.id"
    assert "duplicate record id 'test.mir222-invasion'" in problem.message
    assert "a.yaml:2" in problem.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    second = GOOD_MECHANISM.split("records:\n")[1].replace("test.mir222", "test.other")
    text = GOOD_MECHANISM.replace("{cell: bc_luminal}", "{cell: nowhere}") + second.replace(
        "direction: promotes", "direction: sideways"
    )
    problems = problems_for(tmp_path, text)
    assert len(problems) == 2
    assert "unknown cell type 'nowhere'" in problems[0]
    assert "records.yaml:24: records.1.effects.0.direction" in problems[1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", "expected a mapping"),
        ("recrods: []\n", "unknown section"),
        ("records: {id: x}\n", "expected a list of entries"),
    ],
)
def test_bad_file_shapes(tmp_path: Path, text: str, message: str) -> None:
    problems = problems_for(tmp_path, text)
    assert any(message in p for p in problems), problems


def test_molecule_synonym_collision(tmp_path: Path) -> None:
    text = "molecules:\n  - {id: NEWGENE, type: protein, synonyms: [P-gp]}\n"
    problems = problems_for(tmp_path, text)
    assert any(
        "'P-gp' of molecule 'NEWGENE' is already a name of molecule 'ABCB1'" in p
        and "records.yaml:2:" in p
        for p in problems
    ), problems


def test_unknown_parent_cell_type(tmp_path: Path) -> None:
    text = "cell_types:\n  - {id: odd_cell, name: odd, category: other, parent: ghost}\n"
    problems = problems_for(tmp_path, text)
    assert any("unknown parent cell type 'ghost'" in p for p in problems)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeValidationError, match="no such file"):
        load_knowledge([tmp_path / "nope"])


def test_original_spelling_needs_a_curator_note(tmp_path: Path) -> None:
    text = GOOD_MECHANISM.replace(
        "    pathway: p27 down\n", "    pathway: p27 down\n    as_written: {cargo: miR-22Z}\n"
    )
    problems = problems_for(tmp_path, text)
    assert any("records.yaml:2: records.0:" in p and "add a curator_note" in p for p in problems)


def test_uncited_statement_needs_a_curator_note(tmp_path: Path) -> None:
    text = GOOD_MECHANISM.replace('reference: "[107]"', "reference: uncited")
    problems = problems_for(tmp_path, text)
    assert any("records.0.curator_note" in p and "without a citation" in p for p in problems)
    noted = text.replace(
        "    pathway: p27 down\n",
        "    pathway: p27 down\n    curator_note: stated without a citation in section 5.2\n",
    )
    assert load_knowledge(write_records(tmp_path, noted)).records
