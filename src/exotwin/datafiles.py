"""Curated YAML data files: line-aware parsing, item-by-item validation, typed problems.

Shared by every layer that reads data files (knowledge records, model rules, scenarios):
each problem names file, line and field, and all problems of a load are reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import DataValidationError, ExotwinError, Problem
from .yaml_lines import line_of, load_lined

__all__ = [
    "DataValidationError",
    "ExotwinError",
    "Item",
    "Problem",
    "load_model_file",
    "parse_sections",
    "validation_problems",
    "yaml_files",
    "yaml_message",
]


def yaml_files(paths: Iterable[Path]) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` file named or found below the given paths, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"})
        else:
            found.append(path)
    return found


@dataclass(frozen=True)
class Item:
    """A validated entity or record with the raw mapping it came from (for line numbers)."""

    value: Any
    file: Path
    raw: Any
    loc: tuple[str | int, ...]

    def problem(self, field: tuple[str | int, ...], message: str) -> Problem:
        line, path = line_of(self.raw, (*self.loc, *field))
        return Problem(self.file, line, ".".join(map(str, path)), message)


def parse_sections(
    path: Path, sections: dict[str, TypeAdapter[Any]], problems: list[Problem]
) -> list[Item]:
    """Validate one YAML file section by section and item by item (one bad item hides no other).

    ``sections`` maps each allowed top-level key to the adapter validating its list items.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, None, "", f"cannot read file: {exc}"))
        return []
    try:
        raw = load_lined(text)
    except yaml.YAMLError as exc:
        problems.append(_syntax_problem(path, exc))
        return []
    except RecursionError:
        problems.append(Problem(path, None, "", "YAML nesting too deep"))
        return []
    if raw is None:
        return []
    if not isinstance(raw, dict):
        problems.append(
            Problem(
                path,
                getattr(raw, "line", 1),
                "",
                (
                    f"expected a mapping with keys among {sorted(sections)}, found {type(raw).__name__}"
                ),
            )
        )
        return []
    items: list[Item] = []
    for key, values in raw.items():
        if key not in sections:
            line, _ = line_of(raw, (key,))
            problems.append(
                Problem(
                    path, line, str(key), (f"unknown section (expected one of {sorted(sections)})")
                )
            )
            continue
        if not isinstance(values, list):
            line, _ = line_of(raw, (key,))
            problems.append(
                Problem(
                    path, line, key, (f"expected a list of entries, found {type(values).__name__}")
                )
            )
            continue
        for i, value in enumerate(values):
            try:
                items.append(Item(sections[key].validate_python(value), path, raw, (key, i)))
            except ValidationError as exc:
                problems += validation_problems(path, raw, exc, (key, i), "kind")
    return items


def validation_problems(
    path: Path,
    raw: Any,
    exc: ValidationError,
    loc: tuple[str | int, ...] = (),
    discriminator: str = "type",
) -> list[Problem]:
    """Pydantic's errors about ``raw`` (at ``loc`` in the file) as problems at their lines;
    a tagged union's error points at its ``discriminator`` field."""
    problems = []
    for err in exc.errors():
        where = (*loc, *err["loc"])
        if err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            where += (discriminator,)
        line, field = line_of(raw, where)
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        problems.append(Problem(path, line, ".".join(map(str, field)), err["msg"] + shown))
    return problems


M = TypeVar("M", bound=BaseModel)


def load_model_file(path: Path, model: type[M], error: type[DataValidationError]) -> tuple[M, Any]:
    """A YAML file validated as one ``model``, with its line-aware data; raises ``error``
    naming file, line and field when it cannot be read, parsed or validated."""
    try:
        raw = load_lined(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error([Problem(path, None, "", f"cannot read: {exc}")]) from None
    except yaml.YAMLError as exc:
        raise error([_syntax_problem(path, exc)]) from None
    try:
        return model.model_validate(raw), raw
    except ValidationError as exc:
        raise error(validation_problems(path, raw, exc)) from None


def _syntax_problem(path: Path, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    return Problem(path, line, "", f"YAML syntax: {yaml_message(exc)}")


def yaml_message(exc: yaml.YAMLError) -> str:
    """A YAML syntax error on one line: the problem and its context, without the excerpt."""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    return f"{problem} ({context})" if context else str(problem)
