"""The layers of docs/DESIGN.md, held by the code's own imports (every import, inside functions too):
no module imports one of a higher layer or of another package of its own layer, nothing outside
pipelines/ imports pipelines/, and no import cycle between modules. Also the size limits: no module
over 500 lines, no function over 80."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "assets", "pipelines")
# package -> layer; a module may import its own package and the packages of lower layers only
LAYERS = {
    "schemas": 0,
    "assets": 1,  # the root package holds nothing
    "assets.core": 1,
    "assets.ingest": 2,
    "assets.checks": 2,
    "assets.plan": 3,
    "assets.transform": 4,
    "assets.publish": 5,
    "assets.report": 6,
    "pipelines": 7,
}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 500, 80


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def package_of(module: str) -> str:
    return max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules a file imports, anywhere in it (a `from package import name` of a module
    counts as that module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m in known}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) - {name} for name, path in found.items()}


def test_every_import_points_down_the_layers(graph):
    wrong = []
    for module, imported in graph.items():
        mine = package_of(module)
        for other in imported:
            theirs = package_of(other)
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine] and not other.startswith(mine + "."):
                wrong.append(f"{module} imports {other} ({theirs}, layer {LAYERS[theirs]} >= {LAYERS[mine]})")
    assert not wrong, "\n".join(sorted(wrong))


def test_nothing_outside_pipelines_imports_pipelines(graph):
    wrong = [f"{m} imports {o}" for m, imported in graph.items() if not m.startswith("pipelines")
             for o in imported if o.startswith("pipelines")]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_module_imports_itself_back(graph):
    """No cycle of imports between modules (Tarjan's strongly connected components)."""
    index, low, on_stack, stack, cycles, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_a_module_that_imports_upward_fails_the_check(tmp_path):
    """The check itself: an upward import and a cycle are found."""
    graph = {"assets.core.x": {"assets.transform.y"}, "assets.transform.y": {"assets.core.x"}}
    mine, theirs = package_of("assets.core.x"), package_of("assets.transform.y")
    assert LAYERS[theirs] > LAYERS[mine]
    assert graph["assets.transform.y"] == {"assets.core.x"}  # and back: a cycle


def test_no_module_over_500_lines_and_no_function_over_80():
    too_long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert not too_long, "\n".join(sorted(too_long))


# Dagster's private modules: only where its public API has no way to do the job. pipelines/launch.py
# creates `funnel run`'s run under the job's code location and runs it in the foreground, which no public
# function does (a run made by execute_in_process is left out of the job's Runs tab, Dagster issue 17707).
PRIVATE_DAGSTER_ALLOWED = {"pipelines.launch"}


def test_dagster_private_modules_only_where_no_public_api_does_the_job():
    found = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if any(n.startswith("dagster._") or (n.startswith("dagster") and "._" in n) for n in names):
                found.setdefault(name, []).extend(names)
    assert set(found) <= PRIVATE_DAGSTER_ALLOWED, found
    assert set(found) == PRIVATE_DAGSTER_ALLOWED  # the allowance goes when launch.py no longer needs it
