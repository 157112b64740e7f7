"""Schema of the model's data files: parameters, drugs, rules and scenarios.

Every number carries its provenance: a literature source, or ``assumption`` with a range.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ..knowledge.schema import Identifier, Strict, Text

Compartment = Literal["culture", "tumour", "plasma", "lung", "liver", "bone", "brain", "lymph_node"]
NICHES: tuple[Compartment, ...] = ("lung", "liver", "bone", "brain", "lymph_node")


class Param(Strict):
    """A value with its unit and provenance; ``low``/``high`` bound it for sensitivity work."""

    value: float
    unit: str = "1"
    source: Annotated[str, StringConstraints(min_length=3)]
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _finite_and_in_range(self) -> Param:
        for name in ("value", "low", "high"):
            number = getattr(self, name)
            if number is not None and (not math.isfinite(number) or number < 0):
                raise ValueError(f"{name} must be a finite, non-negative number (got {number})")
        if self.source.lower().startswith("assumption") and (self.low is None or self.high is None):
            raise ValueError("an assumption needs a plausible range: give low and high")
        low = self.low if self.low is not None else self.value
        high = self.high if self.high is not None else self.value
        if not low <= self.value <= high:
            raise ValueError(f"value {self.value} lies outside its range [{low}, {high}]")
        return self


class ParameterEntry(Param):
    id: Identifier
    description: str = ""


class Drug(Strict):
    """Pharmacokinetics (one compartment, bolus doses) and pharmacodynamics (Emax kill)."""

    id: Text  # a drug molecule id of the evidence graph
    drug_class: Literal["chemotherapy", "endocrine", "antibody", "checkpoint_inhibitor"]
    groups: list[Text] = []  # names a resistance may refer to: chemotherapy, HER2-targeted therapy
    half_life: Param  # hours
    concentration_per_dose: Param  # uM of effective plasma concentration per dose unit
    dose_unit: Text
    kill_max: Param  # 1/day at saturating concentration
    ec50: Param  # uM
    hill: Param
    resistance_fold: Param  # EC50 multiplier in cells resistant to the drug
    tumour_exchange: Param  # 1/day, plasma <-> tumour interstitium
    kills: list[Identifier] = ["cancer_cell"]  # cell types (with sub-types) the drug kills
    blocks_cargo: list[Text] = []  # exosomal cargo whose signal the drug blocks (antibody)
    block_kd: Param | None = None  # uM, occupancy C/(C+Kd)
    bound_by_cargo: list[Text] = []  # exosomes bearing this cargo bind and remove the drug
    binding_sites: Param | None = None  # drug-binding sites per exosome
    binding_kd: Param | None = None  # uM


class Rule(Strict):
    """A knowledge record made dynamic: its cargo, cells and effects plus rate parameters.

    Parameters left out take the defaults of ``parameters.yaml`` (``rule_*`` entries).
    """

    id: Identifier
    record: Identifier
    also: list[Identifier] = []  # further records of the same finding (e.g. the other review)
    donor_state: Identifier | None = None  # narrows the record's donor to a sub-state
    effects: list[Identifier] = []  # a subset of the record's effect phenotypes; default all
    loading: Param | None = None  # fraction of the donor's exosomes carrying the cargo
    half_max: Param | None = None  # exosomes internalised per receiver cell at half response
    hill: Param | None = None
    max_rate: Param | None = None  # 1/day, for induced transitions and seeding
    fold: Param | None = None  # saturation as a multiple of a base rate
    note: str = ""


class PopulationSpec(Strict):
    """Initial cells; ``surface`` lists molecules on their membrane that receivers in the same
    compartment sense by contact, like the same cargo taken up from exosomes (PD-L1)."""

    cell: Identifier
    state: Identifier | None = None
    compartment: Compartment = "tumour"
    count: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    surface: list[Text] = []


class CellSelector(Strict):
    cell: Identifier | None = None
    state: Identifier | None = None
    compartment: Compartment | None = None


class Mechanisms(Strict):
    """Which rules enter the model: all that apply, or by rule id, record id or record tag."""

    all: bool = False
    rules: list[Identifier] = []
    records: list[Identifier] = []
    tags: list[Identifier] = []
    exclude: list[Identifier] = []


class Schedule(Strict):
    start: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    every: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    doses: Annotated[int, Field(ge=1)] = 1


class DrugTreatment(Strict):
    """A drug given as doses (in the drug's dose unit) or, in culture, as a concentration (uM)."""

    type: Literal["drug"]
    drug: Text
    dose: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    concentration: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    schedule: Schedule = Schedule()

    @model_validator(mode="after")
    def _dose_or_concentration(self) -> DrugTreatment:
        if (self.dose is None) == (self.concentration is None):
            raise ValueError("give either dose or concentration")
        return self


class CarrierTreatment(Strict):
    """Drug loaded into engineered exosomes: slower clearance, part delivered to the tumour."""

    type: Literal["exosome_carrier"]
    drug: Text
    dose: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    schedule: Schedule = Schedule()
    carrier_half_life: Param  # hours
    tumour_fraction: Param  # fraction of carrier drug delivered to the tumour


class ReleaseInhibitor(Strict):
    type: Literal["release_inhibitor"]
    efficacy: Annotated[float, Field(ge=0, le=1)]
    donors: CellSelector | None = None
    start: Annotated[float, Field(ge=0)] = 0.0


class CargoKnockdown(Strict):
    """Less of a cargo loaded into exosomes (knock-down, depletion)."""

    type: Literal["cargo_knockdown"]
    cargo: Text
    efficacy: Annotated[float, Field(ge=0, le=1)]
    start: Annotated[float, Field(ge=0)] = 0.0


class CargoOverexpression(Strict):
    type: Literal["cargo_overexpression"]
    cargo: Text
    fold: Annotated[float, Field(ge=1, allow_inf_nan=False)]


class SignalBlocker(Strict):
    """An inhibitor of a cargo's action in receivers (LDN-57444 against UCH-L1)."""

    type: Literal["signal_blocker"]
    cargo: Text
    efficacy: Annotated[float, Field(ge=0, le=1)]
    start: Annotated[float, Field(ge=0)] = 0.0


class ExosomeDose(Strict):
    """Exosomes added to a compartment: loaded with one ``cargo`` (all of them carry it), or
    isolated from a ``donor`` (they carry what the donor's rules load, at its loading)."""

    type: Literal["exosome_dose"]
    cargo: Text | None = None
    donor: CellSelector | None = None
    exosomes: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    compartment: Compartment = "tumour"
    schedule: Schedule = Schedule()

    @model_validator(mode="after")
    def _cargo_or_donor(self) -> ExosomeDose:
        if (self.cargo is None) == (self.donor is None):
            raise ValueError("give either cargo or donor")
        if self.donor is not None and self.donor.cell is None:
            raise ValueError("a donor needs a cell type")
        return self


class Surgery(Strict):
    type: Literal["surgery"]
    day: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    fraction_removed: Annotated[float, Field(ge=0, le=1)]
    compartment: Compartment = "tumour"


Intervention = Annotated[
    DrugTreatment
    | CarrierTreatment
    | ReleaseInhibitor
    | CargoKnockdown
    | CargoOverexpression
    | SignalBlocker
    | ExosomeDose
    | Surgery,
    Field(discriminator="type"),
]


class Arm(Strict):
    name: Identifier
    description: str = ""
    interventions: list[Intervention] = []
    populations: list[PopulationSpec] | None = None  # replaces the scenario's populations


ReadoutKind = Literal[
    "count", "fraction", "exosomes", "drug", "activity", "killed", "offtarget_exposure", "ratio"
]


class Readout(Strict):
    """A named quantity computed from the state (no expressions: a kind and its operands)."""

    name: Identifier
    kind: ReadoutKind
    of: CellSelector | None = None  # count/fraction numerator, activity population
    among: CellSelector | None = None  # fraction denominator
    cargo: Text | None = None  # exosomes
    compartment: Compartment | None = None  # exosomes, drug
    drug: Text | None = None  # drug, killed, offtarget_exposure
    phenotype: Identifier | None = None  # activity
    numerator: Identifier | None = None  # ratio
    denominator: Identifier | None = None  # ratio
    unit: str = ""
    description: str = ""


class Operand(Strict):
    arm: Identifier | None = None  # default: the check's arm
    day: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = (
        None  # default: the check's day
    )
    readout: Identifier | None = None  # default: the check's readout
    value: float | None = None  # a constant instead of a readout
    relative_to: Identifier | None = None  # divide by the same readout and day in this arm


class Check(Strict):
    """``readout`` in ``arm`` at ``day`` compared with another arm, day, readout or constant.

    ``relative_to`` (on the check and on ``than``) divides a side by the same readout and day
    in another arm, so that effects can be compared: the benefit of a drug with and without
    exosomes is tumour(drug)/tumour(untreated) against tumour(drug+inhibitor)/tumour(inhibitor).
    """

    name: Identifier
    readout: Identifier
    arm: Identifier
    day: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    op: Literal[">", "<", ">=", "<="]
    than: Operand
    factor: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0  # compare with factor x other
    relative_to: Identifier | None = None
    claim: str = ""


class Scenario(Strict):
    id: Identifier
    title: Text
    description: str = ""
    records: list[Identifier] = []  # records whose claims the checks reproduce
    subtype: str = ""
    populations: Annotated[list[PopulationSpec], Field(min_length=1)]
    mechanisms: Mechanisms
    arms: Annotated[list[Arm], Field(min_length=1)]
    duration: Annotated[float, Field(gt=0, le=3650, allow_inf_nan=False)]
    output_every: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    readouts: Annotated[list[Readout], Field(min_length=1)]
    checks: list[Check] = []
    parameters: dict[str, float] = {}  # overrides of parameters.yaml values (same units)


class CellBehaviour(Strict):
    """Base behaviour of a cell type (and its sub-types): parameter ids for its rates."""

    cell: Identifier
    growth: Identifier | None = None
    death: Identifier | None = None
    secretion: Identifier = "secretion_rate"
    kills: list[Identifier] = []  # cell types it kills
    kill_rate: Identifier | None = None
