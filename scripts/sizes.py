"""Measure what the rooms issue limits: module, class and function sizes, and import circles.

Run: `python scripts/sizes.py [--check]` from the repository root. It reads every `.py` file under
`custom_components/` and `simulator/` (code lines = physical lines of the node, blank and comment
lines included, as a reader sees them). With `--check` it exits 1 when a limit is broken:
no module over 500 lines, no class over 400, no function over 80, no import circle.

Every import counts towards a circle, wherever it stands: at the top, inside a function, or under
`if TYPE_CHECKING:`. Each of those only postpones the circle from import time to the reader, who
still cannot understand one module without the other. tests/test_sizes.py runs the circle check
in the suite.
"""

from __future__ import annotations

import ast
from pathlib import Path
import sys

ROOTS = ("custom_components", "simulator")
MAX_MODULE, MAX_CLASS, MAX_FUNCTION = 500, 400, 80


def _module_name(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """Project modules the module imports anywhere: top level, functions, `if TYPE_CHECKING:`."""
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for sub in ast.walk(tree):
        if isinstance(sub, ast.Import):
            found.update(alias.name for alias in sub.names)
        elif isinstance(sub, ast.ImportFrom):
            if sub.level:
                base = package.split(".")
                base = base[: len(base) - (sub.level - 1)]
                module = ".".join([*base, sub.module] if sub.module else base)
            else:
                module = sub.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in sub.names)
    return found


def import_edges(base: Path, roots: tuple[str, ...] = ROOTS) -> dict[str, set[str]]:
    """Map each module of `roots` (below `base`) to the modules of `roots` it imports."""
    graph: dict[str, set[str]] = {}
    for root in roots:
        for path in sorted((base / root).rglob("*.py")):
            relative = path.relative_to(base)
            name = _module_name(relative)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            graph[name] = _imports(tree, name, path.name == "__init__.py")
    return {
        name: {dep for dep in deps if dep in graph and dep != name} for name, deps in graph.items()
    }


def import_circles(base: Path, roots: tuple[str, ...] = ROOTS) -> list[list[str]]:
    """Every group of modules of `roots` that import each other, however indirectly."""
    return _cycles(import_edges(base, roots))


def main() -> int:
    """Print the largest modules, classes and functions and every limit broken."""
    modules: dict[str, tuple[Path, int]] = {}
    classes: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    for root in ROOTS:
        for path in sorted(Path(root).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            modules[_module_name(path)] = (path, len(text.splitlines()))
            for node in ast.walk(tree):
                if not isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if isinstance(node, ast.ClassDef):
                    classes.append((size, f"{path}:{node.lineno} {node.name}"))
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    functions.append((size, f"{path}:{node.lineno} {node.name}"))
    cycles = import_circles(Path())
    broken: list[str] = []
    print("largest modules:")
    for _name, (path, lines) in sorted(modules.items(), key=lambda item: -item[1][1])[:8]:
        print(f"  {lines:5d}  {path}")
        if lines > MAX_MODULE:
            broken.append(f"module {path}: {lines} > {MAX_MODULE}")
    print("largest classes:")
    for size, where in sorted(classes, reverse=True)[:5]:
        print(f"  {size:5d}  {where}")
    print("largest functions:")
    for size, where in sorted(functions, reverse=True)[:5]:
        print(f"  {size:5d}  {where}")
    broken += [
        f"class {where}: {size} > {MAX_CLASS}" for size, where in classes if size > MAX_CLASS
    ]
    broken += [
        f"function {where}: {size} > {MAX_FUNCTION}"
        for size, where in functions
        if size > MAX_FUNCTION
    ]
    broken += [f"import circle: {' -> '.join(cycle)}" for cycle in cycles]
    print("import circles:", "none" if not cycles else len(cycles))
    for line in broken:
        print("BROKEN", line)
    return 1 if broken and "--check" in sys.argv else 0


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in edges.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return result


if __name__ == "__main__":
    sys.exit(main())
