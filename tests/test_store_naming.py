"""Naming conventions of the store, checked by reading the source (``ast``, nothing is imported).

- a store module is imported under its own name plus ``_store`` (``from appliance.store import
  jobs as jobs_store``), so every call names the module it queries; ``pages``, the pager helper,
  keeps its own name;
- one row by id is ``get_<thing>`` and one page of rows is ``page_<things>``: no store function is
  called plain ``get`` / ``page`` or just the name of its row (``job``, ``model``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "appliance" / "store"
PLAIN_NAMES = {"pages"}
VAGUE = {"get", "page", "insert", "delete"}


def _sources() -> list[Path]:
    return [p for base in ("appliance", "tests", "bench") for p in sorted((ROOT / base).rglob("*.py"))
            if p.parent != STORE]


def test_store_modules_are_imported_as_module_store() -> None:
    wrong = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if "appliance.store" not in text:  # no `from appliance.store import …` can be in it: skip the parse
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "appliance.store" and not node.level:
                for alias in node.names:
                    expected = alias.name if alias.name in PLAIN_NAMES else f"{alias.name}_store"
                    if (alias.asname or alias.name) != expected:
                        wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {alias.name} as {alias.asname}")
    assert not wrong, f"import store modules as <module>_store: {wrong}"


def test_store_getters_and_pagers_say_what_they_return() -> None:
    vague = []
    for path in sorted(STORE.glob("*.py")):
        if path.name == "pages.py":  # the generic pager every page_<things> calls
            continue
        singular = path.stem.removesuffix("s")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name in VAGUE | {singular, f"{singular}_page"}:
                vague.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert not vague, f"name store functions get_<thing> / page_<things>: {vague}"
