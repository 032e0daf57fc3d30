"""No import cycles among edgeconv's modules, counting the imports inside functions too (a lazy import that
closes a cycle is still a cycle a reader has to untangle); only ``if TYPE_CHECKING:`` blocks are left out.
Reads the source (torch-free), so it also runs in the device environment's checkout."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "edgeconv": ROOT / "edgeconv",
    "edgeconv.exporters": ROOT / "exporters",
    "edgeconv.runtime": ROOT / "runtime",
}


def modules() -> dict[str, Path]:
    """Module name -> file, as the package-dir mapping installs them."""
    found = {}
    for package, directory in PACKAGES.items():
        for path in directory.rglob("*.py"):
            parts = list(path.relative_to(directory).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imported(path: Path, known: set[str]) -> set[str]:
    """The edgeconv modules ``path`` imports anywhere but under ``if TYPE_CHECKING:``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {name for name in found if name in known}


def test_no_module_imports_itself_through_others() -> None:
    table = modules()
    graph = {name: imported(path, set(table)) - {name} for name, path in table.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if other.startswith(name + "."):  # a package importing its own submodules re-exports them
                continue
            if state.get(other) == 1:
                cycles.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in state:
                walk(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert not cycles, cycles
    assert len(table) > 80  # the walk saw the whole project
