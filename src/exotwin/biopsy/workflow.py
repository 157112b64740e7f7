"""The whole ``biopsy fit`` analysis in one call, shared by the CLI and the web app: nested
cross-validation, differential abundance, knowledge signatures, the separation check and the
HTML report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .classify import CVSettings, FitResult, Task, fit_classifier
from .de import differential
from .normalise import default_normaliser
from .readers import Dataset
from .report import report_html
from .separation import separation_check


@dataclass
class FitOutcome:
    result: FitResult
    table: pd.DataFrame  # differential abundance
    html: str


def signature_scores(
    data: Dataset, method: str | None, positive: str | None, classes: list[str]
) -> list[dict[str, Any]]:
    """How well each knowledge-derived cargo signature separates the classes."""
    from ..knowledge import load_knowledge
    from .signatures import evaluate_signatures, knowledge_signatures

    assert data.labels is not None
    normaliser = default_normaliser(data.kind, method)
    values = pd.DataFrame(
        normaliser.fit_transform(data.values),
        index=data.values.index,
        columns=normaliser.get_feature_names_out(),
    )
    case = data.positive_class(positive) if len(classes) == 2 else None
    return evaluate_signatures(values, data.labels, knowledge_signatures(load_knowledge()), case)


def fit_and_report(
    dataset: Dataset,
    title: str,
    task: Task,
    settings: CVSettings,
    positive: str | None,
    stage: Callable[[float, str], None] | None = None,
) -> FitOutcome:
    """Fit, test, score signatures and check separation; ``stage(fraction, what)`` reports
    progress between steps."""
    say = stage or (lambda fraction, what: None)
    folds = f"nested cross-validation ({settings.outer_folds} x {settings.inner_folds} folds)"
    say(0.05, folds)
    result = fit_classifier(
        dataset,
        task,
        settings,
        positive,
        progress=lambda done, total: say(
            0.05 + 0.6 * done / total, f"{folds}: {done}/{total} fits"
        ),
    )
    say(0.75, "differential abundance")
    table = differential(dataset, positive=positive, method=settings.normalisation)
    say(0.85, "knowledge signatures")
    case = positive if task == "diagnosis" else None
    signatures = signature_scores(dataset, settings.normalisation, case, result.classes)
    result.metrics["signatures"] = signatures
    if task == "diagnosis":
        say(0.9, "separation check")
        result.metrics["separation"] = separation_check(
            dataset, positive, settings.normalisation, settings.seed
        )
    result.metrics["names"] = dataset.names.as_dict() | {"notes": dataset.notes}
    html = report_html(result, title, table, signatures)
    return FitOutcome(result, table, html)
