"""The house rules of core/ (DESIGN.md, "Layers"): imports point down the list of layers, never
into Streamlit, and no two modules import each other, directly or round a longer circle. Lazy
imports inside functions count too: they are circles all the same, only deferred."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"
# Lowest first: a module may import its own layer and those listed before it.
LAYERS = ("errors", "config", "media", "models", "engine", "training", "views", "cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(CORE.rglob("*.py"))}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every core module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return {name for name in found if name in known}


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return len(LAYERS) - 1  # the package's face and its entry point sit with the CLI
    return LAYERS.index(parts[1])


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}


def test_every_module_is_in_a_layer(graph):
    for module in graph:
        assert _layer(module) >= 0, module


def test_imports_point_down_the_layers(graph):
    upward = [
        f"{module} -> {target}" for module, targets in graph.items() for target in targets
        if _layer(target) > _layer(module) and target != "core"
    ]  # fmt: skip
    assert upward == []


def test_no_import_circles(graph):
    """Depth-first search for a back edge; reports the first circle found."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [module, target] if target in path else [module, target]
            if target not in state and (circle := visit(target, path + [module])):
                return circle
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            assert visit(module, []) is None


def test_core_never_imports_streamlit():
    for path in _modules().values():
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        assert not any(name.split(".")[0] == "streamlit" for name in names), path
