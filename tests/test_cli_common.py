"""The CLI's one error boundary: typed one-line messages, exit codes, traceback files."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.cli_common import message
from exotwin.errors import (
    BiopsyError,
    DataValidationError,
    ExotwinError,
    KnowledgeError,
    KnowledgeValidationError,
    Problem,
    ScenarioError,
    SimulationError,
    TissueError,
    did_you_mean,
)
from exotwin.knowledge import query

runner = CliRunner()


def test_every_layer_error_is_an_exotwin_error_and_old_imports_still_work() -> None:
    from exotwin.biopsy.errors import BiopsyInputError
    from exotwin.datafiles import ExotwinError as FromDatafiles
    from exotwin.knowledge.crosscheck import MtiFileError
    from exotwin.knowledge.errors import UnknownEntityError
    from exotwin.model.ode.sbml import SbmlError
    from exotwin.model.ode.solve import SimulationError as FromSimulate
    from exotwin.model.rules.library import ModelDataError
    from exotwin.model.scenario.load import ScenarioError as FromScenario
    from exotwin.model.tissue.fields import FieldError
    from exotwin.model.tissue.layout import TissueError as FromLayout
    from exotwin.model.uncertainty.cohort import CohortError, CohortSpecError
    from exotwin.model.uncertainty.sensitivity import SensitivityError

    assert FromDatafiles is ExotwinError and FromScenario is ScenarioError
    assert FromSimulate is SimulationError and FromLayout is TissueError
    for error in (BiopsyInputError, MtiFileError, UnknownEntityError, CohortError, CohortSpecError):
        assert issubclass(error, ExotwinError)
    for error in (ModelDataError, SbmlError, SensitivityError, FieldError, BiopsyError):
        assert issubclass(error, ExotwinError)
    assert issubclass(KnowledgeValidationError, KnowledgeError | DataValidationError)


def test_messages_are_typed_lines() -> None:
    one = ScenarioError([Problem(Path("s.yaml"), 3, "duration", "must be > 0")])
    assert message(one) == ["ScenarioError: s.yaml:3: duration: must be > 0"]
    two = ScenarioError(
        [Problem(Path("s.yaml"), 4, "b", "x"), Problem(Path("s.yaml"), 3, "a", "y")]
    )
    assert message(two) == [
        "s.yaml:3: a: y",
        "s.yaml:4: b: x",
        "ScenarioError: 2 problem(s) in the scenario",
    ]
    assert message(SimulationError("solver failed\n  at day 3")) == [
        "SimulationError: solver failed; at day 3"
    ]


def _break_search(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def broken(*args: object) -> None:
        raise error

    monkeypatch.setattr(query, "check_query", broken)


def test_an_unexpected_error_names_the_file_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _break_search(monkeypatch, ZeroDivisionError("division by zero"))
    result = runner.invoke(app, ["kb", "search", "CAF"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    found = re.search(r"full traceback in (\S+\.txt);", line)
    assert line.startswith("InternalError: exotwin failed unexpectedly (ZeroDivisionError:")
    assert found, line
    saved = Path(found.group(1)).read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in saved and "ZeroDivisionError" in saved
    Path(found.group(1)).unlink()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file", "/data/x.csv"), "/data/x.csv: no such"),
        (PermissionError(errno.EACCES, "Permission denied", "/ro/out"), "/ro/out: permission"),
        (OSError(errno.ENOSPC, "No space left on device", "/full"), "/full: no space left"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/x"), "/f/x: a file stands"),
    ],
)
def test_an_os_error_at_a_path_is_a_typed_line(
    error: OSError, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_search(monkeypatch, error)
    result = runner.invoke(app, ["kb", "search", "CAF"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"PathError: {expected}") and result.stderr.count("\n") == 1


def test_usage_errors_keep_exit_two() -> None:
    result = runner.invoke(app, ["simulate"])
    assert result.exit_code == 2 and "Missing argument" in result.output
    result = runner.invoke(app, ["sensitivity", "x", "--arm", "a", "--readout", "r"])
    assert result.exit_code == 2
    bad = runner.invoke(app, ["biopsy", "de", "x.csv", "--label", "l", "--out", "o", "--test", "t"])
    assert bad.exit_code in {1, 2} and "Traceback" not in bad.output


def test_a_project_error_inside_a_sub_app_is_caught_there_too() -> None:
    from exotwin.biopsy.cli import biopsy_app

    result = runner.invoke(biopsy_app, ["de", "/no/such.csv", "--label", "x", "--out", "o"])
    assert result.exit_code == 1 and result.stderr.startswith("BiopsyInputError: /no/such.csv")


def test_tissue_errors_are_typed(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tissue", "nf-to-caf-mir9-mir125b", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr == "TissueError: scenario 'nf-to-caf-mir9-mir125b' has no tissue section\n"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["tissue", "caf-ring-mir9-mir125b", "--out", "o", "--seed", "-1"],
        ["tissue", "caf-ring-mir9-mir125b", "--out", "o", "--replicates", "-2"],
        [
            "sensitivity",
            "s",
            "--arm",
            "a",
            "--readout",
            "r",
            "--day",
            "1",
            "--out",
            "o",
            "--n",
            "0",
        ],
        ["scenarios", "check", "--robust", "-1"],
        ["sweep", "spec.yaml", "--out", "o", "--workers", "0"],
        ["biopsy", "fit", "x.csv", "--label", "l", "--out", "o", "--seed", "-1"],
        ["biopsy", "fit", "x.csv", "--label", "l", "--out", "o", "--outer-folds", "1"],
        ["biopsy", "fit", "x.csv", "--label", "l", "--out", "o", "--jobs", "0"],
    ],
)
def test_numbers_outside_their_range_are_usage_errors(args: list[str]) -> None:
    # negative seeds, 1 fold and 0 jobs ended in ValueError tracebacks from numpy/sklearn
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_sensitivity_day_outside_the_scenario_is_refused(tmp_path: Path) -> None:
    args = ["sensitivity", "nf-to-caf-mir9-mir125b", "--arm", "exosomes", "--readout"]
    args += ["caf_fraction", "--method", "morris", "--n", "2", "--out", str(tmp_path / "o")]
    for day in ("nan", "1e9"):
        result = runner.invoke(app, [*args, "--day", day])
        assert result.exit_code == 1, result.output  # nan gave nan indices, 1e9 extrapolated
        assert result.stderr.startswith(f"SensitivityError: --day {day.replace('1e9', '1e+09')}")
    assert not (tmp_path / "o").exists()


def test_did_you_mean_lists_the_closest_then_the_known() -> None:
    assert did_you_mean("tnbcc", ["tnbc", "her2"]) == "; did you mean 'tnbc'? known: her2, tnbc"
    assert did_you_mean("zzz", ["tnbc"]) == "; known: tnbc"
    assert did_you_mean("nf-to", ["nf-to-caf-mir9"], listed=0) == "; did you mean 'nf-to-caf-mir9'?"
