"""Drug resistance as the reviews describe it: a state resists the drugs it names, and a pump
or enzyme carried as cargo confers resistance to its own substrates.

A cell state resists exactly the drugs of its own ``resistant_to`` (its ``parent`` classifies
it, but passes no resistance down), so docetaxel-resistant cells are not thereby resistant to
cisplatin. Multidrug resistance arises only where a record says so (a state or a phenotype
naming a group of drugs) or where the cargo is a protein with several substrates.
"""

from __future__ import annotations

from functools import cache

from ...knowledge import KnowledgeBase
from .library import Library


class Resistance:
    """Resistance questions about one graph and library (answers are cached)."""

    def __init__(self, kb: KnowledgeBase, lib: Library) -> None:
        self.kb, self.lib = kb, lib
        self.drugs_named = cache(self._drugs_named)
        self.resisted = cache(self._resisted)

    def _drugs_named(self, name: str) -> frozenset[str]:
        """Drug ids a name refers to: a drug (any synonym) or a group such as chemotherapy."""
        molecule = self.kb.find_molecule(name)
        if molecule is not None and molecule.id in self.lib.drugs:
            return frozenset({molecule.id})
        return frozenset(d.id for d in self.lib.drugs.values() if name in d.groups)

    def _resisted(self, state: str | None) -> frozenset[str]:
        """Drugs a cell state resists (its own list only)."""
        if state is None or state not in self.kb.cell_states:
            return frozenset()
        names = self.kb.cell_states[state].resistant_to
        return frozenset().union(*(self.drugs_named(n) for n in names))

    def conferred(
        self, cargo: list[str], named: frozenset[str]
    ) -> tuple[frozenset[str], str | None]:
        """The drugs a resistance gain covers and, for a resistance protein among the cargo
        (or a cargo inducing one), the state of cells that carry it."""
        for name in cargo:
            molecule = self.kb.find_molecule(name)
            protein = self.lib.resistance.get(molecule.id) if molecule else None
            if protein is not None:
                substrates = frozenset().union(*(self.drugs_named(s) for s in protein.substrates))
                if not named or named & substrates:
                    return substrates, protein.state
        return named, None

    def state_for(self, drugs: frozenset[str], present: list[str | None]) -> str | None:
        """The state of cells resistant to ``drugs``: one that resists exactly them (preferring
        a state the arm already has), else the smallest state that resists them all."""
        if not drugs:
            return None
        exact = [s for s in self.kb.cell_states if self.resisted(s) == drugs]
        for state in exact:
            if state in present:
                return state
        if exact:
            return exact[0]
        supersets = [s for s in self.kb.cell_states if self.resisted(s) > drugs]
        return min(supersets, key=lambda s: len(self.resisted(s)), default=None)

    def state_matches(self, wanted: str, state: str | None) -> bool:
        """Whether cells in ``state`` are in the state a record or selector names: a sub-state
        of it, or (for a resistant state) cells resisting at least the drugs it resists."""
        if state is None:
            return False
        if state in self.kb.descendants(wanted):
            return True
        drugs = self.resisted(wanted)
        return bool(drugs) and drugs <= self.resisted(state)
