"""The verifier package stands alone: stdlib, blake3 and cryptography only."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "offline_verify"
ALLOWED = set(sys.stdlib_module_names) | {"blake3", "cryptography", "sealforge_verify"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_allowed_imports() -> None:
    sources = sorted((PACKAGE_ROOT / "src").rglob("*.py"))
    assert len(sources) >= 10
    offenders = {str(p.relative_to(PACKAGE_ROOT)): sorted(_imported_roots(p) - ALLOWED) for p in sources}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_declared_dependencies() -> None:
    meta = tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text())
    names = sorted(d.split(">")[0].split("=")[0].split("<")[0].strip() for d in meta["project"]["dependencies"])
    assert names == ["blake3", "cryptography"]
    assert meta["project"]["scripts"]["sealforge-verify"] == "sealforge_verify.cli:main"


def test_modules_stay_small() -> None:
    for path in (PACKAGE_ROOT / "src").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path
