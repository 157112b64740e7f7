"""Name normalisation for synonym lookup (case, dashes, Greek letters, miRNA prefixes)."""

from __future__ import annotations

import re

_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa", "π": "pi"}
_DASHES = re.compile(r"[\u2010-\u2015\u2212_]")
_SPACES = re.compile(r"\s+")
_MIRNA = re.compile(r"^(?:hsa-|mmu-)?(?:mir|mirna|microrna)-?(\d+[a-z]?(?:-\d+)?)(-[35]p)?$")


def name_key(name: str) -> str:
    """Key under which a name is looked up: case-, dash-, space- and Greek-insensitive."""
    key = name.strip().lower()
    for letter, spelled in _GREEK.items():
        key = key.replace(letter, spelled)
    key = _DASHES.sub("-", key)
    return _SPACES.sub("", key)


def mirna_family(name: str) -> str | None:
    """``mir-222`` for any spelling of miR-222 or its arms (hsa-miR-222-3p, miRNA-222...)."""
    match = _MIRNA.match(name_key(name))
    return f"mir-{match.group(1)}" if match else None


def mirna_arm(name: str) -> str | None:
    """``3p``/``5p`` when the name states the arm, else None."""
    match = _MIRNA.match(name_key(name))
    return match.group(2)[1:] if match and match.group(2) else None
