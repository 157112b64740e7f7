"""``/api/scenarios``: shipped scenarios, validation of edited YAML, what-if changes, runs."""

from __future__ import annotations

import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from ..model import Scenario, ScenarioError, load_scenario
from .api_knowledge import Svc
from .errors import ApiError, from_exotwin
from .services import Services, shipped
from .tasks import SCENARIO_FILE

router = APIRouter(prefix="/api", tags=["scenarios"])
YAML_LIMIT = 512 * 1024
ScenarioId = Annotated[str, Path(max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
INTERVENTION_FIELDS = (
    "dose",
    "concentration",
    "efficacy",
    "fold",
    "exosomes",
    "protein_ug",
    "protein_ug_per_kg",
    "fraction_removed",
    "day",
    "start",
)


class Source(BaseModel):
    """A scenario given by the id of a shipped one or as YAML text (exactly one)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = Field(None, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    yaml: str | None = Field(None, max_length=YAML_LIMIT)

    def text(self) -> str:
        if (self.scenario is None) == (self.yaml is None):
            raise ApiError(422, "yaml", "give either scenario (a shipped id) or yaml (the text)")
        if self.yaml is not None:
            return self.yaml
        return shipped_text(str(self.scenario))


class Change(BaseModel):
    """One what-if change: a parameter, or a numeric field of one intervention of an arm."""

    model_config = ConfigDict(extra="forbid")
    parameter: str | None = Field(None, max_length=100)
    arm: str | None = Field(None, max_length=100)
    intervention: int | None = Field(None, ge=0, le=100)
    field: Literal[INTERVENTION_FIELDS] | None = None  # type: ignore[valid-type]
    value: float = Field(allow_inf_nan=False)


class WhatIf(Source):
    change: Change


class RunIn(Source):
    seed: int = Field(0, ge=0, le=2**32 - 1)
    solver: Literal["compartment", "tissue"] = "compartment"
    arms: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=20)


def shipped_text(ident: str) -> str:
    files = shipped()
    if ident not in files:
        raise ApiError(404, "scenario", f"no shipped scenario {ident!r}", "unknown_scenario")
    return files[ident].read_text(encoding="utf-8")


def validate(svc: Services, text: str) -> Scenario:
    """The scenario the text describes, checked as ``exotwin simulate`` checks a file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = FsPath(tmp) / SCENARIO_FILE
        path.write_text(text, encoding="utf-8")
        try:
            return load_scenario(path, svc.kb, svc.lib)
        except ScenarioError as exc:
            raise from_exotwin(exc, "yaml", SCENARIO_FILE) from None


def describe(svc: Services, sc: Scenario) -> dict[str, Any]:
    """What the studio shows of a valid scenario, with the what-if choices."""
    parameters = [
        {
            "name": name,
            "value": sc.parameters.get(name, p.value),
            "low": p.low,
            "high": p.high,
            "unit": p.unit,
            "source": p.source,
            "description": p.description,
        }
        for name, p in sorted(svc.lib.parameters.items())
        if p.low is not None and p.high is not None and p.low < p.high
    ]
    arms = []
    for arm in sc.arms:
        items = []
        for i, item in enumerate(arm.interventions):
            values = item.model_dump()
            fields = {
                k: values[k] for k in INTERVENTION_FIELDS if isinstance(values.get(k), float | int)
            }
            items.append({"index": i, "type": item.type, "fields": fields})
        arms.append({"name": arm.name, "description": arm.description, "interventions": items})
    return {
        "id": sc.id,
        "title": sc.title,
        "description": sc.description,
        "tissue": sc.tissue is not None,
        "duration": sc.duration,
        "arms": arms,
        "readouts": [r.name for r in sc.readouts],
        "checks": [c.name for c in sc.checks],
        "parameters": parameters,
    }


@router.get("/scenarios", summary="The shipped scenarios")
def list_scenarios(svc: Svc) -> list[dict[str, Any]]:
    out = []
    for ident, path in shipped().items():
        sc = load_scenario(path, svc.kb, svc.lib)
        out.append(
            {
                "id": ident,
                "title": sc.title,
                "tissue": sc.tissue is not None,
                "arms": [a.name for a in sc.arms],
                "checks": len(sc.checks),
            }
        )
    return out


@router.get("/scenarios/{scenario_id}", summary="A shipped scenario: its YAML and what-if choices")
def get_scenario(svc: Svc, scenario_id: ScenarioId) -> dict[str, Any]:
    text = shipped_text(scenario_id)
    return {"yaml": text, **describe(svc, validate(svc, text))}


@router.post("/scenarios/validate", summary="Check scenario YAML; 422 lists problems by line")
def post_validate(svc: Svc, body: Source) -> dict[str, Any]:
    return describe(svc, validate(svc, body.text()))


def _apply(svc: Services, raw: dict[str, Any], change: Change) -> str:
    if change.parameter is not None:
        if change.parameter not in svc.lib.parameters:
            raise ApiError(422, "change.parameter", f"unknown parameter {change.parameter!r}")
        raw.setdefault("parameters", {})[change.parameter] = change.value
        return f"{change.parameter} = {change.value:g}"
    if change.arm is None or change.intervention is None or change.field is None:
        raise ApiError(422, "change", "give a parameter, or an arm, intervention and field")
    arm = next(
        (a for a in raw.get("arms") or [] if isinstance(a, dict) and a.get("name") == change.arm),
        None,
    )
    if arm is None:
        raise ApiError(422, "change.arm", f"no arm {change.arm!r}")
    items = arm.get("interventions") or []
    if change.intervention >= len(items) or change.field not in items[change.intervention]:
        raise ApiError(
            422,
            "change.field",
            f"arm {change.arm!r} has no intervention {change.intervention} with {change.field!r}",
        )
    items[change.intervention][change.field] = change.value
    return f"{change.arm}: intervention {change.intervention} {change.field} = {change.value:g}"


@router.post("/scenarios/whatif", summary="The scenario with one parameter or intervention changed")
def post_whatif(svc: Svc, body: WhatIf) -> dict[str, Any]:
    validate(svc, body.text())
    raw = yaml.safe_load(body.text())
    label = _apply(svc, raw, body.change)
    raw["title"] = f"{raw.get('title', '')} (what if: {label})"
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    return {"yaml": text, "change": label, **describe(svc, validate(svc, text))}


@router.post("/jobs/scenario", status_code=202, summary="Run a scenario as a background job")
def post_run(svc: Svc, body: RunIn) -> dict[str, Any]:
    text = body.text()
    sc = validate(svc, text)
    if body.solver == "tissue" and sc.tissue is None:
        raise ApiError(422, "solver", f"scenario {sc.id!r} has no tissue section")
    unknown = [a for a in body.arms if a not in {arm.name for arm in sc.arms}]
    if unknown:
        raise ApiError(422, "arms", f"unknown arm(s) {', '.join(map(repr, unknown))}")
    params = {"scenario": sc.id, "seed": body.seed, "solver": body.solver, "arms": body.arms}
    job = svc.store.create("scenario", sc.title, params, {SCENARIO_FILE: text.encode("utf-8")})
    svc.runner.notify()
    return job.public()
