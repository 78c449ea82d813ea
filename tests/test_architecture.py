"""The package layout of ARCHITECTURE.md holds: dependency directions, no import cycles, no dead
modules, and every module imports on its own in a fresh interpreter."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("quant_core", "quant_registry", "dagster_project")
# what each package may import, of the project's packages and the orchestration/tracking libraries
FORBIDDEN = {
    "quant_core": {"dagster", "dagster_graphql", "mlflow", "quant_registry", "dagster_project", "quant_serving"},
    "quant_registry": {"dagster", "dagster_graphql", "dagster_project", "quant_serving"},
    "dagster_project": {"quant_serving"},
}
# modules nothing imports because something outside the packages loads them
ENTRY_POINTS = {
    "dagster_project.definitions",  # the code location (workspace.yaml, pyproject [tool.dagster])
    "dagster_project.cli",  # the qf console script
    "dagster_project.cli.__main__",  # python -m dagster_project.cli
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, anywhere in its body (function-level imports included: a
    deferred import still ties the two modules together)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # ``from pkg import submodule`` needs the submodule; ``from pkg import name`` the package
            submodules = {f"{module}.{alias.name}" for alias in node.names} & MODULES.keys()
            out.update(submodules)
            if len(submodules) < len(node.names):
                out.add(module)
    return out


def _graph() -> dict[str, set[str]]:
    """Edges between the project's own modules."""
    return {name: {m for m in _imports(name, path) if m in MODULES and m != name}
            for name, path in MODULES.items()}


def test_the_three_packages_are_found():
    assert {n.split(".")[0] for n in MODULES} == set(PACKAGES)
    assert len(MODULES) > 100


@pytest.mark.parametrize("package", PACKAGES)
def test_dependency_directions(package):
    bad = []
    for name, path in MODULES.items():
        if name.split(".")[0] != package:
            continue
        for module in _imports(name, path):
            if module.split(".")[0] in FORBIDDEN[package]:
                bad.append(f"{name} imports {module}")
    assert not bad, "\n".join(sorted(set(bad)))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), excluding a package's
    ``__init__`` re-exporting its own submodules (the submodule never needs the package body)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def strongconnect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            strongconnect(v)
    return out


def test_no_import_cycles_between_modules():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_dead_modules():
    graph = _graph()
    imported = set().union(*graph.values())
    # a package's __init__ runs whenever any of its modules is imported
    dead = sorted(m for m, path in MODULES.items() if m not in imported and m not in ENTRY_POINTS
                  and path.name != "__init__.py")
    assert not dead, f"modules nothing imports: {dead}"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_of_a_package_imports_in_a_fresh_interpreter(package):
    """The package's modules in a fresh interpreter, in the dependency order of the packages (the
    ones a package may use are importable on their own, so this one is imported first)."""
    names = [m for m in MODULES if m.split(".")[0] == package and not m.endswith("__main__")]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN[package])!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]", f"{package} loaded {out.stdout.strip()}"
