"""Scenario files the model tests load by name: shipped, or pending (claims the model does not
yet reproduce, kept in ``scenarios_pending`` with their diagnoses)."""

from __future__ import annotations

from pathlib import Path

from exotwin.knowledge import KnowledgeBase
from exotwin.model.rules.library import Library
from exotwin.model.scenario.load import load_scenario
from exotwin.model.scenario.schema import Scenario

PENDING = Path(__file__).parents[2] / "src/exotwin/model/data/scenarios_pending"


def load_named(name: str, kb: KnowledgeBase, lib: Library) -> Scenario:
    """The pending scenario of that name where there is one, else the shipped one."""
    pending = PENDING / f"{name}.yaml"
    return load_scenario(pending if pending.exists() else name, kb, lib)
