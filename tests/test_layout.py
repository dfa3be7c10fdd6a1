"""The layout the code promises (README "Layout", shared/DESIGN.md): packages by stage of the data flow,
dependencies one way through fronts, no import circles, no path tricks.

Every import statement is read from the source (ast), including the ones inside functions and under
`if TYPE_CHECKING:`: an import moved into a function to dodge a circle is still a circle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("indexer", "search", "ui", "migrations")
SCRIPTS = ("tests", "bench", "tools")  # trees of scripts and test modules, not installed packages
# Which stage may import which (DESIGN: ui -> search -> indexer; pipeline -> sources, model, library;
# the model knows nothing of the library). `indexer` is the root front, `indexer.errors` the shared errors.
ALLOWED = {
    "indexer.errors": set(),
    "indexer.model": {"indexer.errors"},
    "indexer.sources": {"indexer.errors", "indexer.model"},
    "indexer.library": {"indexer.errors", "indexer.model"},
    "indexer.pipeline": {"indexer.errors", "indexer.model", "indexer.sources", "indexer.library"},
    "indexer": {"indexer.errors", "indexer.model", "indexer.sources", "indexer.library", "indexer.pipeline"},
    "search": {"indexer", "indexer.model", "indexer.sources", "indexer.library", "indexer.pipeline"},
    "ui": {"indexer", "indexer.model", "indexer.sources", "indexer.library", "indexer.pipeline", "search"},
    "migrations": {"indexer.library"},
}
STAGES = ("sources", "model", "library", "pipeline")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def python_files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


MODULES = {module_name(p): p for p in python_files(*PRODUCT)}


def unit(module: str) -> str:
    """The package a module belongs to for the front rule: a stage of indexer, or a top-level package."""
    parts = module.split(".")
    if parts[0] == "indexer" and len(parts) > 1 and parts[1] in (*STAGES, "errors"):
        return ".".join(parts[:2])
    return parts[0]


def is_front(module: str) -> bool:
    """A package's __init__ (what other packages may import), or the errors every stage shares."""
    return MODULES[module].name == "__init__.py" or module == "indexer.errors"


def front_names(package: str) -> set[str]:
    """Names a package's __init__ binds at its top level (what `from package import name` gets first)."""
    path = MODULES.get(package)
    if path is None or path.name != "__init__.py":
        return set()
    tree = ast.parse(path.read_text())
    return {(a.asname or a.name) for n in tree.body if isinstance(n, ast.ImportFrom | ast.Import) for a in n.names}


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, resolved to one of pixseek's modules where it is one."""
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            inside = here == base or here.startswith(base + ".")  # a package's own modules import its submodules
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                is_module = sub in MODULES and (inside or alias.name not in front_names(base))
                found.append((node.lineno, sub if is_module else base))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        edges[module] |= {m for _, m in imports(path) if m in MODULES and m != module}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles_between_modules_even_inside_functions():
    assert circles(graph()) == []


def test_packages_import_each_other_only_through_their_fronts():
    wrong = []
    for module, path in MODULES.items():
        for line, target in imports(path):
            if target in MODULES and unit(target) != unit(module) and not is_front(target):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}, not its package's front")
    assert wrong == []


def test_dependencies_point_one_way_ui_search_indexer_and_the_model_knows_no_library():
    wrong = []
    for module, path in MODULES.items():
        for line, target in imports(path):
            if target in MODULES and unit(target) != unit(module) and unit(target) not in ALLOWED[unit(module)]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {unit(module)} imports {unit(target)}")
    assert wrong == []


def test_ui_is_imported_only_by_ui_and_the_tests():
    wrong = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in python_files("indexer", "search", "migrations", "bench", "tools")
        for line, target in imports(path)
        if target.split(".")[0] == "ui"
    ]
    assert wrong == []


def _local_modules(top: str) -> set[str]:
    return {p.stem for p in (ROOT / top).rglob("*.py")} | {top}


@pytest.mark.parametrize("top", SCRIPTS)
def test_tests_bench_and_tools_import_installed_packages_not_each_other(top):
    others = set().union(*(_local_modules(t) for t in SCRIPTS if t != top)) - _local_modules(top)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in python_files(top)
        for line, target in imports(path)
        if target.split(".")[0] in others
    ]
    assert wrong == []


@pytest.mark.parametrize("top", SCRIPTS)
def test_no_sys_path_manipulation(top):
    wrong = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files(top)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr in ("path", "addsitedir")
        and isinstance(node.value, ast.Name)
        and node.value.id in ("sys", "site")
    ]
    assert wrong == []


def test_no_module_of_the_packages_is_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in python_files(*PRODUCT)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_see_a_circle_hidden_in_a_function_and_a_non_front_import(tmp_path, monkeypatch):
    """The graph is built from every import, not only the module-level ones."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def f():\n    from indexer.library import catalog\n")
    b.write_text("import indexer.model.encoder\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path, raising=False)
    found = [m for _, m in imports(a)] + [m for _, m in imports(b)]
    assert found == ["indexer.library.catalog", "indexer.model.encoder"]
    assert circles({"x": {"y"}, "y": {"z"}, "z": {"x"}, **{m: set() for m in MODULES}}) == [["x", "y", "z"]]
    assert not is_front("indexer.library.catalog") and is_front("indexer.library")
