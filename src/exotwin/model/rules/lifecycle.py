"""The exosome lifecycle of a secreting population, read from data (``lifecycle.yaml``).

Cargo reaches an early endosome, is sorted into intraluminal vesicles (ILVs) of a
multivesicular body (MVB), and the MVB either fuses with the plasma membrane (release) or
with a lysosome (degradation). Sorting machinery (ESCRT, ALIX) and loaders (an RNA-binding
protein) decide which cargo enters ILVs; uptake routes decide how recipients internalise
exosomes. Every rate and share has a source or is an assumption with a range.

The model runs the lifecycle at steady state: its steps are fast against the days the model
follows, so a population's release is its MVB production times the share of MVBs that reach
the plasma membrane. :func:`production_for` calibrates the production so that, with no
intervention, the release equals the cell type's secretion rate (cells.yaml);
:func:`steady_state` solves the lifecycle's linear equations for that steady state.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ...datafiles import load_model_file
from ...errors import ModelDataError
from ...knowledge.schema import Identifier, Text
from .schema import Param, Strict

Step = Literal["mvb_production", "ilv_sorting", "loading", "mvb_release", "lysosomal_fusion"]


class Rates(Strict):
    """First-order rates of the lifecycle (1/day)."""

    ilv_sorting: Param
    mvb_release: Param
    mvb_degradation: Param


class SortedCargo(Strict):
    """A cargo whose loading depends on a machinery: ``share`` of it is lost without it."""

    cargo: Text
    record: Identifier
    share: Param


class Machinery(Strict):
    """Sorting machinery or a loader: the share of all vesicles that depend on it
    (``bulk_share``; none for a loader) and the cargo it sorts selectively."""

    id: Identifier
    step: Literal["ilv_sorting", "loading"]
    description: str
    record: Identifier
    bulk_share: Param | None = None
    cargo: list[SortedCargo] = []

    @model_validator(mode="after")
    def _below_one(self) -> Machinery:
        share = self.bulk_share
        if share is not None and max(share.value, share.high or 0.0) >= 1.0:
            raise ValueError("bulk_share must stay below 1 (some vesicles form without it)")
        return self


class Agent(Strict):
    """A named inhibitor and the step it acts at, tied to a record or a cited source."""

    id: Text
    step: Step
    record: Identifier | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _cited(self) -> Agent:
        if self.record is None and self.source is None:
            raise ValueError("an agent needs a record or a source")
        return self


class Route(Strict):
    """An uptake route: its share of a recipient's uptake capacity, its own half-saturation
    (a multiple of the library's ``uptake_half_saturation``) and the share of the cargo it
    takes in that reaches the cytoplasm (the rest ends in lysosomes)."""

    id: Identifier
    description: str
    record: Identifier
    share: Param
    half_saturation: Param
    cytoplasm: Param

    @model_validator(mode="after")
    def _shares(self) -> Route:
        if max(self.cytoplasm.value, self.cytoplasm.high or 0.0) > 1.0:
            raise ValueError("cytoplasm is a share of the cargo: at most 1")
        for name in ("share", "half_saturation"):
            param = getattr(self, name)
            if min(param.value, param.value if param.low is None else param.low) <= 0.0:
                raise ValueError(f"{name} must be positive")
        return self


class ReleaseFollows(Strict):
    """A phenotype of a cell that raises its exosome release (``fold``: the release at the
    phenotype's full activation, relative to its base), with the record that says so."""

    phenotype: Identifier
    record: Identifier
    fold: Param

    @model_validator(mode="after")
    def _positive(self) -> ReleaseFollows:
        if min(self.fold.value, self.fold.value if self.fold.low is None else self.fold.low) <= 0:
            raise ValueError("fold must be positive")
        return self


class Lifecycle(Strict):
    records: list[Identifier] = []  # the records of the pathway as a whole
    rates: Rates
    machinery: list[Machinery]
    agents: list[Agent] = []
    routes: Annotated[list[Route], Field(min_length=1)]
    release_follows: list[ReleaseFollows] = []

    def parameters(self) -> dict[str, Param]:
        """Every rate and share, by its parameter name ``lifecycle.<name>``: the model reads
        them like the library's other parameters (overrides, ranges for uncertainty)."""
        found = {name: getattr(self.rates, name) for name in Rates.model_fields}
        for m in self.machinery:
            if m.bulk_share is not None:
                found[f"{m.id}.bulk_share"] = m.bulk_share
            found |= {f"{m.id}.{cargo_key(c.cargo)}.share": c.share for c in m.cargo}
        for r in self.routes:
            found |= {f"route.{r.id}.{f}": getattr(r, f) for f in ROUTE_FIELDS}
        found |= {f"release_follows.{f.phenotype}": f.fold for f in self.release_follows}
        return {f"lifecycle.{name}": param for name, param in found.items()}

    def named_records(self) -> list[tuple[str, str, str]]:
        """(record, step, what stands for it) for every record the lifecycle names."""
        found = [
            (r, "mvb_production", "MVB production, ILV sorting and MVB fate") for r in self.records
        ]
        for m in self.machinery:
            found.append((m.record, m.step, f"{m.id} machinery"))
            found += [(c.record, m.step, f"{m.id} sorts {c.cargo}") for c in m.cargo]
        found += [(a.record, a.step, f"agent {a.id}") for a in self.agents if a.record]
        found += [(r.record, "uptake", f"route {r.id}") for r in self.routes]
        return found

    def find_machinery(self, name: str) -> Machinery | None:
        return next((m for m in self.machinery if m.id == name.lower()), None)

    def find_route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.id == name), None)

    def find_agent(self, name: str) -> Agent | None:
        return next((a for a in self.agents if a.id.lower() == name.lower()), None)

    def problems(
        self, step: str, machinery: str | None, agent: str | None, route: str | None
    ) -> list[tuple[str, str]]:
        """(field, message) for each name an intervention at ``step`` gives that the
        lifecycle does not hold at that step."""
        found = []
        if machinery is not None:
            known = [m.id for m in self.machinery if m.step == step]
            if machinery.lower() not in known:
                found.append(
                    (
                        "machinery",
                        f"unknown {step} machinery {machinery!r} (known: {', '.join(known)})",
                    )
                )
        if agent is not None:
            named = self.find_agent(agent)
            agents = [a.id for a in self.agents if a.step == step]
            if named is None or named.step != step:
                found.append(
                    (
                        "agent",
                        f"no agent {agent!r} acts at {step} (known: {', '.join(agents) or 'none'})",
                    )
                )
        if route is not None and self.find_route(route) is None:
            routes = ", ".join(r.id for r in self.routes)
            found.append(("route", f"unknown uptake route {route!r} (known: {routes})"))
        return found


ROUTE_FIELDS = ("share", "half_saturation", "cytoplasm")


def cargo_key(cargo: str) -> str:
    """A cargo's name as it appears in a parameter name (lower case, no spaces)."""
    return cargo.strip().lower().replace(" ", "-")


class _LifecycleFile(Strict):
    lifecycle: Lifecycle


LIFECYCLE_FILE = Path(__file__).resolve().parents[1] / "data" / "lifecycle" / "lifecycle.yaml"


def load_lifecycle(path: Path = LIFECYCLE_FILE) -> Lifecycle:
    """The lifecycle of ``path`` (raises :class:`ModelDataError` naming file, line, field)."""
    parsed, _ = load_model_file(path, _LifecycleFile, ModelDataError)
    return parsed.lifecycle


@cache
def packaged_lifecycle() -> Lifecycle:
    return load_lifecycle()


def released_share(release: float, degradation: float) -> float:
    """The share of MVBs that fuse with the plasma membrane rather than a lysosome."""
    return release / (release + degradation)


def production_for(secretion: float, rates: Rates) -> float:
    """The MVB production (cargo entering endosomes, exosome-equivalents/cell/day) whose
    steady-state release is ``secretion``."""
    return secretion / released_share(rates.mvb_release.value, rates.mvb_degradation.value)


def steady_state(production: float, rates: Rates) -> dict[str, float]:
    """Steady state of the lifecycle's linear equations per cell:
    dE/dt = P - k_sort E (endosome), dM/dt = k_sort E - (k_rel + k_deg) M (ILVs in MVBs);
    released k_rel M and degraded k_deg M (per day)."""
    k_sort, k_rel = rates.ilv_sorting.value, rates.mvb_release.value
    k_deg = rates.mvb_degradation.value
    matrix = np.array([[-k_sort, 0.0], [k_sort, -(k_rel + k_deg)]])
    endosome, mvb = np.linalg.solve(matrix, [-production, 0.0])
    return {
        "endosome": float(endosome),
        "mvb": float(mvb),
        "released": float(k_rel * mvb),
        "degraded": float(k_deg * mvb),
    }
