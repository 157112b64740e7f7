"""Schema of the model library's data files: parameters, drugs, rules and cell behaviours.

Every number carries its provenance: a literature source, or ``assumption`` with a range.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from ...knowledge.schema import Identifier, Text
from ...knowledge.schema import Strict as _Strict

Compartment = Literal["culture", "tumour", "plasma", "lung", "liver", "bone", "brain", "lymph_node"]
NICHES: tuple[Compartment, ...] = ("lung", "liver", "bone", "brain", "lymph_node")

MAX_CELLS = 1e13  # about 10 kg of tissue (1e9 cells per gram): beyond any patient or culture
MAX_AGENTS = 10_000_000  # cells one agent-based tissue run can hold in memory
CellCount = Annotated[float, Field(ge=0, le=MAX_CELLS, allow_inf_nan=False)]


class Strict(_Strict):
    """Base of the model's data files: also refuses NaN and infinity in every number."""

    model_config = ConfigDict(allow_inf_nan=False)


class Param(_Strict):  # checks finiteness itself, with its own message
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
    # another parameter that this value includes (a division rate measured as net growth plus
    # the basal death rate): draws vary its own part and add the included parameter's value
    includes: Identifier | None = None


class Drug(Strict):
    """Pharmacokinetics (one compartment, bolus doses) and pharmacodynamics: an Emax kill
    (cytotoxic, or immune-mediated for antibodies) and an Emax block of division (cytostatic:
    endocrine therapy, receptor blockade), both with the same EC50 and Hill power."""

    id: Text  # a drug molecule id of the evidence graph
    drug_class: Literal["chemotherapy", "endocrine", "antibody", "checkpoint_inhibitor"]
    groups: list[Text] = []  # names a resistance may refer to: chemotherapy, HER2-targeted therapy
    half_life: Param  # hours
    concentration_per_dose: Param  # uM of effective plasma concentration per dose unit
    dose_unit: Text
    molar_mass: Param | None = None  # g/mol: the amount a dose holds (an exosome carrier's)
    kill_max: Param  # 1/day at saturating concentration
    growth_inhibition: Param | None = None  # share of division blocked at saturation (cytostatic)
    ec50: Param  # uM
    hill: Param
    resistance_fold: Param  # EC50 multiplier in cells resistant to the drug
    tumour_exchange: Param  # 1/day, plasma <-> tumour interstitium
    kills: list[Identifier] = ["cancer_cell"]  # cell types (with sub-types) the drug kills
    blocks_cargo: list[Text] = []  # exosomal cargo whose signal the drug blocks (antibody)
    # cell types (with sub-types) in which it blocks that signal, the cells bearing the receptor
    # it binds (anti-PD-1: T cells' PD-1); none: every receiver (anti-PD-L1 binds the ligand)
    blocks_in: list[Identifier] = []
    block_kd: Param | None = None  # uM, occupancy C/(C+Kd)
    bound_by_cargo: list[Text] = []  # exosomes bearing this cargo bind and remove the drug
    binding_sites: Param | None = None  # drug-binding sites per exosome
    binding_kd: Param | None = None  # uM

    @property
    def immune_mediated(self) -> bool:
        """An antibody's kill needs the host's immune cells (ADCC): none in culture."""
        return self.drug_class == "antibody"


class Targeting(Strict):
    """A ligand on engineered exosomes (an antibody, a CAR, a peptide) that raises their
    uptake by the cells it binds: those take up the rule's cargo ``uptake_fold`` times as
    fast per cell as other cells of their compartment."""

    cell: Identifier  # the cell type bound (and its sub-types)
    uptake_fold: Param


class Decoy(Strict):
    """A receptor on exosomes that binds a ligand displayed by cells and their exosomes
    (exosomal PD-1 occupying PD-L1): the ligand's signal in every receiver of the compartment
    falls to its free share Kd / (Kd + [sites]), [sites] the decoy's binding sites per volume."""

    binds: Text  # the ligand cargo (a molecule of the graph)
    sites: Param  # binding sites per exosome
    kd: Param  # uM


class Induction(Strict):
    """A drug (or a group of drugs: ``chemotherapy``) that raises what the rule's donor cells
    put into their exosomes while they are exposed to it: their loading of the rule's cargo,
    or their release of exosomes. The donors' factor is 1 + (fold - 1) H, H the drug's Hill
    occupancy C^h / (C^h + EC50^h) at the concentration they see, with the drug's Hill power
    and EC50 (``ec50``: a parameter of its own instead), times its resistance fold in donors
    that resist it, as for its kill. Parameters are ids of parameters.yaml."""

    drug: Text  # a drug of the library or a group its drugs name (drugs.yaml ``groups``)
    raises: Literal["loading", "release"]
    fold: Identifier  # parameter: the factor at saturating exposure
    ec50: Identifier | None = None  # parameter (uM); default: the drug's EC50
    source: Annotated[str, StringConstraints(min_length=3)]


class Rule(Strict):
    """A knowledge record made dynamic: its cargo, cells and effects plus rate parameters.

    Parameters left out take the defaults of ``parameters.yaml`` (``rule_*`` entries).
    """

    id: Identifier
    record: Identifier
    also: list[Identifier] = []  # further records of the same finding (e.g. the other review)
    donor_state: Identifier | None = None  # narrows the record's donor to a sub-state
    # the record's effects the rule is written for (legacy; the others compile too unless
    # ``omit`` gives a reason): a rule is its record made dynamic, effects never drop silently
    effects: list[Identifier] = []
    omit: dict[Identifier, Text] = {}  # record effect phenotype -> why the rule leaves it out
    loading: Param | None = None  # fraction of the donor's exosomes carrying the cargo
    half_max: Param | None = None  # exosomes internalised per receiver cell at half response
    hill: Param | None = None
    max_rate: Param | None = None  # 1/day, for induced transitions and seeding
    fold: Param | None = None  # saturation as a multiple of a base rate
    targeting: Targeting | None = None  # a ligand on the exosomes carrying the cargo
    decoy: Decoy | None = None  # the cargo is a receptor that occupies a ligand (PD-1, PD-L1)
    # copies of the cargo in one dosed exosome loaded ex vivo (an siRNA), counted in natural
    # carriers of one copy each; none: a dosed exosome carries what one natural carrier does
    copies: Param | None = None
    induced_by: list[Induction] = []  # drugs that raise the donors' loading or release
    # a biomarker's copies per EV in healthy plasma, where its analyte has a source of its own
    # (default: analyte_background_copies)
    background: Param | None = None
    note: str = ""


class Memory(Strict):
    """An act whose effect outlasts its signal (priming): the receivers' relayed signal is held
    in a variable that rises towards the act's stimulus at ``priming`` and decays at ``loss``
    (parameter ids, 1/day), instead of following the stimulus at once."""

    priming: Identifier
    loss: Identifier


class Feedback(Strict):
    """What cells of a type do to other cells of their compartment (an induced stromal or
    immune state acting back on cancer cells), as a phenotype of the vocabulary in the cells
    ``cell``; it grows with the acting cells' share of the compartment's cells."""

    cell: Identifier  # the cell type acted on (and its sub-types)
    phenotype: Identifier
    direction: Literal["promotes", "inhibits"]
    records: list[Text] = []  # records of the knowledge base that report it
    source: Annotated[str, StringConstraints(min_length=3)]
    # an activity of the acting cells that carries the act (their IL-6, their PD-L1): the act
    # then follows a record's effect on that activity, relayed; it is no presence effect
    through: Identifier | None = None
    # the membrane molecule by which the act reaches its cells (PD-L1 engaging T cells' PD-1):
    # drugs that block its signal (``blocks_cargo``) and decoys that occupy it act on the act
    ligand: Text | None = None
    in_vivo: bool = False  # only in tissue (tumour, niches), not in culture (vessels, perfusion)
    memory: Memory | None = None  # the act primes its receivers: it outlasts its signal


class CellBehaviour(Strict):
    """Base behaviour of a cell type (and its sub-types): parameter ids for its rates."""

    cell: Identifier
    growth: Identifier | None = None  # division rate in vivo
    growth_in_culture: Identifier | None = None  # division rate in the culture compartment
    death: Identifier | None = None
    secretion: Identifier = "secretion_rate"
    kills: list[Identifier] = []  # cell types it kills
    kill_rate: Identifier | None = None
    speed: Identifier | None = None  # tissue: migration speed (µm/min), biased up exosome gradients
    expands_when_active: bool = False  # a signal raising its killing raises its division too
    # the most cells of this type a recruiting cell brings in per day, at full signal
    recruitment: Identifier = "recruitment_max_rate"
    acts_on: list[Feedback] = []  # what it does to other cells of its compartment


class ResistanceProtein(Strict):
    """A protein that confers resistance to its substrate drugs (an efflux pump, an enzyme),
    or a cargo that ``induces`` such a protein in recipient cells."""

    protein: Text  # a molecule of the graph
    mechanism: Literal["efflux", "conjugation", "induction", "other"]
    substrates: Annotated[list[Text], Field(min_length=1)]  # drugs of the library
    state: Identifier  # the cell state of cells that carry it (resists exactly the substrates)
    induces: Text | None = None
    source: Annotated[str, StringConstraints(min_length=3)]


class DrugExport(Strict):
    """Cells of a type that push a drug out in the vesicles they shed (vesicular drug export):
    at their basal exosome release a ``share`` of the drug leaving them leaves in vesicles,
    so they keep less of it; the export follows their release (a release inhibitor, a rule on
    their secretion) and the drug's loading into vesicles (a cargo_knockdown of the drug)."""

    drug: Text  # a drug of the library
    cell: Identifier  # the exporting cell type (and its sub-types)
    records: Annotated[list[Identifier], Field(min_length=1)]  # the records that report it
    blocked_by: list[Identifier] = []  # therapy records keeping the drug out of vesicles
    share: Param  # share of the drug's efflux that leaves in vesicles at basal release
    source: Annotated[str, StringConstraints(min_length=3)]


class ExosomeHoming(Strict):
    """Organs that the exosomes carrying a record's cargo home to (by their surface integrins or
    ligands): each takes ``exosome_homing_fold`` times its share of plasma clearance."""

    record: Identifier
    organs: Annotated[
        list[Literal["lung", "liver", "bone", "brain", "lymph_node"]], Field(min_length=1)
    ]
    source: Annotated[str, StringConstraints(min_length=3)]


class Organotropism(Strict):
    """Relative seeding of each distant organ by a cancer cell type (1: the average organ)."""

    cell: Identifier
    weights: dict[
        Literal["lung", "liver", "bone", "brain", "lymph_node"],
        Annotated[float, Field(gt=0, allow_inf_nan=False)],
    ]
    source: Annotated[str, StringConstraints(min_length=3)]
