"""Safe YAML loading that remembers the line of every mapping key and sequence item.

Mappings load as :class:`LinedDict` and sequences as :class:`LinedList`; both keep 1-based
line numbers so that validation errors can point at the exact line of a field. Duplicate keys
are errors (plain YAML loaders silently keep the last one).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.constructor import ConstructorError

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LinedDict(dict[Any, Any]):
    """A dict with ``line`` (its own first line) and ``key_lines`` (line of each key)."""

    line: int
    key_lines: dict[Any, int]


class LinedList(list[Any]):
    """A list with ``line`` (its own first line) and ``item_lines`` (line of each item)."""

    line: int
    item_lines: list[int]


class _LinedLoader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader whose maps and sequences carry line numbers."""


def _construct_map(loader: Any, node: yaml.MappingNode) -> LinedDict:
    loader.flatten_mapping(node)
    result = LinedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found an unhashable key",
                key_node.start_mark,
            )
        if key in result:
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_seq(loader: Any, node: yaml.SequenceNode) -> LinedList:
    result = LinedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LinedLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LinedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_lined(text: str) -> Any:
    """Parse one YAML document; raises :class:`yaml.YAMLError` with a mark on bad input."""
    return yaml.load(text, Loader=_LinedLoader)


DISCRIMINATORS = ("kind", "type")


def line_of(data: Any, loc: tuple[str | int, ...]) -> tuple[int | None, tuple[str | int, ...]]:
    """Follow a pydantic error location into lined data.

    Returns the line of the deepest element reached and the location with discriminator tags
    (``mechanism`` in ``records.3.mechanism.donor``) removed.
    """
    line: int | None = getattr(data, "line", None)
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, LinedDict):
            if part in node:
                line = node.key_lines.get(part, line)
                node = node[part]
                path.append(part)
                continue
            if part in {node.get(tag) for tag in DISCRIMINATORS if isinstance(node.get(tag), str)}:
                continue  # the discriminator tag pydantic inserts for tagged unions
            path.append(part)
            node = None
        elif isinstance(node, LinedList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
            path.append(part)
        else:
            path.append(part)
            node = None
    return line, tuple(path)
