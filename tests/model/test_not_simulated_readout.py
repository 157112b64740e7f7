"""An ``activity`` readout that nothing in the model tracks is refused when the scenario
loads, with a one-line error naming the file and field: "not simulated: <reason>".

Before, such a readout read a constant 1 in every arm, so a check on it failed (or passed)
silently by construction: the EMT of ``mir155-doxorubicin-paclitaxel-emt`` read 1 vs 1 while
its rule dropped the record's EMT (issue 16, causes A and I).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model import Library, ScenarioError, load_library, load_scenario
from exotwin.model.rules.library import packaged_model_dir

from .conftest import write

SCENARIO = """\
id: mir155-emt-culture
title: Sensitive TNBC cells given miR-155 exosomes
populations:
  - {{cell: bc_tnbc, state: sensitive, count: 2.0e5, compartment: culture}}
mechanisms:
  rules: [{rule}]
arms:
  - name: none
  - name: exosomes
    interventions:
      - {{type: exosome_dose, cargo: hsa-miR-155, exosomes: 1.0e9, compartment: culture}}
duration: 4
readouts:
  - {{name: cells, kind: count, of: {{cell: bc_tnbc, compartment: culture}}}}
  - {{name: activity, kind: activity, phenotype: {phenotype}, of: {{cell: bc_tnbc, compartment: culture}}}}
"""


def _load(kb: KnowledgeBase, lib: Library, tmp_path: Path, rule: str, phenotype: str) -> None:
    text = SCENARIO.format(rule=rule, phenotype=phenotype)
    load_scenario(write(tmp_path, text, "mir155-emt-culture.yaml"), kb, lib)


def test_untracked_activity_is_refused_naming_file_and_field(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    with pytest.raises(ScenarioError) as info:
        _load(kb, lib, tmp_path, "mir155-dox-ptx-resistance", "t_cell_activity")
    [problem] = info.value.problems
    text = str(problem)
    assert problem.file.name == "mir155-emt-culture.yaml" and problem.line == 15
    assert problem.field == "readouts.1.phenotype" and "\n" not in text
    assert problem.message.startswith(
        "not simulated: no rule of this scenario sets t_cell_activity"
    )


def test_tracked_activity_loads(kb: KnowledgeBase, lib: Library, tmp_path: Path) -> None:
    _load(kb, lib, tmp_path, "mir155-dox-ptx-resistance", "emt")  # the rule's EMT: an activity


def test_an_omitted_effect_gives_the_rules_reason(kb: KnowledgeBase, tmp_path: Path) -> None:
    """An omitted effect that would be a rate of its receiver (progression: the cancer cells'
    division) is not kept as an activity level (an omitted activity is: test_omitted_activity),
    so nothing tracks it and the refusal names the rule's reason."""
    extra = tmp_path / "extra.yaml"
    why = "left out on purpose by this test"
    extra.write_text(
        "rules:\n  - {id: no-progression, record: s003.mir155-emt-dox-ptx-resistance,"
        f" omit: {{tumor_progression: {why}}}}}\n",
        encoding="utf-8",
    )
    lib = load_library(kb, [packaged_model_dir(), extra])
    _load(kb, lib, tmp_path, "no-progression", "emt")  # the EMT it compiles: an activity
    with pytest.raises(ScenarioError) as info:
        _load(kb, lib, tmp_path, "no-progression", "tumor_progression")
    [problem] = info.value.problems
    assert problem.message.endswith(f"rule no-progression leaves it out: {why}")
