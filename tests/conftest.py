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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group tests for ``--dist loadgroup``: a file stays on one worker (its module fixtures
    are computed once), except tests parametrized by shipped scenario (``name``), which are
    grouped per scenario so the longest file's runs are shared by both workers."""
    for item in items:
        params = getattr(item, "callspec", None)
        name = params.params.get("name") if params is not None else None
        shipped = item.path.name.startswith("test_shipped_")
        group = (
            f"shipped:{name}" if shipped and isinstance(name, str) else item.nodeid.split("::")[0]
        )
        item.add_marker(pytest.mark.xdist_group(group))
