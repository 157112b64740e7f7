"""Shared fixtures: the packaged evidence graph and the real data folder beside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from exotwin.knowledge import KnowledgeBase, load_knowledge

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (real data and the seed reviews); skips when absent, outside CI."""
    if not (SHARED / "data").is_dir():
        pytest.skip(
            f"real data folder {SHARED / 'data'} not present (it sits beside the repo in CI)"
        )
    return SHARED
