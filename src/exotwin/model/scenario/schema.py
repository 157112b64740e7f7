"""Schema of scenario files: populations, arms and their interventions, readouts, checks and
the spatial (tissue) version of a scenario."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ...knowledge.schema import Identifier, Text
from ..rules.schema import MAX_AGENTS, MAX_CELLS, NICHES, CellCount, Compartment, Param, Strict

__all__ = ["MAX_AGENTS", "MAX_CELLS", "NICHES", "CellCount", "Compartment", "Param", "Strict"]


class PopulationSpec(Strict):
    """Initial cells; ``surface`` lists molecules on their membrane that receivers in the same
    compartment sense by contact, like the same cargo taken up from exosomes (PD-L1)."""

    cell: Identifier
    state: Identifier | None = None
    compartment: Compartment = "tumour"
    count: CellCount
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
    route: Literal["iv", "oral"] = "iv"  # oral: the drug's oral_bioavailability reaches plasma

    @model_validator(mode="after")
    def _dose_or_concentration(self) -> DrugTreatment:
        if (self.dose is None) == (self.concentration is None):
            raise ValueError("give either dose or concentration")
        if self.route == "oral" and self.dose is None:
            raise ValueError("an oral drug is given as a dose, not a concentration")
        return self


class CarrierTreatment(Strict):
    """Drug loaded into engineered exosomes: slower clearance, part delivered to the tumour."""

    type: Literal["exosome_carrier"]
    drug: Text
    dose: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    schedule: Schedule = Schedule()
    carrier_half_life: Param  # hours
    tumour_fraction: Param  # share of a dose reaching a mouse tumour (scaled to the patient)
    route: Literal["iv", "oral"] = "iv"
    bioavailability: Param | None = None  # oral: the share of the carried dose that reaches blood

    @model_validator(mode="after")
    def _oral_bioavailability(self) -> CarrierTreatment:
        if (self.route == "oral") != (self.bioavailability is not None):
            raise ValueError("an oral carrier needs its bioavailability, and only an oral one")
        return self


class ReleaseInhibitor(Strict):
    """The shorthand of an intervention at the lifecycle's first step: ``efficacy`` fewer
    exosomes released by the donors, their cargo included (an ``mvb_blocker``: see
    docs/biogenesis.md)."""

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


class DonorKnockdown(Strict):
    """A cargo knocked down in the donor cells exosomes were isolated from."""

    cargo: Text
    efficacy: Annotated[float, Field(ge=0, le=1)]


class ExosomeDose(Strict):
    """Exosomes added to a compartment: loaded with one ``cargo`` (all of them carry it), or
    isolated from a ``donor`` (they carry what the donor's rules load, at its loading; a
    ``knockdown`` in those donor cells lowers a cargo's loading). The amount is a particle
    count (``exosomes``), or µg of exosomal protein per dose (``protein_ug``) or per kg of body
    weight (``protein_ug_per_kg``), as studies give it: particles per µg and body weight are
    parameters (``exosome_particles_per_ug``, ``body_weight``)."""

    type: Literal["exosome_dose"]
    cargo: Text | None = None
    donor: CellSelector | None = None
    exosomes: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    protein_ug: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    protein_ug_per_kg: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    compartment: Compartment = "tumour"
    schedule: Schedule = Schedule()
    knockdown: list[DonorKnockdown] = []

    @model_validator(mode="after")
    def _cargo_or_donor(self) -> ExosomeDose:
        if (self.cargo is None) == (self.donor is None):
            raise ValueError("give either cargo or donor")
        amounts = (self.exosomes, self.protein_ug, self.protein_ug_per_kg)
        if sum(a is not None for a in amounts) != 1:
            raise ValueError("give exactly one of exosomes, protein_ug or protein_ug_per_kg")
        if self.donor is not None and self.donor.cell is None:
            raise ValueError("a donor needs a cell type")
        if self.knockdown and self.donor is None:
            raise ValueError("knockdown acts in donor cells: give a donor")
        return self


class Band(Strict):
    """Tissue only: the cells whose distance (µm) to the nearest cell matching ``of`` (or,
    without ``of``, to the domain centre) lies in [min, max); a readout counts them, a
    lifecycle intervention acts in them."""

    of: CellSelector | None = None
    min: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    max: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


STEP_OF = {  # the lifecycle step each intervention type acts at (model/data/lifecycle)
    "mvb_blocker": "mvb_production",
    "machinery_depletion": "ilv_sorting",
    "loader_knockdown": "loading",
    "lysosome_inhibitor": "lysosomal_fusion",
    "release_machinery_inhibitor": "mvb_release",
    "uptake_blocker": "uptake",
}


class StepIntervention(Strict):
    """An intervention at a named step of the exosome lifecycle (docs/biogenesis.md).

    ``mvb_blocker``: fewer MVBs made (an ``agent`` such as rapamycin or U18666A);
    ``machinery_depletion``: a sorting ``machinery`` (escrt, alix) depleted, so fewer vesicles
    and less of the cargo it sorts; ``loader_knockdown``: a loader (hnrnpa2b1) knocked down, so
    less of its cargo; ``lysosome_inhibitor``: fewer MVBs fuse with lysosomes, more are
    released; ``release_machinery_inhibitor``: fewer MVBs fuse with the plasma membrane, more
    are degraded; ``uptake_blocker``: one uptake ``route`` of the ``receivers`` blocked.
    ``band`` (tissue only): the intervention acts only in the cells at that distance, e.g.
    within 100 µm of the nearest cancer cell (a drug given into and around the tumour).
    """

    type: Literal[
        "mvb_blocker",
        "machinery_depletion",
        "loader_knockdown",
        "lysosome_inhibitor",
        "release_machinery_inhibitor",
        "uptake_blocker",
    ]
    efficacy: Annotated[float, Field(ge=0, le=1)]
    agent: Text | None = None
    machinery: Text | None = None
    route: Identifier | None = None
    donors: CellSelector | None = None
    receivers: CellSelector | None = None
    start: Annotated[float, Field(ge=0)] = 0.0
    band: Band | None = None

    @property
    def step(self) -> str:
        return STEP_OF[self.type]

    @model_validator(mode="after")
    def _fields_of_the_step(self) -> StepIntervention:
        needs_machinery = self.type in {"machinery_depletion", "loader_knockdown"}
        if needs_machinery != (self.machinery is not None):
            raise ValueError(f"{self.type} {'needs' if needs_machinery else 'takes no'} machinery")
        uptake = self.type == "uptake_blocker"
        if uptake != (self.route is not None):
            raise ValueError(f"{self.type} {'needs' if uptake else 'takes no'} route")
        if uptake and self.donors is not None:
            raise ValueError("an uptake_blocker acts in receivers: give receivers, not donors")
        if not uptake and self.receivers is not None:
            raise ValueError(f"{self.type} acts in donors: give donors, not receivers")
        if uptake and self.band is not None:
            raise ValueError("band: the tissue engine has no uptake routes yet")
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
    | StepIntervention
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
    "count",
    "fraction",
    "exosomes",
    "tumour_derived",
    "drug",
    "activity",
    "surface",
    "internalised",
    "killed",
    "offtarget_exposure",
    "ratio",
]


class Assay(Strict):
    """A plasma ``exosomes`` readout as a liquid biopsy measures it (scenario/assay.py): seeded
    log-normal noise of coefficient of variation ``cv``, the mean of ``replicates``
    measurements, and 0 (not detected) below ``detection_limit`` copies/mL. Left out, ``cv``
    and ``detection_limit`` take ``assay_cv`` and ``assay_detection_limit`` of parameters.yaml."""

    cv: Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)] | None = None
    detection_limit: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    replicates: Annotated[int, Field(ge=1, le=100)] = 1


class Readout(Strict):
    """A named quantity computed from the state (no expressions: a kind and its operands)."""

    name: Identifier
    kind: ReadoutKind
    of: CellSelector | None = None  # count/fraction numerator, activity population
    among: CellSelector | None = None  # fraction denominator
    cargo: Text | None = None  # exosomes (copies/mL), tumour_derived (share), surface, internalised
    compartment: Compartment | None = None  # exosomes, drug
    drug: Text | None = None  # drug, killed, offtarget_exposure
    phenotype: Identifier | None = None  # activity
    numerator: Identifier | None = None  # ratio
    denominator: Identifier | None = None  # ratio
    band: Band | None = None  # tissue: only cells at this distance (count, fraction)
    assay: Assay | None = None  # plasma exosomes: read as a simulated liquid biopsy would
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


DEFAULT_MIN_EFFECT = 0.01  # a check's effect must be at least 1 % of the compared value


class Check(Strict):
    """``readout`` in ``arm`` at ``day`` compared with another arm, day, readout or constant.

    A strict comparison (``>``, ``<``) holds only with an effect of at least ``min_effect``
    (relative to the compared value; default 1 %): a difference of solver noise never passes.

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
    # the smallest relative effect that counts (default DEFAULT_MIN_EFFECT); another value
    # needs a reason
    min_effect: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    min_effect_reason: str = ""
    # a claim of the reviews the model does not yet reproduce, and why: reported, not hidden
    known_failure: str = ""

    @model_validator(mode="after")
    def _reasoned_effect(self) -> Check:
        if self.min_effect is not None and not self.min_effect_reason.strip():
            raise ValueError("a min_effect other than the default needs a min_effect_reason")
        return self


Micrometres = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Minutes = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class CellPlacement(Strict):
    """Initial cells of the tissue: ``count`` cells of one type placed by ``layout``.

    ``spheroid``: uniformly in a disc (2D) or ball (3D) of ``radius`` around ``centre``;
    ``shell``: between ``inner_radius`` and ``radius``; ``random``: anywhere in the domain,
    outside ``inner_radius`` of the centre when it is given; ``layer``: a slab of x in
    ``x_range``. Positions in µm, the domain centred on the origin.
    """

    cell: Identifier
    state: Identifier | None = None
    count: Annotated[int, Field(ge=0, le=MAX_AGENTS)]
    layout: Literal["spheroid", "shell", "random", "layer"]
    centre: list[float] = [0.0, 0.0, 0.0]
    radius: Micrometres | None = None
    inner_radius: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    x_range: tuple[float, float] | None = None
    surface: list[Text] = []

    @model_validator(mode="after")
    def _geometry(self) -> CellPlacement:
        if self.layout in {"spheroid", "shell"} and self.radius is None:
            raise ValueError(f"layout {self.layout} needs a radius (µm)")
        if self.layout == "shell" and self.inner_radius >= (self.radius or 0.0):
            raise ValueError("a shell needs inner_radius < radius")
        if self.layout == "layer" and (self.x_range is None or self.x_range[0] >= self.x_range[1]):
            raise ValueError("a layer needs x_range [low, high] with low < high (µm)")
        if len(self.centre) not in {2, 3}:
            raise ValueError("centre takes 2 or 3 coordinates (µm)")
        return self


class Tissue(Strict):
    """The spatial version of a scenario: a box of tissue, its voxels, cells and time steps.

    Time steps follow PhysiCell (diffusion 0.01, mechanics 0.1, phenotype 6 min); each must
    divide the next. ``domain`` is the box edge per axis (µm), centred on the origin.
    """

    dimensions: Literal[2, 3] = 2
    domain: Annotated[list[Micrometres], Field(min_length=2, max_length=3)]
    voxel: Micrometres = 20.0
    compartment: Literal["tumour", "culture"] = "tumour"
    cells: Annotated[list[CellPlacement], Field(min_length=1)]
    dt_diffusion: Minutes = 0.01
    dt_mechanics: Minutes = 0.1
    dt_phenotype: Minutes = 6.0
    oxygen: bool = False  # an oxygen field: hypoxia slows growth, anoxia causes necrosis
    snapshots: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = []  # days

    @model_validator(mode="after")
    def _consistent(self) -> Tissue:
        if not any(c.count for c in self.cells):
            raise ValueError("the tissue has no cells: give at least one placement a count > 0")
        if len(self.domain) != self.dimensions:
            raise ValueError(f"domain needs {self.dimensions} edges for {self.dimensions}D")
        for axis, edge in zip("xyz", self.domain, strict=False):
            if abs(edge / self.voxel - round(edge / self.voxel)) > 1e-9:
                raise ValueError(f"voxel {self.voxel} µm does not divide the {axis} edge {edge} µm")
        for small, big, names in (
            (self.dt_diffusion, self.dt_mechanics, "dt_diffusion must divide dt_mechanics"),
            (self.dt_mechanics, self.dt_phenotype, "dt_mechanics must divide dt_phenotype"),
        ):
            ratio = big / small
            if small > big or abs(ratio - round(ratio)) > 1e-6:
                raise ValueError(f"{names} (got {small} and {big} min)")
        return self


class Scenario(Strict):
    id: Identifier
    title: Text
    description: str = ""
    records: list[Identifier] = []  # records whose claims the checks reproduce
    subtype: str = ""
    populations: list[PopulationSpec] = []  # default: the tissue's cells, as counts
    mechanisms: Mechanisms
    arms: Annotated[list[Arm], Field(min_length=1)]
    duration: Annotated[float, Field(gt=0, le=3650, allow_inf_nan=False)]
    output_every: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    readouts: Annotated[list[Readout], Field(min_length=1)]
    checks: list[Check] = []
    parameters: dict[str, float] = {}  # overrides of parameters.yaml values (same units)
    tissue: Tissue | None = None  # the spatial version (``exotwin tissue``)

    @model_validator(mode="before")
    @classmethod
    def _tissue_populations(cls, data: object) -> object:
        """A tissue scenario's cells are also its well-mixed populations (same counts)."""
        if not isinstance(data, dict) or data.get("populations"):
            return data
        tissue = data.get("tissue")
        cells = tissue.get("cells") if isinstance(tissue, dict) else None
        if not isinstance(cells, list):
            return data
        compartment = tissue.get("compartment", "tumour")  # type: ignore[union-attr]
        populations = [
            {k: c[k] for k in ("cell", "state", "count", "surface") if k in c}
            | {"compartment": compartment}
            for c in cells
            if isinstance(c, dict)
        ]
        return {**data, "populations": populations}

    @model_validator(mode="after")
    def _populations(self) -> Scenario:
        if not self.populations:
            raise ValueError("give populations (or a tissue section with cells)")
        return self
