"""The helpers package's modules import each other without cycles (a cycle works only by import order)."""

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parent.parent / "helpers"


def _imports(path: Path) -> set[str]:
    """The helpers modules that ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
            found.add(node.module.split(".")[1])
    return found


def test_no_import_cycles_between_helpers_modules():
    modules = {p.stem: _imports(p) for p in HELPERS.glob("*.py") if p.stem != "__init__"}
    graph = {m: {d for d in deps if d in modules and d != m} for m, deps in modules.items()}
    cycles = []

    def visit(module, path):
        for dep in sorted(graph[module]):
            if dep in path:
                cycles.append(" -> ".join(path[path.index(dep):] + [dep]))
            else:
                visit(dep, path + [dep])

    for module in sorted(graph):
        visit(module, [module])
    assert not cycles, f"import cycles: {sorted(set(cycles))[:5]}"
    assert graph["models"] and "course" not in graph["models"]  # the test sees real edges
