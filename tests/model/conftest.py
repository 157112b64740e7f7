"""Fixtures for the model layer: the packaged library and a small scenario file builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase
from exotwin.model.library import Library, load_library


@pytest.fixture(scope="session")
def lib(kb: KnowledgeBase) -> Library:
    return load_library(kb)


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
