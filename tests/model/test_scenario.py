"""Scenario files: every kind of bad input is a typed error naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import ScenarioError, load_scenario, packaged_scenarios

from .conftest import SMALL_SCENARIO, write


def problems(tmp_path: Path, kb: KnowledgeBase, lib: Library, text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text), kb, lib)
    return [str(p) for p in info.value.problems]


def test_small_scenario_loads(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    assert [a.name for a in scenario.arms] == ["exosomes", "no-release"]


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        (
            "{cell: fibroblast, count: 2.0e8}",
            "{cell: fibroblest, count: 2.0e8}",
            "scenario.yaml:5: populations.1.cell:",
            "unknown cell type 'fibroblest'",
        ),
        (
            "{cell: fibroblast, count: 2.0e8}",
            "{cell: fibroblast, count: -5}",
            "scenario.yaml:5: populations.1.count:",
            "greater than or equal to 0",
        ),
        (
            "{cell: fibroblast, count: 2.0e8}",
            "{cell: fibroblast, count: .nan}",
            "scenario.yaml:5: populations.1.count:",
            "finite number",
        ),
        (
            "rules: [mir9-caf]",
            "rules: [mir9-cafe]",
            "scenario.yaml:7: mechanisms.rules.0:",
            "unknown rule id 'mir9-cafe'",
        ),
        (
            "rules: [mir9-caf]",
            "records: [s000.no-such-record]",
            "scenario.yaml:7: mechanisms.records.0:",
            "unknown record id",
        ),
        (
            "than: {arm: no-release}",
            "than: {arm: placebo}",
            "scenario.yaml:23: checks.0.than.arm:",
            "unknown arm 'placebo'",
        ),
        (
            "efficacy: 1.0}",
            "efficacy: 1.5}",
            "scenario.yaml:12: arms.1.interventions.0.efficacy:",
            "less than or equal to 1",
        ),
        (
            "type: release_inhibitor, efficacy: 1.0}",
            "type: cargo_knockdown, cargo: miR-0, efficacy: 1.0}",
            "scenario.yaml:12: arms.1.interventions.0.cargo:",
            "unknown cargo or molecule 'miR-0'",
        ),
        (
            "type: release_inhibitor, efficacy: 1.0}",
            "type: teleport}",
            "scenario.yaml:12: arms.1.interventions.0.type:",
            "does not match any of the expected tags",
        ),
        ("day: 10\n    op", "day: 99\n    op", "scenario.yaml:21: checks.0.day:", "after the end"),
        (
            "kind: fraction, of: {cell: caf}, among: {cell: fibroblast}",
            "kind: fraction, of: {cell: caf}",
            "scenario.yaml:15: readouts.0.among:",
            "needs 'among'",
        ),
    ],
)
def test_bad_scenarios(
    tmp_path: Path, kb: KnowledgeBase, lib: Library, old: str, new: str, where: str, message: str
) -> None:
    assert old in SMALL_SCENARIO
    found = problems(tmp_path, kb, lib, SMALL_SCENARIO.replace(old, new))
    assert any(where in p and message in p for p in found), found


def test_yaml_syntax_and_unknown_names(tmp_path: Path, kb: KnowledgeBase, lib: Library) -> None:
    found = problems(tmp_path, kb, lib, SMALL_SCENARIO.replace("arms:", "arms: [", 1))
    assert "YAML syntax" in found[0]
    with pytest.raises(ScenarioError, match="no scenario file or shipped scenario named 'nope'"):
        load_scenario("nope", kb, lib)


def test_knockdown_of_a_cargo_no_donor_loads_is_refused_at_load(
    tmp_path: Path, kb: KnowledgeBase, lib: Library
) -> None:
    """miR-4443 is known but no donor of this arm loads it: once a crash in the compiler."""
    shipped = Path(packaged_scenarios()["nf-to-caf-mir9-mir125b"]).read_text(encoding="utf-8")
    text = shipped.replace("cargo: miR-125b", "cargo: hsa-miR-4443", 1)
    assert text != shipped
    found = problems(tmp_path, kb, lib, text)
    assert any("arms.1.interventions.1.cargo" in p for p in found), found
