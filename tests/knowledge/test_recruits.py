"""Recruitment phenotypes (issue 16, cause H): an effect ``<cell type>_recruitment`` is a
recruitment of that cell type (``recruits``), which the model simulates as an influx into the
receivers' compartment (tests/model/test_recruitment.py). Both tests failed before ``recruits``
existed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase, KnowledgeValidationError, load_knowledge

from .helpers import ENTITIES, GOOD_MECHANISM


def test_every_cell_type_recruitment_phenotype_recruits_it(kb: KnowledgeBase) -> None:
    """Each ``<cell type>_recruitment`` of the vocabulary recruits that type."""
    named = {
        p.id: p.id.removesuffix("_recruitment")
        for p in kb.phenotypes.values()
        if p.id.removesuffix("_recruitment") in kb.cell_types
    }
    assert "neutrophil_recruitment" in named
    for ident, cell in named.items():
        assert kb.phenotypes[ident].recruits == cell


def test_a_recruitment_phenotype_must_name_its_cell_type(tmp_path: Path) -> None:
    """The loader refuses ``<cell type>_recruitment`` without ``recruits: <cell type>``, and an
    unknown recruited type, naming the field."""
    entities = tmp_path / "entities"
    shutil.copytree(ENTITIES, entities)
    path = entities / "phenotypes.yaml"
    text = path.read_text(encoding="utf-8")
    assert "    recruits: neutrophil\n" in text
    text = text.replace("    recruits: neutrophil\n", "", 1)
    text = text.replace(
        "    name: regulatory T-cell expansion\n",
        "    name: regulatory T-cell expansion\n    recruits: no_such_cell\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    records = tmp_path / "records.yaml"
    records.write_text(GOOD_MECHANISM, encoding="utf-8")
    with pytest.raises(KnowledgeValidationError) as info:
        load_knowledge([entities, records])
    problems = [str(p) for p in info.value.problems]
    assert any("recruits" in p and "expected recruits: neutrophil" in p for p in problems)
    assert any("recruits" in p and "unknown cell type 'no_such_cell'" in p for p in problems)
