"""How the model's things are shown to a person: readable labels for cells, cargo and
readouts, one fixed colour per cell type and state, line styles per arm, and the days on
which an arm's interventions act (for dose and surgery markers)."""

from __future__ import annotations

import colorsys
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..knowledge import KnowledgeBase
from .scenario.schema import Arm, CellSelector, Readout

# Fixed colours of cell types (their sub-types inherit them unless listed): cancer cells in
# blues and purples, stroma in greens and greys, CAFs in a strong red, immune cells in
# oranges and browns. Anything else gets a colour from its id (see :func:`cell_colour`).
TYPE_COLOURS = {
    "cancer_cell": "#4c72b0",
    "breast_cancer_cell": "#4c72b0",
    "bc_tnbc": "#3b6fb6",
    "bc_luminal": "#6a51a3",
    "bc_her2": "#1b9e9e",
    "breast_cancer_stem_cell": "#08306b",
    "breast_epithelial_cell": "#9ecae1",
    "fibroblast": "#9bbf85",
    "lung_fibroblast": "#74a37a",
    "caf": "#d62728",
    "macrophage": "#c17a2b",
    "macrophage_m1": "#e6ab02",
    "macrophage_m2": "#8c510a",
    "monocyte": "#dfc27d",
    "mdsc": "#e7298a",
    "myeloid_progenitor": "#f4a6c8",
    "t_cell": "#66a61e",
    "cd8_t_cell": "#1b7837",
    "treg": "#a6d854",
    "nk_cell": "#00a087",
    "b_cell": "#80cdc1",
    "dendritic_cell": "#bf812d",
    "endothelial_cell": "#e377c2",
    "adipocyte": "#ffd92f",
    "caa": "#ff7f00",
    "msc": "#8da0cb",
    "niche_cell": "#7f7f7f",
}
# Fallback colours, picked by a stable hash of the id (never Python's salted hash()).
FALLBACK = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
    "#843c39",
)
# a state keeps its type's hue family: darker, its hue turned by one of these (stable hash)
STATE_HUE_TURNS = (-0.04, 0.04, -0.08, 0.08, 0.0)
STATE_DARKNESS = (0.55, 0.72)  # lightness kept, by a second hash
STATE_MARKERS = ("^", "s", "D", "v", "P", "X")
ARM_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
ARM_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
ARM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
DEFAULT_UNITS = {
    "count": "cells",
    "fraction": "fraction of cells",
    "exosomes": "exosomes per mL",
    "tumour_derived": "fraction above the healthy baseline",
    "drug": "µM",
    "killed": "cells",
    "offtarget_exposure": "µM × day",
    "activity": "relative level (1 = baseline)",
    "surface": "relative display (1 = baseline)",
    "internalised": "exosomes per cell",
    "ratio": "ratio of two readouts",  # a scenario's own `unit` says which (e.g. copies per cell)
}


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def human(value: float, unit: str = "") -> str:
    """A number as a person reads it: ``41%`` for fractions, ``9.9×10⁸ cells``, ``0.042 µM``."""
    if not math.isfinite(value):
        return "n/a"
    if unit.startswith("fraction"):
        if value == 0 or abs(value) >= 0.1:
            return f"{value:.0%}"
        return f"{value:.1%}" if abs(value) >= 0.001 else f"{value:.2g}"
    if value != 0 and not 1e-3 <= abs(value) < 1e4:
        mantissa, exponent = f"{value:.2e}".split("e")
        text = f"{float(mantissa):g}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    else:
        text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def _stable(text: str, n: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % n


def _state_variant(colour: str, state: str) -> str:
    """``colour`` darkened, with its hue turned by an amount picked by a hash of ``state``."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    hue, light, sat = colorsys.rgb_to_hls(*rgb)
    turn = STATE_HUE_TURNS[_stable(state, len(STATE_HUE_TURNS))]
    keep = STATE_DARKNESS[_stable(state[::-1], len(STATE_DARKNESS))]
    out = colorsys.hls_to_rgb((hue + turn) % 1.0, light * keep, min(1.0, sat * 1.1))
    return "#" + "".join(f"{round(c * 255):02x}" for c in out)


def cell_colour(kb: KnowledgeBase | None, cell: str, state: str | None = None) -> str:
    """One colour per cell type and state, the same in every run and every figure: the type's
    own colour, else its nearest listed ancestor's, else one picked by a hash of its id; a
    state other than drug-sensitive darkens it and turns its hue by an amount picked by a
    hash of the state."""
    chain = kb.ancestors(cell) if kb is not None and cell in kb.cell_types else [cell]
    base = next((TYPE_COLOURS[c] for c in chain if c in TYPE_COLOURS), None)
    base = base or FALLBACK[_stable(cell, len(FALLBACK))]
    if not state or state == "sensitive":
        return base
    return _state_variant(base, state)


def cell_marker(state: str | None) -> str:
    """A marker per state (a circle without one, or drug-sensitive), the same in every run."""
    if not state or state == "sensitive":
        return "o"
    return STATE_MARKERS[_stable(state, len(STATE_MARKERS))]


def _short(name: str) -> str:
    """``doxorubicin/adriamycin-resistant`` → ``doxorubicin-resistant``; parentheses dropped."""
    name = re.sub(r"\s*\([^)]*\)", "", name)
    return re.sub(r"\b([\w-]+)/[\w-]+(?=-)", r"\1", name).strip()


def cell_type_label(kb: KnowledgeBase, cell: str) -> str:
    """A cell type's name, or a short synonym naming a cell when the name is long."""
    entry = kb.cell_types.get(cell)
    if entry is None:
        return cell.replace("_", " ")
    name = _short(entry.name)
    if len(name) <= 30:
        return name
    cells = [s for s in entry.synonyms if s.lower().endswith(" cell")]
    return min(cells, key=len) if cells else name


def state_label(kb: KnowledgeBase, state: str) -> str:
    entry = kb.cell_states.get(state)
    if entry is None:
        return state.replace("_", " ")
    name = _short(entry.name)
    return name if len(name) <= 28 else state.replace("_", "-")


def cell_label(kb: KnowledgeBase, cell: str, state: str | None = None) -> str:
    """``TNBC cell, doxorubicin-resistant``; a drug-sensitive state is named too."""
    label = cell_type_label(kb, cell)
    return f"{label}, {state_label(kb, state)}" if state else label


def cells_label(kb: KnowledgeBase, cell: str, state: str | None = None) -> str:
    """The plural: ``TNBC cells (doxorubicin-resistant)``."""
    label = cell_type_label(kb, cell)
    plural = label if label.endswith("s") else f"{label}s"
    return f"{plural} ({state_label(kb, state)})" if state else plural


def molecule_label(kb: KnowledgeBase, key: str) -> str:
    """A cargo as people write it: ``miR-9``, ``ABCB1 (P-glycoprotein)``, ``TRPC5``."""
    molecule = kb.molecules.get(key) or kb.find_molecule(key)
    if molecule is None:
        return key
    if molecule.type == "miRNA" and molecule.synonyms:
        return molecule.synonyms[0]
    if molecule.name and molecule.name != molecule.id and len(molecule.name) <= 20:
        return f"{molecule.id} ({molecule.name})"
    return molecule.id


def selector_label(kb: KnowledgeBase, selector: CellSelector | None, plural: bool = True) -> str:
    """``doxorubicin-resistant breast cancer cells in the tumour``."""
    if selector is None:
        return "cells"
    cell = cell_type_label(kb, selector.cell) if selector.cell else "cell"
    text = f"{cell}s" if plural and not cell.endswith("s") else cell
    if selector.state:
        text = f"{state_label(kb, selector.state)} {text}"
    if selector.compartment:
        where = "the tumour" if selector.compartment == "tumour" else selector.compartment
        text += f" in {where.replace('_', ' ')}"
    return text


def readout_title(kb: KnowledgeBase, readout: Readout) -> str:
    """The readout's description, or one written from its definition."""
    if readout.description:
        return _capital(readout.description)
    title = _TITLES.get(readout.kind, _ratio_title)
    return _capital(title(kb, readout) + _band(kb, readout))


def _where(readout: Readout, default: str) -> str:
    """The readout's compartment in words, or ``default`` when it names none."""
    return (readout.compartment or "").replace("_", " ") or default


def _drug(kb: KnowledgeBase, readout: Readout) -> str:
    return molecule_label(kb, readout.drug or "")


def _fraction_title(kb: KnowledgeBase, readout: Readout) -> str:
    among = selector_label(kb, readout.among)
    return f"share of {among} that are {_which(kb, readout.of, readout.among)}"


def _exosomes_title(kb: KnowledgeBase, readout: Readout) -> str:
    cargo = molecule_label(kb, readout.cargo) if readout.cargo else "all"
    carried = cargo if "exosome" in cargo.lower() else f"{cargo} exosomes"
    return f"{carried} in {_where(readout, 'the tumour')}"


def _tumour_derived_title(kb: KnowledgeBase, readout: Readout) -> str:
    cargo = molecule_label(kb, readout.cargo) if readout.cargo else "exosomes"
    return f"share of {cargo} in {_where(readout, 'plasma')} released by the tumour"


def _activity_title(kb: KnowledgeBase, readout: Readout) -> str:
    phenotype = (readout.phenotype or "").replace("_", " ")
    return f"{phenotype} activity of {selector_label(kb, readout.of)}"


def _ratio_title(kb: KnowledgeBase, readout: Readout) -> str:
    return f"{readout.numerator} per {readout.denominator}".replace("_", " ")


# a title (before its distance band) written from each kind of readout's definition
_TITLES: dict[str, Callable[[KnowledgeBase, Readout], str]] = {
    "count": lambda kb, r: selector_label(kb, r.of),
    "fraction": _fraction_title,
    "exosomes": _exosomes_title,
    "tumour_derived": _tumour_derived_title,
    "drug": lambda kb, r: f"{_drug(kb, r)} in {_where(r, 'plasma')}",
    "killed": lambda kb, r: f"cells killed by {_drug(kb, r)} (cumulative)",
    "offtarget_exposure": lambda kb, r: f"off-target exposure to {_drug(kb, r)}",
    "activity": _activity_title,
    "surface": lambda kb, r: f"{r.cargo} on the surface of {selector_label(kb, r.of)}",
    "internalised": lambda kb, r: f"{r.cargo} exosomes held by {selector_label(kb, r.of)}",
    "ratio": _ratio_title,
}


def _capital(text: str) -> str:
    """Capitalised, unless the first word has its own capitals (``miR-9``, ``HER2+``)."""
    first = text.split(" ", 1)[0]
    return text if first != first.lower() else text[:1].upper() + text[1:]


def _band(kb: KnowledgeBase, readout: Readout) -> str:
    """Tissue readouts: the distance band the cells are counted in."""
    band = readout.band
    if band is None:
        return ""
    to = f"the nearest {selector_label(kb, band.of, plural=False)}" if band.of else "the centre"
    if band.max is not None and band.min:
        return f", {band.min:g}-{band.max:g} µm from {to}"
    if band.max is not None:
        return f", within {band.max:g} µm of {to}"
    return f", {band.min:g} µm or more from {to}"


def _which(kb: KnowledgeBase, of: CellSelector | None, among: CellSelector | None) -> str:
    """What sets the numerator of a fraction apart: its cell type and/or state."""
    if of is None:
        return "counted"
    parts = []
    if of.state:
        parts.append(state_label(kb, of.state))
    if of.cell and (among is None or of.cell != among.cell):
        cell = cell_type_label(kb, of.cell)
        parts.append(cell if cell.endswith("s") else f"{cell}s")
    return " ".join(parts) or "counted"


def readout_unit(readout: Readout) -> str:
    return readout.unit or DEFAULT_UNITS.get(readout.kind, "")


@dataclass(frozen=True)
class Mark:
    """A day on which an intervention acts: a dose, surgery, or the start of a treatment."""

    day: float
    kind: str  # dose, surgery, start
    label: str


def intervention_marks(kb: KnowledgeBase | None, arm: Arm, duration: float) -> list[Mark]:
    """The days an arm's interventions act on, within the run: each dose of a drug, carrier
    or exosome dose, a surgery, and the start of a treatment that begins after day 0."""
    marks: list[Mark] = []
    for item in arm.interventions:
        schedule = getattr(item, "schedule", None)
        what = getattr(item, "drug", None) or getattr(item, "cargo", None)
        name = molecule_label(kb, what) if kb is not None and what else what
        if schedule is not None:
            count = schedule.doses if schedule.every else 1
            label = f"{name} dose" if name else "exosome dose"
            days = [schedule.start + k * (schedule.every or 0.0) for k in range(count)]
            marks += [Mark(day, "dose", label) for day in days]
        elif item.type == "surgery":
            marks.append(Mark(item.day, "surgery", "surgery"))  # type: ignore[union-attr]
        elif getattr(item, "start", 0.0):
            label = item.type.replace("_", " ") + (f" ({name})" if name else "") + " starts"
            marks.append(Mark(item.start, "start", label))  # type: ignore[union-attr]
    return [m for m in marks if m.day <= duration]
