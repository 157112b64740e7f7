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
