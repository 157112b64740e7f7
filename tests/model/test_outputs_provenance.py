"""The run report says, per rule used, which fields of its records the review does not state."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.outputs import rules_used
from exotwin.model.scenario.report import not_stated_cell as _not_stated


def _used(kb: KnowledgeBase, lib: Library, *rules: str) -> list[dict[str, Any]]:
    result: Any = SimpleNamespace(models={"arm": SimpleNamespace(rules_used=list(rules))})
    return rules_used(kb, lib, result)


def test_rules_used_list_the_fields_not_stated_of_the_record_and_its_also_records(
    kb: KnowledgeBase, lib: Library
) -> None:
    [rule] = _used(kb, lib, "tamoxifen-horizontal-resistance")
    fields = {(f["record"], f["field"], f["class"]) for f in rule["not_stated"]}
    assert (
        "s000.tamr-mcf7-exo-horizontal-resistance",
        "effects[tamoxifen_resistance]",
        "inferred",
    ) in fields
    assert ("s003.hormone-resistance-horizontal-transfer", "reference", "inferred") in fields
    cell = _not_stated(rule["not_stated"])
    assert (
        "s000.tamr-mcf7-exo-horizontal-resistance: effects[tamoxifen_resistance] (inferred)" in cell
    )


def test_a_rule_on_stated_records_says_so(kb: KnowledgeBase, lib: Library) -> None:
    [rule] = _used(kb, lib, "mir9-caf")
    assert rule["not_stated"] == []
    assert _not_stated(rule["not_stated"]) == "none (all stated)"
