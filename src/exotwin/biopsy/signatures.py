"""Cargo signatures from the evidence graph, scored per sample and tested against labels.

The score is rank-based and single-sample (singscore-like): the mean within-sample rank of
the measured members, scaled to [-0.5, 0.5] around the sample's median analyte.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ..knowledge import KnowledgeBase
from .errors import BiopsyInputError, cell_problem
from .logp import P_FLOOR, log_p_kruskal, log_p_mannwhitney
from .names import same_mirna

__all__ = ["Signature", "evaluate_signatures", "knowledge_signatures", "score_signature"]


@dataclass(frozen=True)
class Signature:
    """A named miRNA set with the records it was drawn from."""

    name: str
    description: str
    members: tuple[str, ...]
    records: tuple[str, ...]

    def measured(self, analytes: list[str]) -> dict[str, list[str]]:
        """Member → measured analytes that are that miRNA (any arm when it names none)."""
        return {m: [a for a in analytes if same_mirna(a, m)] for m in self.members}


def knowledge_signatures(kb: KnowledgeBase) -> list[Signature]:
    """miRNA cargo that promotes chemo/drug resistance, or metastasis; miRNA biomarkers the
    reviews name for diagnosis."""

    def mirna(name: str) -> bool:
        molecule = kb.molecules.get(name)
        return molecule is not None and molecule.type == "miRNA" and not molecule.placeholder

    def by_effect(category: str) -> tuple[list[str], list[str]]:
        members: dict[str, None] = {}
        records = []
        for record in kb.mechanisms:
            hit = any(
                e.direction == "promotes" and kb.phenotypes[e.phenotype].category == category
                for e in record.effects
                if e.phenotype in kb.phenotypes
            )
            cargo = [c for c in record.cargo if mirna(c)]
            if hit and cargo:
                members.update(dict.fromkeys(cargo))
                records.append(record.id)
        return sorted(members), records

    resistance, r_records = by_effect("resistance")
    metastasis, m_records = by_effect("metastasis")
    diagnostic: dict[str, None] = {}
    d_records = []
    for record in kb.biomarkers:
        analytes = [a for a in record.analyte if mirna(a)]
        if "diagnosis" in record.clinical_uses and analytes:
            diagnostic.update(dict.fromkeys(analytes))
            d_records.append(record.id)
    return [
        Signature(
            "exosomal_chemoresistance_mirnas",
            "exosomal miRNAs whose mechanism records promote drug resistance",
            tuple(resistance),
            tuple(r_records),
        ),
        Signature(
            "exosomal_metastasis_mirnas",
            "exosomal miRNAs whose mechanism records promote metastasis",
            tuple(metastasis),
            tuple(m_records),
        ),
        Signature(
            "diagnostic_mirnas",
            "miRNAs of biomarker records used for diagnosis",
            tuple(sorted(diagnostic)),
            tuple(d_records),
        ),
    ]


def score_signature(values: pd.DataFrame, signature: Signature) -> pd.Series:
    """Rank-based single-sample score of each sample (rows of normalised ``values``)."""
    found = sorted({a for hits in signature.measured(list(values.columns)).values() for a in hits})
    if not found:
        raise BiopsyInputError(
            [
                cell_problem(
                    "<data>",
                    None,
                    "",
                    f"signature {signature.name}: no member measured ({', '.join(signature.members[:6])}...)",
                )
            ]
        )
    ranks = values.rank(axis=1, method="average")
    n = values.shape[1]
    score = ranks[found].mean(axis=1) / n - (n + 1) / (2 * n)
    return score.rename(signature.name)


def evaluate_signatures(
    values: pd.DataFrame,
    labels: pd.Series,
    signatures: list[Signature],
    positive: str | None = None,
) -> list[dict[str, object]]:
    """Per signature: members measured and missing; score AUC and Mann–Whitney p (two classes)
    or Kruskal–Wallis p (more)."""
    out: list[dict[str, object]] = []
    classes = sorted(labels.unique())
    for signature in signatures:
        measured = signature.measured(list(values.columns))
        row: dict[str, object] = {
            "signature": signature.name,
            "description": signature.description,
            "members": len(signature.members),
            "measured": sorted({a for hits in measured.values() for a in hits}),
            "missing": [m for m, hits in measured.items() if not hits],
            "records": list(signature.records),
        }
        if not row["measured"]:
            row["result"] = "no member measured"
            out.append(row)
            continue
        score = score_signature(values, signature).to_numpy()
        y = labels.to_numpy()
        if len(classes) == 2:
            case = positive or classes[-1]
            a, b = score[y == case], score[y != case]
            row["auc"] = float(roc_auc_score(y == case, score))
            log_p = float(log_p_mannwhitney(a[:, None], b[:, None])[0])
            row["mean_case"], row["mean_control"] = float(np.mean(a)), float(np.mean(b))
        else:
            log_p = float(log_p_kruskal([score[y == c][:, None] for c in classes])[0])
            row["class_means"] = {c: float(np.mean(score[y == c])) for c in classes}
        row["log10_p"] = log_p / np.log(10)  # exact; p_value is floored at 1e-300
        row["p_value"] = max(float(np.exp(log_p)), P_FLOOR)
        out.append(row)
    return out
