"""The package's modules import one another without a cycle.

A cycle closed by an import deferred into a function (``raw_files`` imports ``line_index`` when
it reads a file) imports fine in either order today, so importing each module first proves
nothing; it breaks the day the deferred import moves to the top. The graph here takes every
import statement, deferred ones too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ecommerce

PACKAGE_DIR = Path(ecommerce.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the package and the package's modules it imports anywhere in its text.
    A module's own parent packages are left out: Python imports them first in any case."""
    modules = {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1],
                                     *([node.module] if node.module else [])])
                # ``from package import module`` imports the module; ``from module import name``
                # the module alone.
                imported |= {f"{base}.{alias.name}" for alias in node.names} | {base}
        ancestors = {".".join(name.split(".")[:end]) for end in range(1, name.count(".") + 1)}
        graph[name] = {other for other in imported if other in modules} - ancestors - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while (top := stack.pop()) != module:
                component.append(top)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_graph_sees_a_deferred_import():
    graph = import_graph()
    assert "ecommerce.line_index" in graph["ecommerce.raw_files"]  # imported inside a function
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_module_of_the_package_imports_itself_through_others():
    assert cycles(import_graph()) == []
