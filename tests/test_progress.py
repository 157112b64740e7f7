"""Progress of long commands: plain lines with elapsed time and ETA when stderr is not a
terminal, a live bar (and no lines) when it is."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exotwin.cli import app
from exotwin.progress import Progress, clock
from model.conftest import SMALL_SCENARIO, write

LINE = re.compile(
    r"^progress: (.+): (\d+)/(\d+) (\w[\w ]*) \((\d+)%\), elapsed \d+:\d\d, ETA \d+:\d\d$"
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXOTWIN_PROGRESS_EVERY", "0")


def test_plain_lines_with_elapsed_and_eta_when_not_a_terminal(every_call: None) -> None:
    stream = io.StringIO()
    with Progress("work", 4, "runs", stream=stream) as bar:
        for _ in range(4):
            bar.advance()
    lines = stream.getvalue().splitlines()
    assert [LINE.match(line).groups()[1:5] for line in lines[:-1]] == [  # type: ignore[union-attr]
        ("1", "4", "runs", "25"),
        ("2", "4", "runs", "50"),
        ("3", "4", "runs", "75"),
        ("4", "4", "runs", "100"),
    ]
    assert re.fullmatch(r"progress: work: done in \d+:\d\d", lines[-1])


def test_an_unknown_total_counts_without_eta(every_call: None) -> None:
    stream = io.StringIO()
    with Progress("sweep", unit="chunks", stream=stream) as bar:
        bar.update(3)
        bar.update(5, total=10)
    first, second, _ = stream.getvalue().splitlines()
    assert first.startswith("progress: sweep: 3 chunks done, elapsed") and "ETA" not in first
    assert "5/10 chunks (50%)" in second and "ETA" in second


def test_lines_are_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXOTWIN_PROGRESS_EVERY", "3600")
    stream = io.StringIO()
    with Progress("quick", 1000, stream=stream) as bar:
        for _ in range(1000):
            bar.advance()
    assert stream.getvalue() == ""  # a short run writes nothing, not even "done"


def test_a_terminal_gets_a_live_bar_and_no_lines(every_call: None) -> None:
    stream = Terminal()
    with Progress("work", 3, "runs", stream=stream) as bar:
        for _ in range(3):
            bar.advance()
    assert "progress:" not in stream.getvalue()


def test_clock() -> None:
    assert [clock(s) for s in (0, 59.4, 61, 3600 + 62, float("nan"))] == [
        "0:00",
        "0:59",
        "1:01",
        "1:01:02",
        "?",
    ]


def test_simulate_reports_progress_on_stderr_when_logged(tmp_path: Path, every_call: None) -> None:
    scenario = write(tmp_path, SMALL_SCENARIO)
    result = CliRunner().invoke(app, ["simulate", str(scenario), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("progress:")]
    assert [LINE.match(line).groups()[1:5] for line in lines[:2]] == [  # type: ignore[union-attr]
        ("1", "2", "arms", "50"),
        ("2", "2", "arms", "100"),
    ]
    assert "progress:" not in result.stdout


def test_scenarios_check_robust_counts_every_run(tmp_path: Path, every_call: None) -> None:
    scenario = write(tmp_path, SMALL_SCENARIO)
    result = CliRunner().invoke(app, ["scenarios", "check", str(scenario), "--robust", "3"])
    assert result.exit_code == 0, result.output
    last = [line for line in result.stderr.splitlines() if LINE.match(line)][-1]
    assert "4/4 runs (100%)" in last
