"""Pydantic schema of the evidence graph: entity vocabularies and the three record kinds.

Curated YAML files are validated against these models; cross-references between them
(cell types, molecules, phenotypes, sources) are checked afterwards by the loader.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

MoleculeType = Literal["miRNA", "lncRNA", "circRNA", "mRNA", "protein", "lipid", "drug", "other"]
Direction = Literal["promotes", "inhibits"]
Change = Literal["up", "down", "altered"]
Subtype = Literal["luminal_a", "luminal_b", "er_positive", "her2_positive", "tnbc", "any"]
ModelSystem = Literal["in_vitro", "in_vivo", "clinical", "ex_vivo", "in_silico"]
Species = Literal["human", "mouse", "rat"]
Organ = Literal[
    "breast", "lung", "liver", "bone", "brain", "lymph_node", "adipose_tissue", "blood", "other"
]
Fluid = Literal["serum", "plasma", "blood", "urine", "saliva", "breast_milk", "tissue", "other"]
Comparison = Literal[
    "cancer_vs_healthy",
    "metastatic_vs_nonmetastatic",
    "responder_vs_nonresponder",
    "resistant_vs_sensitive",
    "after_treatment",
    "after_surgery",
    "subtype",
    "stage",
    "prognosis",
]
ClinicalUse = Literal[
    "diagnosis", "subtype", "prognosis", "response", "recurrence", "metastasis", "monitoring"
]
Modality = Literal[
    "drug_carrier",
    "rna_delivery",
    "protein_delivery",
    "immunotherapy",
    "vaccine",
    "release_inhibitor",
    "uptake_inhibitor",
    "cargo_inhibitor",
    "natural_exosome",
    "removal",
]
CellCategory = Literal[
    "cancer", "stromal", "immune", "vascular", "adipose", "bone", "stem", "epithelial", "other"
]


class Strict(BaseModel):
    """Base model: unknown fields are errors, values are stripped strings."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ---------------------------------------------------------------- entities


class CellType(Strict):
    """A cell type or cell state from the controlled list (e.g. ``caf``, ``macrophage_m2``)."""

    id: Identifier
    name: Text
    category: CellCategory
    parent: Identifier | None = None
    synonyms: list[Text] = []
    description: str = ""


class CellState(Strict):
    """A donor/recipient state that is not a cell type of its own (e.g. tamoxifen-resistant)."""

    id: Identifier
    name: Text
    parent: Identifier | None = None
    resistant_to: list[Text] = []
    synonyms: list[Text] = []
    description: str = ""


# Stable accessions a molecule may carry in ``identifiers`` and the form each must take.
ACCESSIONS = {
    "hgnc": r"HGNC:[1-9][0-9]*",
    "mirbase": r"MIMAT[0-9]{7}",
    "mirbase_precursor": r"MI[0-9]{7}",
    "chebi": r"CHEBI:[1-9][0-9]*",
}


class Molecule(Strict):
    """Cargo, target gene/protein or drug, with miRBase-style or HGNC names and synonyms.

    ``same_as`` links a name printed less specifically to the molecule it denotes (a miRNA
    printed without its arm, ``hsa-miR-19a``, to the arm the graph holds, ``hsa-miR-19a-3p``).
    """

    id: Text
    type: MoleculeType
    name: str = ""
    hgnc: str | None = None
    mirbase: str | None = None
    identifiers: dict[str, str] = {}
    synonyms: list[Text] = []
    same_as: Text | None = None  # the molecule this name denotes less specifically
    placeholder: bool = False  # stands for cargo the review does not name
    note: str = ""

    @model_validator(mode="after")
    def _accessions_have_their_format(self) -> Molecule:
        for key, value in self.identifiers.items():
            pattern = ACCESSIONS.get(key)
            if pattern is None:
                raise ValueError(
                    f"unknown identifier namespace {key!r} (expected one of {sorted(ACCESSIONS)})"
                )
            if not re.fullmatch(pattern, value):
                raise ValueError(f"{key} accession {value!r} does not match {pattern}")
        return self


class PhysiCellMapping(Strict):
    """How a phenotype maps to a PhysiCell behaviour (rules grammar CBHG 3.0).

    ``sign`` says whether *promoting* the phenotype increases (+1) or decreases (-1) the
    behaviour; ``up``/``down`` are the behaviour's saturation values when fully increased or
    decreased; ``source`` gives their provenance (a reference, or "assumption" with a range).
    """

    behavior: Text
    sign: Literal[1, -1] = 1
    up: float
    down: float = 0.0
    source: Text


Behaviour = Literal[
    "growth",
    "death",
    "survival",
    "seeding",
    "niche",
    "motility",
    "killing",
    "secretion",
    "activity",
]


class Phenotype(Strict):
    """An effect on a receiver phenotype (lung metastasis, M2 polarisation, resistance...).

    What the simulator does with it: ``transition_to`` makes it a state transition of the
    receiver, ``drug`` a change of resistance to that drug; otherwise ``behaviour`` says which
    rate it modulates (growth, death, metastatic seeding into ``organs``, killing by the
    receiver, exosome secretion; ``niche``: an activity of receivers in a distant organ that
    raises that organ's seeding), and a phenotype with none of these is tracked as a relative
    activity level. ``receivers`` limits the rate to those cell types (and sub-types): in
    other receivers the phenotype is an activity level (a tumour's progression is not the
    growth of the fibroblasts that receive the exosomes). ``recruits`` makes it a recruitment:
    the receivers bring cells of that type into their compartment, an influx that follows
    their signal (an id ``<cell type>_recruitment`` must name that type).
    """

    id: Identifier
    name: Text
    category: Literal[
        "growth",
        "death",
        "motility",
        "metastasis",
        "transition",
        "resistance",
        "immune",
        "vascular",
        "metabolism",
        "secretion",
        "other",
    ]
    synonyms: list[Text] = []
    drug: str | None = None
    transition_to: Identifier | None = None
    recruits: Identifier | None = None  # the cell type the receivers recruit
    behaviour: Behaviour | None = None
    organs: list[Organ] = []
    receivers: list[Identifier] = []
    physicell: PhysiCellMapping | None = None
    description: str = ""


class Section(Strict):
    id: Text
    title: Text


class Source(Strict):
    """A seed review and what may be cited from it."""

    id: Text
    file: Text
    title: Text
    citation_style: Literal["numeric", "author_year"]
    sections: list[Section]
    numeric_range: tuple[int, int] | None = None
    references: list[Text] = []


# ---------------------------------------------------------------- records


class CellRef(Strict):
    """A donor or recipient: controlled cell type, optional state, free-text cell lines."""

    cell: Identifier
    state: Identifier | None = None
    lines: list[Text] = []
    note: str = ""


class Effect(Strict):
    phenotype: Identifier
    direction: Direction


class Context(Strict):
    subtypes: list[Subtype] = []
    cell_lines: list[Text] = []
    organs: list[Organ] = []
    models: list[ModelSystem] = []
    species: list[Species] = []
    cancer: Text = "breast"


class FieldFlag(BaseModel):
    """A field the review does not state as recorded: ``normalised``, ``inferred`` or ``added``.

    Written as the bare class (``donor: inferred``) or as a mapping with its source
    (``modality: {class: added, source: "Liu et al., 2022"}``); ``added`` needs a source.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )

    kind: Literal["normalised", "inferred", "added"] = Field(alias="class")
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_class(cls, value: Any) -> Any:
        return {"class": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _added_has_a_source(self) -> FieldFlag:
        if self.kind == "added" and not self.source:
            raise ValueError("a field added from outside the review needs a source")
        return self


class Citation(Strict):
    """Fields every record shares: where it comes from, in the curator's words.

    ``provenance`` flags the structured fields that the review does not state as recorded
    (field path -> class, see :mod:`exotwin.knowledge.provenance`); all others are stated.
    """

    id: Identifier
    summary: Annotated[str, StringConstraints(min_length=10, strip_whitespace=True)]
    seed: Text
    section: Text
    reference: Text
    table: Text | None = None
    as_written: dict[str, str] = {}
    curator_note: str = ""
    tags: list[Identifier] = []
    context: Context = Context()
    provenance: dict[str, FieldFlag] = {}

    @model_validator(mode="after")
    def _original_spelling_is_explained(self) -> Citation:
        if self.as_written and not self.curator_note:
            raise ValueError("as_written keeps an original spelling; add a curator_note saying why")
        return self


class Mechanism(Citation):
    """Cargo carried by exosomes from a donor changes a recipient's phenotype."""

    kind: Literal["mechanism"]
    cargo: Annotated[list[Text], Field(min_length=1)]
    donor: CellRef
    recipient: CellRef
    targets: list[Text] = []
    pathway: str = ""
    effects: Annotated[list[Effect], Field(min_length=1)]


class BiomarkerChange(Strict):
    comparison: Comparison
    direction: Change


class Biomarker(Citation):
    """An exosomal analyte read in a body fluid, how it changes and what it is used for."""

    kind: Literal["biomarker"]
    analyte: Annotated[list[Text], Field(min_length=1)]
    fluid: Fluid
    source_cell: CellRef | None = None
    changes: Annotated[list[BiomarkerChange], Field(min_length=1)]
    clinical_uses: Annotated[list[ClinicalUse], Field(min_length=1)]


class Therapy(Citation):
    """An exosome-based agent or an intervention on exosomes, and its reported effect.

    ``cargo`` is what engineered or therapeutic exosomes carry; ``agents`` are molecules given
    that are not exosomal cargo (an inhibitor such as LDN-57444); ``targets`` are the molecules
    the intervention acts on (UCH-L1, lncRNA H19).
    """

    kind: Literal["therapy"]
    agent: Text
    modality: Modality
    carrier: str = ""
    donor: CellRef | None = None
    recipient: CellRef | None = None
    cargo: list[Text] = []
    agents: list[Text] = []
    targets: list[Text] = []
    targeting: str = ""
    indication: str = ""
    effects: Annotated[list[Effect], Field(min_length=1)]


Record = Annotated[Mechanism | Biomarker | Therapy, Field(discriminator="kind")]


class KnowledgeFile(Strict):
    """One curated YAML file: any mix of vocabularies and records."""

    sources: list[Source] = []
    cell_types: list[CellType] = []
    cell_states: list[CellState] = []
    molecules: list[Molecule] = []
    phenotypes: list[Phenotype] = []
    records: list[Record] = []
