"""Name normalisation for lookup: case, dashes, spaces, Greek letters, miRNA prefixes."""

from __future__ import annotations

import re
from functools import lru_cache

_GREEK = str.maketrans({"α": "a", "β": "b", "γ": "g", "δ": "d", "κ": "k", "π": "p"})
_SPELLED_GREEK = re.compile(r"(?<![a-z])(alpha|beta|gamma|delta|kappa)")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_MIRNA = re.compile(r"^(?:hsa-|mmu-)?(?:mir|mirna|microrna)-?(\d+[a-z]?(?:-\d+)?)(-[35]p)?$")


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Lower case, Greek letters as Latin ones (``NF-κB``, ``NF-kappaB`` → ``nf-kb``), ASCII dashes."""
    text = _DASHES.sub("-", text.lower().translate(_GREEK))
    return _SPELLED_GREEK.sub(lambda m: m.group(1)[0], text)


@lru_cache(maxsize=16384)
def name_key(name: str) -> str:
    """Key under which a name is looked up: folded, without spaces, ``_`` read as ``-``."""
    return re.sub(r"\s+", "", fold(name.strip())).replace("_", "-")


def mirna_family(name: str) -> str | None:
    """``mir-222`` for any spelling of miR-222 or its arms (hsa-miR-222-3p, miRNA-222...)."""
    match = _MIRNA.match(name_key(name))
    return f"mir-{match.group(1)}" if match else None


def mirna_arm(name: str) -> str | None:
    """``3p``/``5p`` when the name states the arm, else None."""
    match = _MIRNA.match(name_key(name))
    return match.group(2)[1:] if match and match.group(2) else None
