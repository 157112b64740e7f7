"""Robustness of scenario checks: Latin-hypercube samples over every parameter's range.

Every parameter with a range (global parameters, drug parameters, rule parameters) is a
dimension; ranges spanning more than a decade are sampled on a log scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import qmc

from ...datafiles import ExotwinError
from ...knowledge import KnowledgeBase
from ..rules.library import Library
from ..rules.schema import Param
from ..scenario.run import run_scenario
from ..scenario.schema import Scenario

Path = tuple[str, str, str]  # (section, entry id, field)


def uncertain_parameters(lib: Library) -> list[tuple[Path, Param]]:
    """Every parameter of the library that carries a range wider than a point."""
    found: list[tuple[Path, Param]] = []
    for name, p in lib.parameters.items():
        found.append((("parameters", name, "value"), p))
    for drug_id, drug in lib.drugs.items():
        for field_name in type(drug).model_fields:
            value = getattr(drug, field_name)
            if isinstance(value, Param):
                found.append((("drugs", drug_id, field_name), value))
    for rule_id, rule in lib.rules.items():
        for field_name in ("loading", "half_max", "hill", "max_rate", "fold"):
            value = getattr(rule, field_name)
            if isinstance(value, Param):
                found.append((("rules", rule_id, field_name), value))
    return [
        (path, p)
        for path, p in found
        if p.low is not None and p.high is not None and p.high > p.low
    ]


def _scale(p: Param, u: float) -> float:
    low, high = float(p.low), float(p.high)  # type: ignore[arg-type]
    if low > 0 and high / low > 10:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def with_values(lib: Library, values: dict[Path, float]) -> Library:
    """A copy of the library with some parameter values replaced."""
    params = dict(lib.parameters)
    drugs = dict(lib.drugs)
    rules = dict(lib.rules)
    for (section, ident, field_name), value in values.items():
        if section == "parameters":
            params[ident] = params[ident].model_copy(update={"value": value})
        elif section == "drugs":
            drug = drugs[ident]
            new = getattr(drug, field_name).model_copy(update={"value": value})
            drugs[ident] = drug.model_copy(update={field_name: new})
        else:
            rule = rules[ident]
            new = getattr(rule, field_name).model_copy(update={"value": value})
            rules[ident] = rule.model_copy(update={field_name: new})
    return replace(lib, parameters=params, drugs=drugs, rules=rules)


def latin_hypercube(lib: Library, n: int, seed: int) -> Iterator[dict[Path, float]]:
    """``n`` parameter sets, a Latin hypercube over every uncertain parameter."""
    space = uncertain_parameters(lib)
    unit = qmc.LatinHypercube(d=len(space), seed=np.random.default_rng(seed)).random(n)
    for row in unit:
        yield {path: _scale(p, float(u)) for (path, p), u in zip(space, row, strict=True)}


@dataclass(frozen=True)
class Robustness:
    scenario: str
    samples: int
    passed: dict[str, int]  # check name -> samples in which it passed
    errors: int  # samples whose solve failed (counted as failures)

    def fraction(self, check: str) -> float:
        return self.passed[check] / self.samples if self.samples else math.nan


def robustness(
    kb: KnowledgeBase,
    lib: Library,
    scenario: Scenario,
    n: int,
    seed: int = 0,
    progress: Callable[[], None] | None = None,
) -> Robustness:
    """Run a scenario on ``n`` Latin-hypercube parameter sets; count passes per check."""
    passed = {c.name: 0 for c in scenario.checks}
    errors = 0
    for values in latin_hypercube(lib, n, seed):
        try:
            result = run_scenario(kb, with_values(lib, values), scenario, seed)
        except ExotwinError:
            errors += 1
        else:
            for check in result.checks:
                passed[check.name] += check.passed
        if progress:
            progress()
    return Robustness(scenario.id, n, passed, errors)
