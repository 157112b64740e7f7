"""Compilation from the graph: no mechanism by name, and a new record changes the model."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from exotwin.knowledge import KnowledgeBase, load_knowledge, packaged_data_dir
from exotwin.model.rules.compiler import compile_arm
from exotwin.model.rules.library import Library, load_library, packaged_model_dir
from exotwin.model.rules.table import Transition
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.run import run_scenario

from .conftest import SMALL_SCENARIO, write

MODEL_SRC = Path(__file__).resolve().parents[2] / "src" / "exotwin" / "model"

NEW_RECORD = """\
molecules:
  - {id: hsa-miR-99999, type: miRNA, synonyms: [miR-99999]}
records:
  - id: test.mir99999-caf
    kind: mechanism
    cargo: [miR-99999]
    donor: {cell: breast_cancer_cell}
    recipient: {cell: fibroblast}
    effects:
      - {phenotype: caf_activation, direction: promotes}
    seed: "000"
    section: "3"
    reference: "[55]"
    summary: A made-up record used to show that data alone changes the model.
"""
NEW_RULE = "rules:\n  - {id: test-mir99999-caf, record: test.mir99999-caf}\n"


def _code_without_docstrings(path: Path) -> str:
    """The module's code as Python sees it: comments and docstrings (examples in prose) gone."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.unparse(tree)


def test_simulator_code_names_no_mechanism() -> None:
    files = sorted(MODEL_SRC.rglob("*.py"))
    assert len(files) > 30  # every subpackage: rules, ode, scenario, uncertainty, tissue
    named = re.compile(r"miR-\d|s00[03]\.|ABCB1|CD274|ERBB2|doxorubicin|tamoxifen")
    found = [
        f"{p.relative_to(MODEL_SRC)}: {m.group()}"
        for p in files
        if (m := named.search(_code_without_docstrings(p)))
    ]
    assert not found


def test_adding_a_record_and_its_rule_changes_the_model(tmp_path: Path) -> None:
    scenario_text = SMALL_SCENARIO.replace("rules: [mir9-caf]", "records: [test.mir99999-caf]")
    record_file = write(tmp_path, NEW_RECORD, "new_record.yaml")
    rule_file = write(tmp_path, NEW_RULE, "new_rule.yaml")

    plain_kb = load_knowledge()
    plain_lib = load_library(plain_kb)
    scenario_plain = scenario_text.replace("records: [test.mir99999-caf]", "rules: []")
    plain = run_scenario(
        plain_kb,
        plain_lib,
        load_scenario(write(tmp_path, scenario_plain, "plain.yaml"), plain_kb, plain_lib),
    )

    kb = load_knowledge([packaged_data_dir(), record_file])
    lib = load_library(kb, [packaged_model_dir(), rule_file])
    scenario = load_scenario(write(tmp_path, scenario_text), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    assert model.rules_used == ["test-mir99999-caf"]
    assert any(isinstance(t.target, Transition) for t in model.terms)
    result = run_scenario(kb, lib, scenario)
    assert plain.readouts["exosomes"]["caf_fraction"][-1] == 0.0
    assert result.readouts["exosomes"]["caf_fraction"][-1] > 0.05
    assert result.passed


def test_rules_that_match_nothing_are_explained(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    text = SMALL_SCENARIO.replace("rules: [mir9-caf]", "rules: [mir9-caf, gp130-m2]")
    scenario = load_scenario(write(tmp_path, text), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    assert model.rules_used == ["mir9-caf"]
    assert any("gp130-m2" in note and "no receiver" in note for note in model.notes)


def test_transitions_create_their_target_population(
    kb: KnowledgeBase, lib: Library, tmp_path: Path
) -> None:
    scenario = load_scenario(write(tmp_path, SMALL_SCENARIO), kb, lib)
    model = compile_arm(kb, lib, scenario, scenario.arms[0])
    caf = model.population("caf", None, "tumour")
    assert caf is not None and model.initial[caf.index] == 0.0
    # a tumour brings plasma and the five niches, with niche copies of the cancer cells
    assert {"plasma", "lung", "liver", "bone", "brain", "lymph_node"} <= set(model.compartments)
    assert model.population("bc_tnbc", None, "liver") is not None
