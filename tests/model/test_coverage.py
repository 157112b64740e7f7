"""Coverage: which records have dynamics, computed by compiling each rule in a probe arm."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.knowledge import KnowledgeBase
from exotwin.knowledge.schema import Biomarker, Mechanism, Therapy
from exotwin.model.cli import _coverage_lines
from exotwin.model.rules.coverage import Coverage, coverage, rule_coverage, summarise
from exotwin.model.rules.library import Library, ModelDataError, load_library, packaged_model_dir
from exotwin.model.rules.reasons import INERT_REASONS
from exotwin.model.rules.schema import Rule

runner = CliRunner()
FLUIDS = {"serum", "plasma", "blood", "urine", "saliva", "breast_milk"}
THERAPY_FLOOR = 10  # issue 16: at least 10 therapy records compile into dynamics
MECHANISM_FLOOR = 62  # issue 16 counted 62 mechanism records with a rule before this work


@pytest.fixture(scope="module")
def cov(kb: KnowledgeBase, lib: Library) -> Coverage:
    return coverage(kb, lib)


def test_json_lists_every_record_with_counts_by_kind(kb: KnowledgeBase, cov: Coverage) -> None:
    result = runner.invoke(app, ["kb", "coverage", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    kinds = ("mechanism", "therapy", "biomarker")
    assert set(data["counts"]) == set(kinds)
    for kind in kinds:
        total = sum(r.kind == kind for r in kb.records.values())
        simulated = sum(r["status"] == "simulated" for r in data["records"] if r["kind"] == kind)
        assert data["counts"][kind] == {"simulated": simulated, "total": total}
    assert [r["record"] for r in data["records"]] == sorted(kb.records)
    for entry in data["records"]:
        assert entry["status"] in {"simulated", "not_simulated"}
        if entry["status"] == "simulated":
            assert any(rule["dynamics"] for rule in entry["rules"])
        else:
            assert entry["reason"] and entry["note"]
    pdl1 = next(
        r for r in data["records"] if r["record"] == "s003.exo-pdl1-blocks-t-cell-activation"
    )
    [rule] = pdl1["rules"]
    assert {"target": "Killing", "direction": "down"}.items() <= rule["dynamics"][0].items()
    assert data["counts"] == cov.counts()


def test_table_and_filters() -> None:
    result = runner.invoke(app, ["kb", "coverage", "--kind", "therapy", "--status", "simulated"])
    assert result.exit_code == 0, result.output
    assert "therapy:" in result.output and "mechanism:" not in result.output
    assert "s003.exo-pd1-tnbc-t-cell" in result.output and "no_cargo_named" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Simulated: mechanism ")


def test_counts_meet_the_issue_floors(kb: KnowledgeBase, cov: Coverage) -> None:
    counts = cov.counts()
    assert counts["therapy"]["simulated"] >= THERAPY_FLOOR
    assert counts["mechanism"]["simulated"] >= MECHANISM_FLOOR
    status = {r.record: r for r in cov.records}
    # every biomarker read in a body fluid, those that fall in cancer too (a healthy level
    # that cancer cells, loading less, dilute)
    for rid, record in kb.records.items():
        if isinstance(record, Biomarker) and record.fluid in FLUIDS:
            assert status[rid].status == "simulated", rid
    # PD-1 exosomes and every mechanism or therapy from or onto MSCs
    for rid, record in kb.records.items():
        if not isinstance(record, Mechanism | Therapy):
            continue
        if "PDCD1" in record.cargo:
            assert status[rid].status == "simulated", rid
        cells = {ref.cell for ref in (record.donor, record.recipient) if ref is not None}
        if isinstance(record, Mechanism) and "msc" in cells:
            assert status[rid].status == "simulated", rid


def test_no_record_is_unexplained_and_no_reason_is_stale(cov: Coverage) -> None:
    assert not cov.unexplained()
    assert not [r.record for r in cov.records if r.stale_reason]


def test_status_is_computed_from_the_rules(kb: KnowledgeBase, lib: Library) -> None:
    dormancy = "s003.fig5-msc-exo-bc-dormancy"
    without = {k: r for k, r in lib.rules.items() if r.record != dormancy}
    after = coverage(kb, dataclasses.replace(lib, rules=without))
    assert next(r for r in after.records if r.record == dormancy).status == "unexplained"
    # activity levels change nothing; neither does killing by cells that kill nothing
    browning = rule_coverage(
        kb, lib, lib.rules["mir155-adipocyte"], "s000.mir155-adipocyte-browning"
    )
    assert not browning.dynamics and {d.target for d in browning.inert} == {"Activity"}
    on_cancer = Rule(id="pd1-on-cancer-cells", record="s000.effector-t-cell-exo-pd1")
    probe = dataclasses.replace(lib, rules={**lib.rules, on_cancer.id: on_cancer})
    killing = rule_coverage(kb, probe, on_cancer, on_cancer.record)
    assert not killing.dynamics and "Killing up bc_tnbc" in summarise(killing.inert)


def test_survival_and_barrier_damage_are_dynamics(kb: KnowledgeBase, lib: Library) -> None:
    """Survival lowers the death of cells that die (fibroblasts turn over); a leaky endothelium
    lets tumour cells disseminate (seeding), whoever's signal opens it."""
    survival = rule_coverage(
        kb, lib, lib.rules["survivin-paclitaxel-fibroblast"], "s003.survivin-ptx-fibroblast"
    )
    assert "Survival up fibroblast.paclitaxel_treated (cell_survival)" in summarise(
        survival.dynamics
    )
    barrier = rule_coverage(
        kb, lib, lib.rules["mir939-endothelium"], "s000.mir939-transendothelial"
    )
    assert "Seeding up lung, liver, bone, brain, lymph_node (signal in endothelial_cell)" in (
        summarise(barrier.dynamics)
    )


def test_unexplained_record_fails_the_command(
    kb: KnowledgeBase, lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    reasons = dict(lib.not_simulated)
    del reasons["s000.adipocyte-mmp3-lung-cancer"]
    changed = dataclasses.replace(lib, not_simulated=reasons)
    monkeypatch.setattr("exotwin.model.cli.load_library", lambda _kb: changed)
    result = runner.invoke(app, ["kb", "coverage", "--status", "unexplained"])
    assert result.exit_code == 1
    assert "s000.adipocyte-mmp3-lung-cancer" in result.output and "UNEXPLAINED" in result.output


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (
            "{record: s000.no-such-record, reason: no_behaviour, note: x}",
            "record",
            "unknown record",
        ),
        ("{record: s000.adipocyte-exo-hippo, reason: bored, note: x}", "reason", "Input should be"),
        (
            "{record: s000.adipocyte-mmp3-lung-cancer, reason: another_cancer, note: again}",
            "record",
            "duplicate",
        ),
    ],
)
def test_not_simulated_entries_are_validated_with_file_and_line(
    kb: KnowledgeBase, tmp_path: Path, entry: str, field: str, message: str
) -> None:
    extra = tmp_path / "reasons.yaml"
    extra.write_text(f"# reasons\nnot_simulated:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), extra])
    [problem] = [p for p in info.value.problems if p.file == extra]
    assert problem.line == 3 and problem.field == f"not_simulated.0.{field}"
    assert message in problem.message
    assert f"{extra}:3:" in str(info.value)


def test_each_coverage_rule_is_used_in_its_probe_arm(kb: KnowledgeBase, lib: Library) -> None:
    new = [r for r in lib.rules.values() if lib.rule_files[r.id].name.startswith("coverage_")]
    assert len(new) >= 40
    for rule in new:
        for rid in (rule.record, *rule.also):
            probe = rule_coverage(kb, lib, rule, rid)
            assert not probe.note, (rule.id, probe.note)
            if rid not in lib.not_simulated:
                assert probe.dynamics, (rule.id, rid)
            else:
                assert probe.inert, (rule.id, rid)


def test_readme_quotes_the_counts(cov: Coverage) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"`Simulated: (mechanism .+?)`", " ".join(readme.split()))
    assert quoted is not None
    line = ", ".join(f"{k} {c['simulated']} of {c['total']}" for k, c in cov.counts().items())
    assert quoted.group(1) == line


def test_progression_grows_cancer_cells_not_the_stroma(kb: KnowledgeBase, lib: Library) -> None:
    """A phenotype's ``receivers`` limit its rate: a tumour's progression is the division of
    the cancer cells that receive the exosomes, relayed to them from CAFs (not the CAFs'); TAM
    infiltration raises the TAMs' number in the tumour."""
    cancer = rule_coverage(kb, lib, lib.rules["mir130a-rab5b-progression"], "s000.mir130a-3p-rab5b")
    assert {(d.target, d.direction) for d in cancer.dynamics} == {("Growth", "down")}
    caf = rule_coverage(kb, lib, lib.rules["mir130b-caf-spin90"], "s000.mir130b-3p-caf-spin90")
    assert [(d.target, d.cell) for d in caf.dynamics] == [
        ("Growth", "bc_luminal@tumour")
    ]  # relayed
    tam = rule_coverage(
        kb, lib, lib.rules["mir375-tam-infiltration"], "s000.mir375-tam-infiltration"
    )
    assert [(d.target, d.cell) for d in tam.dynamics] == [("Growth", "macrophage@tumour")]


def test_tumour_growth_in_cafs_is_relayed_to_the_cancer_cells(
    kb: KnowledgeBase, lib: Library
) -> None:
    """miR-105 rewires CAFs to feed the tumour: the growth it names is the cancer cells'."""
    caf = rule_coverage(kb, lib, lib.rules["mir105-caf-metabolism"], "s000.mir105-caf-metabolism")
    assert [(d.target, d.cell) for d in caf.dynamics] == [("Growth", "breast_cancer_cell@tumour")]


# ------------------------------------------------------------ inert effects of simulated records


def test_every_inert_effect_of_a_simulated_record_has_a_reason() -> None:
    """Issue 16: an activity level changes something or says why not. On the base commit the
    JSON listed 323 inert terms of 56 simulated records without any reason."""
    result = runner.invoke(app, ["kb", "coverage", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    bare = [
        (entry["record"], term["phenotype"], term["cell"])
        for entry in data["records"]
        if entry["status"] == "simulated"
        for rule in entry["rules"]
        for term in rule["inert"]
        if not term.get("reason")
    ]
    assert not bare, bare


def test_inert_reasons_in_json_and_table(cov: Coverage) -> None:
    result = runner.invoke(app, ["kb", "coverage", "--json"])
    data = json.loads(result.output)
    terms = [
        term
        for entry in data["records"]
        if entry["status"] == "simulated"
        for rule in entry["rules"]
        for term in rule["inert"]
    ]
    assert terms and data["inert"] == {"with_reason": len(terms), "without_reason": 0}
    assert data["inert"] == cov.inert_counts() and data["stale_inert_reasons"] == []
    for term in terms:
        assert term["reason"] in INERT_REASONS and term["note"], term
    # a per-organ migration of cancer cells is the primary tumour's seeding
    hippo = next(r for r in data["records"] if r["record"] == "s000.adipocyte-exo-hippo")
    [rule] = hippo["rules"]
    lung = next(t for t in rule["inert"] if t["cell"] == "breast_cancer_cell@lung")
    assert (lung["phenotype"], lung["reason"]) == ("migration", "counted_elsewhere")
    assert any(d["target"] == "Seeding" for d in rule["dynamics"])
    record = next(r for r in cov.records if r.record == "s000.adipocyte-exo-hippo")
    assert "inert 5: counted_elsewhere 5 (migration)" in _coverage_lines(record)
    table = runner.invoke(app, ["kb", "coverage", "--kind", "mechanism"])
    assert table.exit_code == 0, table.output
    text = " ".join(table.output.split())
    assert f"Inert effects of simulated records: {len(terms)} with a reason, 0 without" in text


def test_readout_only_levels_are_read_by_shipped_scenarios(lib: Library) -> None:
    scenarios = packaged_model_dir() / "scenarios"
    read = {
        m.group(1)
        for path in scenarios.glob("*.yaml")
        for m in re.finditer(r"kind: activity, phenotype: (\w+)", path.read_text("utf-8"))
    }
    only = {e.phenotype for e in lib.inert_effects if e.reason == "readout_only"}
    assert only and only <= read, only - read


def _library_copy(tmp_path: Path, edit: Callable[[str], str]) -> Path:
    root = tmp_path / "data"
    shutil.copytree(packaged_model_dir(), root)
    path = root / "rules" / "inert_effects.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # an inert effect loses its reason
        (
            lambda text: "\n".join(
                line for line in text.splitlines() if "{phenotype: stemness," not in line
            ),
            "inert effect(s) without a reason",
        ),
        # a counted_elsewhere claim that the rule does not bear out gives no reason
        (
            lambda text: text.replace(
                "{phenotype: recurrence, reason: counted_elsewhere, by: [Growth]",
                "{phenotype: recurrence, reason: counted_elsewhere, by: [Killing]",
            ),
            "inert effect(s) without a reason",
        ),
        # an entry that no inert effect uses is stale
        (
            lambda text: (
                text
                + "  - {phenotype: stemness, record: s000.adipocyte-mmp3-lung-cancer,"
                + " reason: no_behaviour, note: x}\n"
            ),
            "stale inert_effects entries",
        ),
    ],
)
def test_inert_effect_without_a_reason_fails_the_command(
    kb: KnowledgeBase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit: Callable[[str], str],
    message: str,
) -> None:
    changed = load_library(kb, [_library_copy(tmp_path, edit)])
    monkeypatch.setattr("exotwin.model.cli.load_library", lambda _kb: changed)
    result = runner.invoke(app, ["kb", "coverage", "--json"])
    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (
            "{phenotype: no_such_phenotype, reason: no_behaviour, note: x}",
            "phenotype",
            "unknown phenotype",
        ),
        ("{phenotype: stemness, reason: bored, note: x}", "reason", "Input should be"),
        (
            "{phenotype: stemness, reason: counted_elsewhere, note: x, record: s000.mir222-invasion}",
            "by",
            "needs by",
        ),
        (
            "{phenotype: stemness, reason: no_behaviour, note: x, by: [Growth], record: s000.mir222-invasion}",
            "by",
            "by is for",
        ),
        (
            "{phenotype: stemness, reason: no_behaviour, note: x, cell: no_such_cell}",
            "cell",
            "unknown cell type",
        ),
        (
            "{phenotype: stemness, reason: no_behaviour, note: x, record: s000.no-such-record}",
            "record",
            "unknown record",
        ),
        ("{phenotype: stemness, reason: no_behaviour, note: again}", "phenotype", "duplicate"),
    ],
)
def test_inert_effect_entries_are_validated_with_file_and_line(
    kb: KnowledgeBase, tmp_path: Path, entry: str, field: str, message: str
) -> None:
    extra = tmp_path / "inert.yaml"
    extra.write_text(f"# reasons\ninert_effects:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ModelDataError) as info:
        load_library(kb, [packaged_model_dir(), extra])
    [problem] = [p for p in info.value.problems if p.file == extra]
    assert problem.line == 3 and problem.field == f"inert_effects.0.{field}"
    assert message in problem.message
    assert f"{extra}:3:" in str(info.value)
