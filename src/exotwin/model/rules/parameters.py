"""Every parameter the model reads, declared with its unit, and the book an arm's vector is
written in.

The library refuses to load when a declared parameter is missing, carries another unit, or
when parameters.yaml holds one that nothing reads (see :func:`check_declared`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from .schema import Param, Rule

if TYPE_CHECKING:
    from .library import Library

# Read by the compartment model's equations (beside the per-cell-type rates of cells.yaml).
MODEL_PARAMETERS: dict[str, str] = {
    "uptake_max": "exosomes/cell/day",
    "uptake_half_saturation": "exosomes/mL",
    "contact_signal": "exosome-equivalents per cell",
    "internal_decay": "1/day",
    "culture_decay": "1/day",
    "tissue_decay": "1/day",
    "tumour_drainage": "1/day",
    "tumour_vascular_release": "fraction of the tumour cells' exosome release",
    "plasma_clearance": "1/day",
    "plasma_background_ev": "EVs/mL",
    "analyte_background_copies": "copies per EV",
    "niche_fraction_liver": "fraction of plasma clearance",
    "niche_fraction_lung": "fraction of plasma clearance",
    "niche_fraction_bone": "fraction of plasma clearance",
    "niche_fraction_brain": "fraction of plasma clearance",
    "niche_fraction_lymph_node": "fraction of plasma clearance",
    "tumour_clearance_share": "fraction of plasma clearance per tumour cell",
    "exosome_homing_fold": "multiple of an organ's share of plasma clearance",
    "niche_decay": "1/day",
    "culture_volume": "mL",
    "interstitial_volume_per_cell": "mL per cell",
    "tumour_min_volume": "mL",
    "mouse_to_patient_tumour_share": "per tumour cell, per share of a dose in a mouse tumour",
    "carrier_offtarget_free_share": "fraction",
    "ic50_assay_time": "day",
    "quiescent_kill_share": "fraction",
    "plasma_volume": "mL",
    "niche_volume": "mL",
    "culture_capacity": "cells",
    "tumour_capacity": "cells",
    "niche_capacity": "cells",
    "seeding_rate": "1/day per cancer cell and niche",
    "activity_relaxation": "1/day",
    "basal_loading": "fraction of the donor state's loading",
    "acquired_resistance_loss": "1/day",
    "feedback_half_share": "fraction of the compartment's cells",
    "rule_loading": "fraction of exosomes",
    "rule_half_max": "exosomes internalised per cell",
    "rule_hill": "1",
    "rule_max_rate": "1/day",
    "rule_fold": "multiple of the base rate",
    "exosome_particles_per_ug": "particles per µg of exosomal protein",  # doses in µg
    "body_weight": "kg",  # doses per kg
    "body_surface_area": "m2",  # doses per m2 (the amount an exosome carrier holds)
    "surface_sorted_share": "fraction of displayed cargo",
}

# Read by the tissue engine (units: µm and minutes).
TISSUE_PARAMETERS: dict[str, str] = {
    "exosome_diffusion": "µm²/min",
    "cell_volume": "µm³",
    "cell_repulsion": "µm/min",
    "cell_adhesion": "µm/min",
    "adhesion_reach": "multiple of the radius",
    "relay_reach": "µm",
    "volume_recovery": "1/min",
    "contact_inhibition_pressure": "PhysiCell simple pressure",
    "apoptosis_duration": "min",
    "necrosis_duration": "min",
    "oxygen_diffusion": "µm²/min",
    "oxygen_decay": "1/min",
    "oxygen_boundary": "mmHg",
    "oxygen_uptake": "1/min (times cell volume)",
    "oxygen_hypoxic": "mmHg",
    "oxygen_saturation": "mmHg",
    "oxygen_anoxic": "mmHg",
    "necrosis_max_rate": "1/min",
    "drug_diffusion": "µm²/min",
    "chemotaxis_bias": "fraction of motion up the exosome gradient",
}

# Read by the simulated liquid-biopsy assay of plasma readouts (scenario/assay.py).
ASSAY_PARAMETERS: dict[str, str] = {
    "assay_cv": "coefficient of variation",
    "assay_detection_limit": "copies/mL",
}

DECLARED = MODEL_PARAMETERS | TISSUE_PARAMETERS | ASSAY_PARAMETERS


def oral_parameter(drug: str) -> str:
    """The parameter an oral dose of ``drug`` reads: the share of it reaching the blood."""
    return f"{drug}_oral_bioavailability"


def declaration_problems(parameters: dict[str, Param], referenced: set[str]) -> dict[str, str]:
    """Problems by parameter name: declared but missing or in another unit, or present but
    read by nothing (neither declared nor named by a cell type's behaviour)."""
    problems: dict[str, str] = {}
    for name, unit in DECLARED.items():
        if name not in parameters:
            problems[name] = f"missing parameter {name!r} (unit {unit})"
        elif parameters[name].unit != unit:
            problems[name] = (
                f"parameter {name!r} must be in {unit!r} (the model reads it so), "
                f"found {parameters[name].unit!r}"
            )
    for name in parameters:
        if name not in DECLARED and name not in referenced:
            problems[name] = (
                f"unknown parameter {name!r}: nothing reads it (not a model or tissue "
                "parameter, and no cell type's behaviour or rule's induced_by names it)"
            )
    return problems


@dataclass(frozen=True)
class TissueParameters:
    """Values of the tissue engine's parameters (validated when the library loads)."""

    exosome_diffusion: float
    cell_volume: float
    cell_repulsion: float
    cell_adhesion: float
    adhesion_reach: float
    relay_reach: float
    volume_recovery: float
    contact_inhibition_pressure: float
    apoptosis_duration: float
    necrosis_duration: float
    oxygen_diffusion: float
    oxygen_decay: float
    oxygen_boundary: float
    oxygen_uptake: float
    oxygen_hypoxic: float
    oxygen_saturation: float
    oxygen_anoxic: float
    necrosis_max_rate: float
    drug_diffusion: float
    chemotaxis_bias: float

    @staticmethod
    def of(lib: Library, overrides: dict[str, float]) -> TissueParameters:
        return TissueParameters(
            **{f.name: lib.value(f.name, overrides) for f in fields(TissueParameters)}
        )


class ParameterBook:
    """The parameters one arm reads, registered by name in the order they are first used.

    Names: a library parameter by its id (``uptake_max``), a rule's own value as
    ``<rule>.<field>`` (else the shared default ``rule_<field>``), a drug's as
    ``<drug>.<field>``, an intervention's as ``intervention<j>.<field>``, the exosome lifecycle's
    as ``lifecycle.<name>``.
    """

    def __init__(self, lib: Library, overrides: dict[str, float]) -> None:
        self.lib, self.overrides = lib, overrides
        self.entries: dict[str, Param] = {}
        self.position: dict[str, int] = {}

    def add(self, name: str, param: Param) -> str:
        if name not in self.entries:
            self.entries[name] = param
            self.position[name] = len(self.position)
        return name

    def global_(self, name: str) -> str:
        param = self.lib.parameters[name]
        if name in self.overrides or param.includes in self.overrides:
            param = param.model_copy(update={"value": self.lib.value(name, self.overrides)})
        return self.add(name, param)

    def rule(self, rule: Rule, name: str) -> str:
        own: Param | None = getattr(rule, name)
        if own is None:
            return self.global_(f"rule_{name}")
        return self.add(f"{rule.id}.{name}", own)

    def drug(self, drug: str, name: str) -> str:
        return self.add(f"{drug}.{name}", getattr(self.lib.drugs[drug], name))

    def intervention(self, j: int, name: str, value: float, unit: str = "1") -> str:
        return self.add(f"intervention{j}.{name}", Param(value=value, unit=unit, source="scenario"))

    def count(self, population: int, value: float) -> str:
        """A population's declared count (cells), a parameter ``population<i>.count`` (the
        source of effector cells reads it; a cohort scales it with the counts)."""
        return self.add(
            f"population{population}.count", Param(value=value, unit="cells", source="scenario")
        )

    def lifecycle(self, name: str) -> str:
        """A rate or share of the exosome lifecycle (model/data/lifecycle), a library parameter
        ``lifecycle.<name>`` (a scenario may override it)."""
        return self.global_(f"lifecycle.{name}")

    def index(self, name: str) -> int:
        return self.position[name]
