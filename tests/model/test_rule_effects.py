"""A rule compiles every effect of its record; one it leaves out needs a reason (``omit``).

Before, a rule's ``effects`` list dropped the record's other effects silently: rule
``mir155-dox-ptx-resistance`` compiled the two resistances of its record and dropped the EMT
and progression (issue 16, item 16), so the EMT readout of the pending scenario
``mir155-doxorubicin-paclitaxel-emt`` read a constant 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.knowledge.schema import Mechanism, Therapy
from exotwin.model import Library, compile_arm, load_library
from exotwin.model.cli import _coverage_lines
from exotwin.model.rules.coverage import RecordCoverage, rule_coverage
from exotwin.model.rules.library import ModelDataError, packaged_model_dir
from exotwin.model.rules.table import Activity, Growth, Secretion, Transition
from exotwin.model.scenario.schema import Scenario


def _culture(rule: str, cargo: str = "hsa-miR-155") -> Scenario:
    dose = {"type": "exosome_dose", "cargo": cargo, "exosomes": 1e9, "compartment": "culture"}
    return Scenario.model_validate(
        {
            "id": "exosomes-in-culture",
            "title": "sensitive TNBC cells given exosomes",
            "populations": [
                {"cell": "bc_tnbc", "state": "sensitive", "count": 1e5, "compartment": "culture"}
            ],
            "mechanisms": {"rules": [rule]},
            "arms": [{"name": "exosomes", "interventions": [dose]}],
            "duration": 2,
            "readouts": [{"name": "cells", "kind": "count", "of": {"cell": "bc_tnbc"}}],
        }
    )


def _compiled(kb: KnowledgeBase, lib: Library, rule: str, cargo: str = "hsa-miR-155") -> set:  # type: ignore[type-arg]
    scenario = _culture(rule, cargo)
    model = compile_arm(kb, lib, scenario, scenario.arms[0], pruned=False)
    return {(t.phenotype, type(t.target)) for t in model.terms if t.rule_id == rule}


@pytest.mark.parametrize(
    ("rule", "cargo", "phenotype", "target"),
    [
        # EMT in culture is an activity level (no seeding there); progression is division
        ("mir155-dox-ptx-resistance", "hsa-miR-155", "emt", Activity),
        ("mir155-dox-ptx-resistance", "hsa-miR-155", "tumor_progression", Growth),
        ("mir423-cisplatin", "hsa-miR-423-5p", "proliferation", Growth),
    ],
)
def test_rules_compile_the_effects_they_dropped(
    kb: KnowledgeBase, lib: Library, rule: str, cargo: str, phenotype: str, target: type
) -> None:
    found = _compiled(kb, lib, rule, cargo)
    assert (phenotype, target) in found
    assert any(t is Transition for _, t in found)  # and the resistances, one switch


def test_every_omitted_effect_is_the_records_and_has_a_reason(
    kb: KnowledgeBase, lib: Library
) -> None:
    for rule in lib.rules.values():
        record = kb.records[rule.record]
        assert not rule.effects, rule.id  # the shipped rules say what they leave out, and why
        if rule.omit:
            assert isinstance(record, Mechanism | Therapy), rule.id
            assert set(rule.omit) <= {e.phenotype for e in record.effects}, rule.id
            assert all(len(why) > 40 for why in rule.omit.values()), rule.id


def _library(kb: KnowledgeBase, tmp_path: Path, rule: str) -> Library:
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"rules:\n  - {rule}\n", encoding="utf-8")
    return load_library(kb, [packaged_model_dir(), extra])


def test_legacy_effects_list_no_longer_drops_the_others(kb: KnowledgeBase, tmp_path: Path) -> None:
    legacy = _library(
        kb,
        tmp_path,
        "{id: legacy, record: s003.mir155-emt-dox-ptx-resistance, effects: [doxorubicin_resistance]}",
    )
    assert ("emt", Activity) in _compiled(kb, legacy, "legacy")


def test_omit_leaves_an_effect_out_with_its_reason(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    """An omitted EMT moves nothing: the cells' release no longer follows it (it did with the
    EMT compiled); it stays only as their activity level, readable (test_omitted_activity)."""
    full = _compiled(kb, lib, "mir155-dox-ptx-resistance")
    why = "a test that leaves the EMT out on purpose"
    lib = _library(
        kb,
        tmp_path,
        f"{{id: no-emt, record: s003.mir155-emt-dox-ptx-resistance, omit: {{emt: {why}}}}}",
    )
    found = _compiled(kb, lib, "no-emt")
    assert ("emt", Secretion) in full and ("emt", Secretion) not in found
    assert found - {("emt", Activity)} == full - {("emt", Activity), ("emt", Secretion)}
    coverage = rule_coverage(kb, lib, lib.rules["no-emt"], "s003.mir155-emt-dox-ptx-resistance")
    assert coverage.omitted == {"emt": why}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("omit: {angiogenesis: not in the record}", "rules.0.omit.angiogenesis: record"),
        ("effects: [emt], omit: {emt: both ways}", "'emt' is both compiled and in omit"),
    ],
)
def test_bad_omit_is_a_one_line_error(
    kb: KnowledgeBase, tmp_path: Path, fields: str, message: str
) -> None:
    with pytest.raises(ModelDataError) as info:
        _library(kb, tmp_path, f"{{id: odd, record: s003.mir155-emt-dox-ptx-resistance, {fields}}}")
    [problem] = info.value.problems
    assert message in str(problem) and "\n" not in str(problem)


def test_coverage_lists_what_a_rule_leaves_out(kb: KnowledgeBase, lib: Library) -> None:
    record = "s000.mir4443-liver-metastasis"
    rule = rule_coverage(kb, lib, lib.rules["mir4443-liver"], record)
    lines = _coverage_lines(RecordCoverage(record, "mechanism", "simulated", [rule]))
    assert any(
        line.startswith("mir4443-liver leaves out vascular_permeability (not simulated: ")
        for line in lines
    )
