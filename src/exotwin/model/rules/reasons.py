"""Why a record has no dynamics: the reasons vocabulary of ``rules/not_simulated.yaml``.

A mechanism, therapy or biomarker record either compiles into terms that change the model
(see :mod:`exotwin.model.rules.coverage`) or is listed here with one reason of a small
vocabulary and a note in the curator's words.
"""

from __future__ import annotations

from typing import Literal

from ...knowledge.schema import Identifier, Text
from .schema import Strict

Reason = Literal[
    "another_cancer",  # the finding concerns another cancer (or cancer in general)
    "no_cargo_named",  # the record names no exosomal cargo the model could carry
    "no_recipient",  # the record names no cell the exosomes act on
    "no_behaviour",  # its phenotypes change nothing the model has (activity levels only)
    "not_a_finding",  # a general statement, a method or a summary of other records
    "is_an_intervention",  # acts as a scenario intervention (release_inhibitor, knockdown...)
    "needs_semantics",  # the finding needs a mechanism the compiler does not have
    "not_exosomal",  # the agent is not an exosome (micelles, synthetic nanocarriers)
    "no_fluid",  # a biomarker read in no stated fluid, with no source cell to release it
    "same_finding",  # another record of the same study is simulated by a rule
]

REASONS: dict[str, str] = {
    "another_cancer": "the finding concerns another cancer, not breast cancer",
    "no_cargo_named": "no exosomal cargo named that the model could carry",
    "no_recipient": "no cell named that the exosomes act on",
    "no_behaviour": "its phenotypes change no rate or state of the model (activity only)",
    "not_a_finding": "a general statement, a method or a summary, not a specific finding",
    "is_an_intervention": "written as a scenario intervention, not as a rule",
    "needs_semantics": "needs a mechanism the compiler does not have",
    "not_exosomal": "the agent is not an exosome",
    "no_fluid": "a biomarker read in no stated fluid, with no source cell to release it",
    "same_finding": "another record of the same study is simulated; this one belongs in its rule's also",
}


class NotSimulated(Strict):
    """A record without dynamics, and why."""

    record: Identifier
    reason: Reason
    note: Text


# ------------------------------------------------------------ inert effects of simulated records

InertWhy = Literal[
    "counted_elsewhere",  # its consequence is another target of the same rule (``by``)
    "relayed",  # the activity carries an act of its cell onto other cells (cells.yaml acts_on)
    "carrier",  # a property of exosomes as a drug carrier: the exosome_carrier intervention
    "readout_only",  # kept as an activity level that shipped scenarios read; it drives nothing
    "no_behaviour",  # no behaviour exists for it (PhysiCell has none; no variable in the model)
]

INERT_REASONS: dict[str, str] = {
    "counted_elsewhere": "its consequence is another target of the same rule (by)",
    "relayed": "the activity carries its cell type's act onto other cells (cells.yaml acts_on)",
    "carrier": "a property of exosomes as a drug carrier (the exosome_carrier intervention)",
    "readout_only": "kept as an activity level that scenarios read; it drives no rate by design",
    "no_behaviour": "no behaviour exists for it: no PhysiCell behaviour, no variable of the model",
    "omitted": "the rule leaves the effect out (its omit says why)",
}

# what a compiled rule changes (coverage Dynamic targets) that can carry an inert effect's
# consequence
Carrier = Literal[
    "Transition",
    "Resistance",
    "Recruitment",
    "Growth",
    "Death",
    "Survival",
    "Killing",
    "Secretion",
    "Seeding",
    "Niche",
    "Binding",
]


class InertReason(Strict):
    """Why an effect of a simulated record compiles into an activity level that changes
    nothing: for every record (``record`` unset) or one record, in every receiver (``cell``
    unset) or in receivers of that cell type and its sub-types. ``counted_elsewhere`` and
    ``relayed`` name in ``by`` what the same rule changes instead; coverage checks that it
    does."""

    phenotype: Identifier
    reason: InertWhy
    note: Text
    record: Identifier | None = None
    cell: Identifier | None = None
    by: list[Carrier] = []
