"""Fuzz the CLI: every command, driven with mutated arguments and files, ends with exit 0, 1
or 2 and, on a failure, a typed one-line message; never a traceback.

Each example runs in a fresh temporary folder (the working directory), from small valid
inputs (the tiny scenario of tests/model/conftest.py, a tiny tissue and cohort, a 24-sample
expression table) that hypothesis then truncates, retypes, empties or replaces with paths that
are missing, folders, under a file, or odd names. Kept small so the module runs in seconds.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from biopsy.conftest import signal_frame
from exotwin.cli import app
from exotwin.errors import CohortError
from model.conftest import SMALL_SCENARIO

runner = CliRunner()
DEEP = int(os.environ.get("EXOTWIN_FUZZ_EXAMPLES", "0"))  # a longer, random run when set
FUZZ = settings(
    max_examples=DEEP or 12,
    deadline=None,
    derandomize=not DEEP,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TISSUE = """\
id: fuzz-tissue
title: a tiny 2D tissue
mechanisms: {rules: [mir9-caf]}
tissue:
  domain: [120, 120]
  dt_diffusion: 0.5
  dt_mechanics: 1.0
  dt_phenotype: 6
  cells:
    - {cell: bc_tnbc, count: 6, layout: spheroid, radius: 20}
    - {cell: fibroblast, count: 6, layout: shell, inner_radius: 25, radius: 50}
arms: [{name: a}]
duration: 0.25
output_every: 0.25
readouts:
  - {name: fibroblasts, kind: count, of: {cell: fibroblast}}
"""

COHORT = """\
scenario: scenario.yaml
patients: 2
seed: 3
days: [0, 5]
chunk_size: 2
parameters:
  secretion_rate: {distribution: uniform, low: 800, high: 2000}
population_scale: {distribution: lognormal, sigma: 0.5}
labels:
  more_cafs: {readout: caf_fraction, arm: exosomes, day: 5, op: ">", than_day: 0}
"""

MTI = (
    "miRNA\tmiRNA_mature\ttarget_gene\tspecies\texperiments\tsupport\tpmid\n"
    "hsa-miR-222\thsa-miR-222-3p\tCDKN1B\tHuman\tqPCR\tFunctional MTI\t1\n"
)

RECORD = """\
records:
  - id: fuzz.mir222
    kind: mechanism
    cargo: [miR-222]
    donor: {cell: breast_cancer_cell}
    recipient: {cell: bc_luminal}
    targets: [p27]
    pathway: p27 down
    effects: [{phenotype: tamoxifen_resistance, direction: promotes}]
    context: {subtypes: [er_positive], models: [in_vitro]}
    seed: "000"
    section: "5.2"
    reference: "[107]"
    summary: A fuzzed record about exosomal miR-222.
"""

ODD_VALUES = ["1e300", "-5", ".nan", ".inf", "abc", "[1, 2]", "{a: 1}", "null", "1e15", "0", "''"]
ODD_NUMBERS = ["0", "-1", "nan", "inf", "1e300", "abc", "", "2"]
TYPED = re.compile(r"^(?!InternalError)[A-Z]\w*Error: \S")


@contextmanager
def _workspace() -> Iterator[Path]:
    """A fresh working folder holding the valid inputs."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="exotwin-fuzz-") as folder:
        here = Path(folder).resolve()
        os.chdir(here)
        (here / "scenario.yaml").write_text(SMALL_SCENARIO, encoding="utf-8")
        (here / "tissue.yaml").write_text(TISSUE, encoding="utf-8")
        (here / "cohort.yaml").write_text(COHORT, encoding="utf-8")
        (here / "mti.tsv").write_text(MTI, encoding="utf-8")
        (here / "records.yaml").write_text(RECORD, encoding="utf-8")
        signal_frame(n=24, p=4).to_csv(here / "signal.csv", index=False)
        (here / "a-file").write_text("x", encoding="utf-8")
        (here / "a-folder").mkdir()
        (here / "a-folder" / "notes.txt").write_text("mine", encoding="utf-8")
        try:
            yield here
        finally:
            os.chdir(before)


def _mutate_text(data: st.DataObject, text: str) -> str:
    """Truncate, drop a line, or retype one value of a text file (or leave it valid)."""
    how = data.draw(st.sampled_from(["keep", "truncate", "drop-line", "retype", "empty"]))
    if how == "truncate":
        return text[: data.draw(st.integers(0, len(text)))]
    if how == "drop-line":
        lines = text.splitlines()
        del lines[data.draw(st.integers(0, len(lines) - 1))]
        return "\n".join(lines)
    if how == "retype":
        numbers = list(re.finditer(r"(?<=[:\[ ,])-?\d+(\.\d+)?(e[+-]?\d+)?(?=[,}\]\n ])", text))
        if numbers:
            hit = data.draw(st.sampled_from(numbers))
            odd = data.draw(st.sampled_from(ODD_VALUES))
            return text[: hit.start()] + odd + text[hit.end() :]
    return "" if how == "empty" else text


def _path(data: st.DataObject, valid: str) -> str:
    """A valid input path, or a missing one, a folder, one under a file or an odd name."""
    odd = ["missing.yaml", "a-folder", "a-file/x.yaml", ".", "/", "-", "..", "ä b"]
    return data.draw(st.sampled_from([valid] * 4 + odd))


def _out(data: st.DataObject, name: str = "out") -> str:
    odd = [".", "/", "a-file", "a-file/out", "a-folder", "..", "", "out/../out"]
    return data.draw(st.sampled_from([name] * 4 + odd))


def _mutate_file(data: st.DataObject, path: Path) -> None:
    path.write_text(_mutate_text(data, path.read_text(encoding="utf-8")), encoding="utf-8")


def _check(args: list[str]) -> None:
    result = runner.invoke(app, args)
    if os.environ.get("EXOTWIN_FUZZ_LOG"):
        with open(os.environ["EXOTWIN_FUZZ_LOG"], "a", encoding="utf-8") as log:
            last = (result.stderr.strip().splitlines() or [""])[-1][:100]
            log.write(f"{result.exit_code} {' '.join(args)[:90]} | {last}\n")
    shown = f"exotwin {' '.join(args)} -> {result.exit_code}\n{result.output}"
    assert result.exit_code in {0, 1, 2}, shown
    assert "Traceback" not in result.output, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    if result.exit_code == 1:
        errors = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
        if errors:
            assert TYPED.match(errors[-1]), shown
        else:
            assert "FAIL" in result.stdout or "check(s) failed" in result.output, shown


def _run(data: st.DataObject, build: Callable[[st.DataObject, Path], list[str]]) -> None:
    with _workspace() as here:
        _check(build(data, here))


@given(st.data())
@FUZZ
def test_kb_commands(data: st.DataObject) -> None:
    def build(data: st.DataObject, here: Path) -> list[str]:
        _mutate_file(data, here / "records.yaml")
        _mutate_file(data, here / "mti.tsv")
        word = data.draw(st.sampled_from(["CAF", "", " ", "miR-222", "zzz", "--json", "-"]))
        return data.draw(
            st.sampled_from(
                [
                    ["kb", "validate", _path(data, "records.yaml")],
                    ["kb", "summary", "--data", _path(data, "records.yaml")],
                    ["kb", "search", word],
                    ["kb", "search", "--kind", word, "--data", _path(data, "records.yaml")],
                    ["kb", "search", "--seed", word, "--phenotype", word],
                    ["kb", "show", word],
                    ["kb", "neighbours", word, "--json"],
                    ["kb", "export", "--format", "csv", "--out", _out(data, "e.csv")],
                    ["kb", "crosscheck", "--mti", _path(data, "mti.tsv"), "--species", word],
                    ["kb", "coverage", "--kind", word, "--status", word],
                ]
            )
        )

    _run(data, build)


@given(st.data())
@FUZZ
def test_scenario_commands(data: st.DataObject) -> None:
    def build(data: st.DataObject, here: Path) -> list[str]:
        _mutate_file(data, here / "scenario.yaml")
        scenario = _path(data, "scenario.yaml")
        seed = data.draw(st.sampled_from(["0", "-1", str(2**70), "x"]))
        return data.draw(
            st.sampled_from(
                [
                    ["scenarios", "check", scenario],
                    ["simulate", scenario, "--out", _out(data), "--seed", seed, "--overwrite"],
                    ["simulate", scenario, "--out", _out(data), "--seed", seed],
                    ["export", "sbml", scenario, "--out", _out(data, "m.xml")],
                    ["export", "sbml", scenario, "--out", "m.xml", "--arm", "zzz"],
                ]
            )
        )

    _run(data, build)


@given(st.data())
@FUZZ
def test_sensitivity_and_tissue(data: st.DataObject) -> None:
    def build(data: st.DataObject, here: Path) -> list[str]:
        _mutate_file(data, here / "tissue.yaml")
        number = data.draw(st.sampled_from(ODD_NUMBERS))
        if data.draw(st.booleans()):
            args = ["tissue", _path(data, "tissue.yaml"), "--out", _out(data), "--no-plots"]
            return [*args, "--replicates", data.draw(st.sampled_from(["0", "1", number]))]
        return [
            "sensitivity",
            _path(data, "scenario.yaml"),
            "--arm",
            data.draw(st.sampled_from(["exosomes", "zzz"])),
            "--readout",
            data.draw(st.sampled_from(["caf_fraction", "zzz"])),
            "--day",
            data.draw(st.sampled_from(["5", number])),
            "--method",
            data.draw(st.sampled_from(["morris", "sobol", "zzz"])),
            "--n",
            data.draw(st.sampled_from(["2", number])),
            "--parameters",
            data.draw(st.sampled_from(["rule_max_rate,rule_half_max", "zzz", ","])),
            "--out",
            _out(data),
        ]

    _run(data, build)


QUICK = ["--outer-folds", "2", "--inner-folds", "2", "--bootstrap", "10", "--panel", "0"]
FIT_OPTIONS = ["--outer-folds", "--inner-folds", "--bootstrap", "--panel", "--jobs", "--seed"]


@given(st.data())
@FUZZ
def test_biopsy_commands(data: st.DataObject) -> None:
    def build(data: st.DataObject, here: Path) -> list[str]:
        command = data.draw(st.sampled_from(["fit", "fit-option", "predict", "de"]))
        if command == "predict":
            fit = ["biopsy", "fit", "signal.csv", "--label", "group", "--out", "model", *QUICK]
            assert runner.invoke(app, fit).exit_code == 0
        _mutate_file(data, here / "signal.csv")
        table = _path(data, "signal.csv")
        label = data.draw(st.sampled_from(["group", "zzz", "sample", ""]))
        if command == "fit":
            return ["biopsy", "fit", table, "--label", label, "--out", _out(data), *QUICK]
        if command == "fit-option":
            option = data.draw(st.sampled_from(FIT_OPTIONS))
            number = data.draw(st.sampled_from(["2", "-1", "99999999999", *ODD_NUMBERS]))
            return [
                "biopsy",
                "fit",
                table,
                "--label",
                "group",
                "--out",
                "o",
                *QUICK,
                option,
                number,
            ]
        if command == "predict":
            return ["biopsy", "predict", _path(data, "model"), table, "--out", _out(data, "p.csv")]
        return ["biopsy", "de", table, "--label", label, "--out", _out(data)]

    _run(data, build)


def _no_cluster(scheduler: str | None, workers: int) -> None:
    raise CohortError("no dask cluster in the fuzz test")


@given(st.data())
@FUZZ
def test_sweep_and_cohort(data: st.DataObject) -> None:
    def build(data: st.DataObject, here: Path) -> list[str]:
        _mutate_file(data, here / "cohort.yaml")
        command = data.draw(st.sampled_from([["sweep"], ["cohort"], ["cohort", "--biopsy"]]))
        workers = data.draw(st.sampled_from(["2", "0", "-1", "x"]))
        spec = _path(data, "cohort.yaml")
        return [*command, spec, "--out", _out(data), "--workers", workers]

    with mock.patch("exotwin.model.uncertainty.cohort.connect", _no_cluster):
        _run(data, build)


def test_fuzz_workspace_is_isolated() -> None:
    before = os.getcwd()
    with _workspace() as here:
        assert Path.cwd() == here and here != Path(before)
    assert os.getcwd() == before
