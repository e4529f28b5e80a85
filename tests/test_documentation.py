"""Documentation tests (after Datasette's): what the code defines, the docs must describe.

Every job kind in the registry is in the kinds table of docs/architecture.md, every error code in
the catalogue is in docs/errors.md (and nothing there is unknown), every key of
config/sealforge.toml has its comment, every module path the docs name exists, and the README
points at nothing outside the repository.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

from appliance.errors import CATALOGUE
from appliance.kinds import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
ERRORS = ROOT / "docs" / "errors.md"
CONFIG = ROOT / "config" / "sealforge.toml"
README = ROOT / "README.md"
REPO_FOLDERS = ("appliance", "simulators", "offline_verify", "sdk", "docs", "tests", "config", "bench")


def table_rows(path: Path, heading: str) -> list[list[str]]:
    """The body rows of the first table under ``## heading``, each cell stripped of backticks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"## {heading}")
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(set(cell) <= set("-: ") for cell in cells):
            continue
        rows.append([cell.strip("`") for cell in cells])
    return rows[1:]  # the header row


# --- kinds -----------------------------------------------------------------------------------


def test_every_kind_is_in_the_kinds_table() -> None:
    documented = {row[0]: row for row in table_rows(ARCHITECTURE, "The kinds")}
    missing = sorted(set(REGISTRY) - set(documented))
    unknown = sorted(set(documented) - set(REGISTRY))
    assert not missing, f"kinds missing from the kinds table of docs/architecture.md: {missing}"
    assert not unknown, f"docs/architecture.md lists kinds the registry does not have: {unknown}"
    for name, kind in REGISTRY.items():
        _, queue, what = documented[name]
        assert queue == kind.queue, (
            f"docs/architecture.md gives {name} the queue {queue!r}, the registry {kind.queue!r}"
        )
        assert what, f"{name} has no description in docs/architecture.md"


def test_every_kind_field_is_documented() -> None:
    from dataclasses import fields

    from appliance.kinds.base import Kind

    rows = table_rows(ARCHITECTURE, "`Kind`: the fields and when the engine uses each")
    documented = {name.strip() for row in rows for name in re.sub(r"\(.*?\)", "", row[0]).replace("`", "").split(",")}
    missing = sorted({f.name for f in fields(Kind)} - documented)
    assert not missing, f"Kind fields missing from docs/architecture.md: {missing}"


# --- error codes -----------------------------------------------------------------------------


def test_every_error_code_has_a_meaning_and_a_hint() -> None:
    for spec in CATALOGUE.values():
        assert spec.meaning.strip() and spec.hint.strip(), spec.code


def test_every_error_code_is_in_docs_errors() -> None:
    documented = {row[0]: row for row in table_rows(ERRORS, "API error codes")}
    missing = sorted(set(CATALOGUE) - set(documented))
    unknown = sorted(set(documented) - set(CATALOGUE))
    assert not missing, f"error codes missing from docs/errors.md: {missing}"
    assert not unknown, f"docs/errors.md lists codes that are not in appliance/errors.py: {unknown}"
    for code, spec in CATALOGUE.items():
        _, status, meaning = documented[code]
        assert int(status) == spec.status, (
            f"docs/errors.md gives {code} the status {status}, the catalogue {spec.status}"
        )
        assert meaning, f"{code} has no meaning in docs/errors.md"


JOB_CODE_PATTERNS = (
    re.compile(r'JobFailed\(\s*"([A-Z][A-Z0-9_]+)"'),
    re.compile(r'error_code="([A-Z][A-Z0-9_]+)"'),
)


def test_every_job_failure_code_is_in_docs_errors() -> None:
    raised: set[str] = set()
    for path in (ROOT / "appliance").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in JOB_CODE_PATTERNS:
            raised.update(pattern.findall(text))
    assert raised, "found no job failure codes: the patterns no longer match the code"
    documented = {row[0] for row in table_rows(ERRORS, "Job failure codes")}
    missing = sorted(raised - documented)
    assert not missing, f"job failure codes missing from docs/errors.md: {missing}"


# --- config ----------------------------------------------------------------------------------

_KEY = re.compile(r"^([A-Za-z0-9_-]+)\s*=")
_SECTION = re.compile(r"^\[([A-Za-z0-9_.-]+)\]\s*$")


def config_keys() -> list[tuple[str, str, list[str]]]:
    """Each (section, key, comment lines above it); keys right under one comment block share it."""
    found: list[tuple[str, str, list[str]]] = []
    section = ""
    comment: list[str] = []
    previous = ""  # "comment", "key", "section" or "blank"
    for raw in CONFIG.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            previous, comment = "blank", []
        elif line.startswith("#"):
            comment = [*comment, line] if previous == "comment" else [line]
            previous = "comment"
        elif match := _SECTION.match(line):
            section, previous, comment = match.group(1), "section", []
        elif match := _KEY.match(line):
            found.append((section, match.group(1), comment if previous in ("comment", "key") else []))
            previous = "key"
        else:
            previous = "value"  # the rest of a multi-line value
    return found


def test_the_config_parser_here_sees_every_key() -> None:
    parsed = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    expected = {(section, key) for section, values in parsed.items() for key in values}
    assert {(section, key) for section, key, _ in config_keys()} == expected


@pytest.mark.parametrize("section,key,comment", config_keys(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_config_key_has_a_comment_above_it(section: str, key: str, comment: list[str]) -> None:
    text = " ".join(line.lstrip("#").strip() for line in comment)
    assert len(text) >= 10, f"[{section}] {key} in config/sealforge.toml has no comment directly above it"


def test_every_config_section_is_introduced_by_a_comment() -> None:
    lines = [line.strip() for line in CONFIG.read_text(encoding="utf-8").splitlines()]
    for index, line in enumerate(lines):
        if _SECTION.match(line):
            following = lines[index + 1] if index + 1 < len(lines) else ""
            assert following.startswith("#"), f"config/sealforge.toml: {line} is not followed by a comment"


# --- paths the docs name ---------------------------------------------------------------------

_CODE_SPAN = re.compile(r"`([^`\s]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def named_paths(path: Path) -> set[str]:
    """Repository paths in code spans (``appliance/jobs/runner.py``), without placeholders."""
    out = set()
    for span in _CODE_SPAN.findall(path.read_text(encoding="utf-8")):
        if span.split("/")[0] in REPO_FOLDERS and "/" in span and not re.search(r"[<>…*{}]", span):
            out.add(span.rstrip("/"))
    return out


def named_modules(path: Path) -> set[str]:
    """Dotted names in code spans that start with ``appliance.`` (modules or their attributes)."""
    return {s for s in _CODE_SPAN.findall(path.read_text(encoding="utf-8")) if re.fullmatch(r"appliance(\.\w+)+", s)}


def resolves(dotted: str) -> bool:
    try:
        importlib.import_module(dotted)
        return True
    except ModuleNotFoundError:
        module, _, attribute = dotted.rpartition(".")
        try:
            return hasattr(importlib.import_module(module), attribute)
        except ModuleNotFoundError:
            return False


@pytest.mark.parametrize("doc", ["docs/architecture.md", "docs/errors.md", "README.md"])
def test_every_path_a_doc_names_exists(doc: str) -> None:
    missing = sorted(p for p in named_paths(ROOT / doc) if not (ROOT / p).exists())
    assert not missing, f"{doc} names paths that do not exist (renamed? update the doc): {missing}"
    unresolved = sorted(m for m in named_modules(ROOT / doc) if not resolves(m))
    assert not unresolved, f"{doc} names modules that do not exist: {unresolved}"


def test_the_architecture_map_names_every_package_of_appliance() -> None:
    api = ROOT / "appliance" / "api"
    packages = {
        str(init.parent.relative_to(ROOT))
        for init in (ROOT / "appliance").rglob("__init__.py")
        if init.parent.parent != api  # the resources under appliance/api share one row
    }
    mapped = {row[0].replace("`", "").split()[0].rstrip("/") for row in table_rows(ARCHITECTURE, "The rooms")}
    missing = sorted(packages - mapped)
    assert not missing, f"packages missing from the map in docs/architecture.md: {missing}"


# --- README ----------------------------------------------------------------------------------


def test_readme_points_at_nothing_outside_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    assert "../" not in text, "README.md points outside the repository"
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+://", target) or target.startswith("#"):
            continue
        assert (ROOT / target.split("#")[0]).exists(), f"README.md links {target}, which does not exist"


def test_readme_layout_links_the_architecture_map() -> None:
    layout = README.read_text(encoding="utf-8").split("## Layout", 1)[1]
    assert "docs/architecture.md" in layout
