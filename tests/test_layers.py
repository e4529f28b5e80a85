"""The layers of DESIGN.md, checked by reading the source (``ast``, nothing is imported).

api / cli  ->  jobs  ->  kinds  ->  services  ->  store     (evidence: below jobs and kinds, above store)

- the store imports nothing above it;
- no SQL (``.execute`` / ``.executemany`` / ``.executescript``) outside appliance/store, bar the
  recorded exceptions below;
- no route (appliance/api, appliance/web) imports the store, bar the app factory's ``open_db``;
- no import cycle between the packages of appliance/ (docs/decisions.md: services sit below jobs);
  the web UI (appliance/web) is part of the API layer: the app factory registers its blueprint and
  its pages use the API's request context and scope marks, so the two count as one package here;
- nothing below the API layer imports the web UI.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPLIANCE = ROOT / "appliance"
ABOVE_STORE = ("api", "services", "jobs", "kinds", "evidence", "cli", "web")
SQL_CALLS = frozenset({"execute", "executemany", "executescript"})

# SQL outside appliance/store, each by a recorded decision (docs/decisions.md). The connectors'
# SQL goes to the plant's own databases (their protocol), never to the appliance's store.
SQL_ALLOWED: frozenset[str] = frozenset(
    {
        "appliance/services/connectors/postgresql.py",
        "appliance/services/connectors/sqlite_file.py",
        "appliance/services/connectors/mysql.py",
    }
)

# The API may open the database for the request (the app factory and the per-request context);
# everything else a route needs comes from a service.
STORE_ALLOWED_IN_API = {
    ("appliance/api/__init__.py", "appliance.store.open"),
}


@dataclass(frozen=True)
class Import:
    path: str  # relative to the repository root
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted (``from a import b`` gives ``a``)
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_submodule(package: str, name: str) -> bool:
    folder = ROOT.joinpath(*package.split("."))
    return (folder / name).is_dir() or (folder / f"{name}.py").is_file()


@functools.cache
def _imports() -> tuple[tuple[Path, ast.Module, list[Import]], ...]:
    return tuple(_walk())


def _walk() -> Iterator[tuple[Path, ast.Module, list[Import]]]:
    for path in sorted(APPLIANCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        rel = path.relative_to(ROOT).as_posix()
        found = []
        for node in ast.walk(tree):  # lazy imports inside functions count too
            if isinstance(node, ast.Import):
                found += [Import(rel, module, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                submodules = [a.name for a in node.names if _is_submodule(target, a.name)]
                if target == "appliance" and submodules:  # `from appliance import store`: the submodule
                    found += [Import(rel, module, f"appliance.{name}", node.lineno) for name in submodules]
                else:
                    found.append(Import(rel, module, target, node.lineno))
        yield path, tree, found


API_LAYER = ("appliance.api", "appliance.web")
"""Packages of the API layer: routes and pages, registered by one app factory (``create_app``)."""
BELOW_API = ("jobs", "kinds", "services", "evidence", "store")


def _package(module: str) -> str | None:
    """``appliance.<first part>`` for a module inside the appliance, else None."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "appliance" and len(parts) > 1 else None


def _layer_package(module: str) -> str | None:
    """As :func:`_package`, with the web UI folded into the API layer it belongs to."""
    package = _package(module)
    return API_LAYER[0] if package in API_LAYER else package


def test_the_walk_sees_the_tree() -> None:
    seen = {imp.target for _, _, found in _imports() for imp in found}
    assert "appliance.store.db" in seen and "appliance.services.credits" in seen


def test_store_imports_nothing_above_it() -> None:
    bad = [
        f"{imp.path}:{imp.line} imports {imp.target}"
        for path, _, found in _imports()
        if path.is_relative_to(APPLIANCE / "store")
        for imp in found
        if _package(imp.target) in {f"appliance.{name}" for name in ABOVE_STORE}
    ]
    assert not bad, "the store imports a layer above it:\n" + "\n".join(bad)


def test_no_sql_outside_the_store() -> None:
    bad = []
    for path, tree, _ in _imports():
        rel = path.relative_to(ROOT).as_posix()
        if path.is_relative_to(APPLIANCE / "store") or rel in SQL_ALLOWED:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
                bad.append(f"{rel}:{node.lineno} calls .{node.func.attr}(): move the query into appliance/store")
    assert not bad, "\n".join(bad)


def test_sql_exceptions_still_exist() -> None:
    for rel in SQL_ALLOWED:
        assert (ROOT / rel).is_file(), f"{rel} is gone: drop it from SQL_ALLOWED"


def test_routes_do_not_touch_the_store() -> None:
    bad = []
    for path, _, found in _imports():
        if not (path.is_relative_to(APPLIANCE / "api") or path.is_relative_to(APPLIANCE / "web")):
            continue
        for imp in found:
            if _package(imp.target) != "appliance.store" or (imp.path, imp.target) in STORE_ALLOWED_IN_API:
                continue
            bad.append(f"{imp.path}:{imp.line} imports {imp.target}: call a service instead")
    assert not bad, "routes reaching the store directly:\n" + "\n".join(bad)


def _package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the importing modules (with line), packages of appliance/ only."""
    graph: dict[str, dict[str, list[str]]] = {}
    for _, _, found in _imports():
        for imp in found:
            source, target = _layer_package(imp.module), _layer_package(imp.target)
            if source is None or target is None or source == target:
                continue
            graph.setdefault(source, {}).setdefault(target, []).append(f"{imp.path}:{imp.line}")
    return graph


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_between_packages() -> None:
    graph = _package_graph()
    problems = []
    for component in _cycles(graph):
        edges = [
            f"  {source} -> {target} ({', '.join(where[:3])})"
            for source in component
            for target, where in sorted(graph[source].items())
            if target in component
        ]
        problems.append(f"cycle between {', '.join(component)}:\n" + "\n".join(edges))
    assert not problems, "\n".join(problems)


def test_nothing_below_the_api_layer_imports_the_web_ui() -> None:
    bad = [
        f"{imp.path}:{imp.line} imports {imp.target}"
        for path, _, found in _imports()
        if any(path.is_relative_to(APPLIANCE / name) for name in BELOW_API)
        for imp in found
        if _package(imp.target) == "appliance.web"
    ]
    assert not bad, "the web UI is at the API layer; below it, call nothing of it:\n" + "\n".join(bad)


def test_the_web_ui_is_walked() -> None:
    seen = {imp.module for _, _, found in _imports() for imp in found}
    assert "appliance.web.jobs" in seen and "appliance.web.blueprint" in seen
