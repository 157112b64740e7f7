"""Fixtures for the model layer: the packaged library and a small scenario file builder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library, load_library
from exotwin.model.scenario.load import load_scenario, packaged_scenarios
from exotwin.model.tissue.run import TissueResult, run_tissue


@pytest.fixture(scope="session")
def lib(kb: KnowledgeBase) -> Library:
    return load_library(kb)


@pytest.fixture(scope="session")
def shipped_tissue(
    kb: KnowledgeBase, lib: Library, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], tuple[TissueResult, Path]]:
    """Run a shipped tissue scenario once per session (seed 0, all outputs written)."""
    runs: dict[str, tuple[TissueResult, Path]] = {}

    def run(name: str) -> tuple[TissueResult, Path]:
        if name not in runs:
            scenario = load_scenario(packaged_scenarios("tissue")[name], kb, lib)
            out = tmp_path_factory.mktemp(name)
            runs[name] = (run_tissue(kb, lib, scenario, seed=0, out=out), out)
        return runs[name]

    return run


SMALL_SCENARIO = """\
id: small-caf
title: Fibroblasts next to cancer cells
populations:
  - {cell: bc_tnbc, count: 1.0e9}
  - {cell: fibroblast, count: 2.0e8}
mechanisms:
  rules: [mir9-caf]
arms:
  - name: exosomes
  - name: no-release
    interventions:
      - {type: release_inhibitor, efficacy: 1.0}
duration: 10
readouts:
  - {name: caf_fraction, kind: fraction, of: {cell: caf}, among: {cell: fibroblast}}
  - {name: fibroblasts, kind: count, of: {cell: fibroblast}}
checks:
  - name: more-cafs-with-exosomes
    readout: caf_fraction
    arm: exosomes
    day: 10
    op: ">"
    than: {arm: no-release}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
