"""Code shape of src/exotwin/model: short, simple functions and small classes (issue 11).

Measured with radon's complexity visitor (the figure `radon cc` prints) and the ast: a function
or method spans at most 80 lines (from its `def` to its last line) and has cyclomatic
complexity at most 20; a class holds at most 20 attributes (instance attributes assigned as
`self.x` in its methods plus annotated class-level fields).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from radon.complexity import add_inner_blocks, cc_visit
from radon.visitors import Function

import exotwin.model

MODEL = Path(exotwin.model.__file__).parent
MAX_LINES = 80
MAX_COMPLEXITY = 20
MAX_ATTRIBUTES = 20


def _sources() -> Iterator[tuple[str, str]]:
    for path in sorted(MODEL.rglob("*.py")):
        yield path.relative_to(MODEL.parent.parent).as_posix(), path.read_text(encoding="utf-8")


def _functions(code: str) -> Iterator[Function]:
    for block in add_inner_blocks(cc_visit(code)):
        if isinstance(block, Function):
            yield block


def _self_targets(node: ast.AST, self_name: str) -> Iterator[str]:
    """Names `x` of every `self.x` a statement below `node` assigns."""
    for child in ast.walk(node):
        if isinstance(child, ast.Assign):
            targets = [t for target in child.targets for t in ast.walk(target)]
        elif isinstance(child, ast.AnnAssign | ast.AugAssign):
            targets = [child.target]
        else:
            continue
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == self_name
            ):
                yield target.attr


def class_attributes(cls: ast.ClassDef) -> set[str]:
    """Annotated class-level fields (ClassVar excluded) and `self.x` assigned in methods."""
    names: set[str] = set()
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if "ClassVar" not in ast.unparse(stmt.annotation):
                names.add(stmt.target.id)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.args.args:
            names.update(_self_targets(stmt, stmt.args.args[0].arg))
    return names


def test_functions_are_short_and_simple() -> None:
    offenders = []
    for name, code in _sources():
        for block in _functions(code):
            lines = block.endline - block.lineno + 1
            if lines > MAX_LINES or block.complexity > MAX_COMPLEXITY:
                offenders.append(
                    f"{name}:{block.lineno} {block.fullname}: {lines} lines, "
                    f"complexity {block.complexity}"
                )
    assert not offenders, (
        f"functions over {MAX_LINES} lines or complexity {MAX_COMPLEXITY}:\n" + "\n".join(offenders)
    )


def test_classes_are_small() -> None:
    offenders = []
    for name, code in _sources():
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ClassDef):
                attributes = class_attributes(node)
                if len(attributes) > MAX_ATTRIBUTES:
                    offenders.append(f"{name}:{node.lineno} {node.name}: {len(attributes)}")
    assert not offenders, f"classes over {MAX_ATTRIBUTES} attributes:\n" + "\n".join(offenders)


def test_the_measures_see_what_they_measure() -> None:
    """The scan counts a long, branchy function and a class's attributes as it should."""
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(25))
    (block,) = _functions(f"def f(x):\n{branches}\n    return -1\n")
    assert block.complexity == 26
    assert block.endline - block.lineno + 1 == 52
    code = (
        "class C:\n    a: int\n    b: ClassVar[int] = 1\n"
        "    def __init__(self):\n        self.c = 1\n        self.d, self.e = 2, 3\n"
        "    def m(me):\n        me.f += 1\n        me.a = 2\n"
    )
    (cls,) = [n for n in ast.parse(code).body if isinstance(n, ast.ClassDef)]
    assert class_attributes(cls) == {"a", "c", "d", "e", "f"}
