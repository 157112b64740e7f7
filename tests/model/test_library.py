"""The model library: parameters with provenance, drugs, rules tied to records."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library, ModelDataError, load_library, packaged_model_dir
from exotwin.model.rules.schema import Param


def test_every_parameter_has_provenance_and_assumptions_have_ranges(lib: Library) -> None:
    assert len(lib.parameters) >= 30 and len(lib.rules) >= 50
    for p in lib.parameters.values():
        assert p.source
        if p.source.lower().startswith("assumption"):
            assert p.low is not None and p.high is not None and p.low <= p.value <= p.high
    for drug in lib.drugs.values():
        for name in ("half_life", "kill_max", "ec50", "resistance_fold"):
            assert getattr(drug, name).source


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": -1.0, "source": "a test"}, "finite, non-negative"),
        ({"value": float("nan"), "source": "a test"}, "finite, non-negative"),
        ({"value": 1.0, "source": "assumption"}, "needs a plausible range"),
        ({"value": 5.0, "source": "assumption", "low": 0, "high": 1}, "outside its range"),
    ],
)
def test_bad_parameters_are_rejected(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Param(**fields)  # type: ignore[arg-type]


def _library_with(tmp_path: Path, text: str) -> list[Path]:
    extra = tmp_path / "extra.yaml"
    extra.write_text(text, encoding="utf-8")
    return [packaged_model_dir(), extra]


def test_rule_for_an_unknown_record_names_file_and_line(kb: KnowledgeBase, tmp_path: Path) -> None:
    paths = _library_with(tmp_path, "rules:\n  - {id: ghost, record: s000.nothing-here}\n")
    with pytest.raises(ModelDataError) as info:
        load_library(kb, paths)
    [problem] = info.value.problems
    assert problem.file.name == "extra.yaml" and problem.line == 2
    assert problem.field == "rules.0.record" and "unknown record id" in problem.message


def test_rule_effect_must_be_one_of_the_records(kb: KnowledgeBase, tmp_path: Path) -> None:
    paths = _library_with(
        tmp_path, "rules:\n  - {id: odd, record: s000.mir9-nf-to-caf, effects: [angiogenesis]}\n"
    )
    with pytest.raises(ModelDataError, match="has no effect 'angiogenesis'"):
        load_library(kb, paths)


def test_negative_rate_in_a_rule(kb: KnowledgeBase, tmp_path: Path) -> None:
    paths = _library_with(
        tmp_path,
        (
            "rules:\n  - id: neg\n    record: s000.mir9-nf-to-caf\n"
            "    max_rate: {value: -0.1, unit: 1/day, source: test}\n"
        ),
    )
    with pytest.raises(ModelDataError) as info:
        load_library(kb, paths)
    assert any(p.line == 4 and "non-negative" in p.message for p in info.value.problems)


def test_duplicate_rule_id(kb: KnowledgeBase, tmp_path: Path) -> None:
    paths = _library_with(tmp_path, "rules:\n  - {id: mir9-caf, record: s000.mir9-nf-to-caf}\n")
    with pytest.raises(ModelDataError, match="duplicate rules entry 'mir9-caf'"):
        load_library(kb, paths)
