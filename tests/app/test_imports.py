"""The package's modules import one another one way: no cycle at module level."""

from __future__ import annotations

import ast
from pathlib import Path

import app

ROOT = Path(app.__file__).resolve().parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """The app modules ``path`` imports at module level (not inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m == "app" or m.startswith("app.")}


def test_no_module_of_the_app_imports_itself_back_through_others():
    graph = {}
    for path in ROOT.rglob("*.py"):
        name = _module(path)
        graph[name] = _imports(path, name)
    graph = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    # a package's __init__ importing its submodules is how packages work, not a cycle
    for m, deps in graph.items():
        graph[m] = {d for d in deps if not m.startswith(d + ".") and not d.startswith(m + ".")}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append([*trail[trail.index(d):], d] if d in trail else [m, d])
            elif d not in state:
                visit(d, [*trail, d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []
    assert len(graph) > 20  # the walk above saw the whole package


def test_the_models_module_loads_no_route_even_when_its_schema_is_built():
    import subprocess
    import sys

    code = ("import sys, app.schemas as s; s.ForwardResponse.model_json_schema(); "
            "print(sorted(m for m in sys.modules if m.startswith('app.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "app.schemas" in out and "app.api" not in out and "app.openapi_examples" not in out
