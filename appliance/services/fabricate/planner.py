"""``plan_from_description``: an offline, rule-based planner from plain English to a mock schema.

It reads row counts ("10k", "1.5 million"), entity nouns ("customers", "sensors"), listed
attributes ("with age, country and signup date"), percentages ("5% churn", "10% missing email"),
year ranges ("between 2020 and 2023") and parent/child phrases ("each with about 3 orders").
Whatever it does not understand becomes a documented fallback plus a warning, never an error, and
the same text always yields the same plan.
"""

from __future__ import annotations

from typing import Any

from appliance.services.mock import validate_schema
from appliance.services.mock.validate import MAX_ROWS

from . import keywords as kw
from .build import TablePlan, build_schema
from .parse import Token, singular, snake, tokenize

MAX_TEXT = 10_000
_ATTR_START = {"with", "having", "including", "containing", "incl", "fields", "columns", "attributes"}
_CHILD_HINTS = {"each", "per", "every"}
_APPROX = {"about", "around", "approximately", "roughly", "~", "avg", "average"}
_YEAR_WORDS = {"in", "from", "between", "since", "to", "and", "until", "during", "through"}
_COUNT_LEAD = {"up", "to", "at", "most", "least", "max", "min", "maximum", "minimum", "over", "under"}
_MISSING = {"missing", "null", "empty", "without", "no", "blank", "unknown"}
_FILLER = {"of", "them", "are", "is", "were", "have", "has", "with", "being", "the", "as", "marked"}


class _Planner:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.tables: list[TablePlan] = []
        self.warnings: list[str] = []
        self.years: tuple[int, int] | None = None
        self.notes: list[dict[str, Any]] = []

    def _entity_at(self, i: int) -> tuple[str | None, str | None, int]:
        """(known entity, unknown noun, index after the noun run) for the words after a count.

        In a run such as "temperature sensors" or "sensor readings" the head noun is the last
        one, so the last known entity wins; an unknown run yields its last word.
        """
        run: list[str] = []
        j = i
        while j < len(self.tokens) and len(run) < 4 and self.tokens[j].kind == "word":
            word = self.tokens[j].text
            if word in _ATTR_START or word in _CHILD_HINTS or word in ("and", "or", "for"):
                break
            run.append(word)
            j += 1
        for word in reversed(run):
            known = kw.ENTITIES.get(singular(word)) or kw.ENTITIES.get(word)
            if known:
                return known[0], None, j
        nouns = [w for w in run if w not in kw.STOPWORDS and w not in _APPROX]
        return (None, nouns[-1], j) if nouns else (None, None, j)

    def _is_year(self, i: int) -> bool:
        tok = self.tokens[i]
        if not (tok.kind == "num" and tok.value.is_integer() and 1900 <= tok.value <= 2100):
            return False
        before = self.tokens[i - 1].text if i > 0 else ""
        return before in _YEAR_WORDS

    def _year(self, i: int) -> int:
        start = int(self.tokens[i].value)
        end = start
        if i + 2 < len(self.tokens) and self.tokens[i + 1].text in ("and", "to", "until", "-") \
                and self.tokens[i + 2].kind == "num" and 1900 <= self.tokens[i + 2].value <= 2100:
            end = int(self.tokens[i + 2].value)
            i += 2
        elif i > 0 and self.tokens[i - 1].text == "since":
            end = max(start, int(kw.DEFAULT_DATE_RANGE[1][:4]))
        self.years = (min(start, end), max(start, end))
        return i + 1

    def _percent(self, i: int, value: float) -> int:
        """Handle ``<value>% ...`` starting after the % token; returns the next index."""
        words: list[str] = []
        j = i
        while j < len(self.tokens) and self.tokens[j].kind == "word" and self.tokens[j].text not in ("and",):
            words.append(self.tokens[j].text)
            j += 1
        table = self.tables[-1] if self.tables else self._implicit_table()
        while words and (words[0] in _FILLER or singular(words[0]) == singular(table.name)):
            words.pop(0)
        p = min(max(value / 100.0, 0.0), 1.0)
        if words and words[0] in _MISSING:
            phrase = " ".join(words[1:]) or "value"
            table.missing.append((phrase, p))
            self.notes.append({"text": f"{value:g}% {' '.join(words)}", "rule": "nullable", "column": snake(phrase)})
        elif words:
            flag = " ".join(words)
            table.flags.append((flag, p))
            self.notes.append({"text": f"{value:g}% {flag}", "rule": "boolean", "column": snake(flag)})
        else:
            self.warnings.append(f"ignored a percentage ({value:g}%) with nothing after it")
        return j

    def _known(self, i: int) -> tuple[str, tuple[str, ...]] | None:
        tok = self.tokens[i] if i < len(self.tokens) else None
        return kw.ENTITIES.get(singular(tok.text)) if tok is not None and tok.kind == "word" else None

    def _implicit_table(self) -> TablePlan:
        """A table for texts that name attributes before (or without) a count.

        The first run of entity nouns names it, by its head noun (the last), as after a count:
        "customer transaction records" is transactions of customers, not customers.
        """
        for i in range(len(self.tokens)):
            known = self._known(i)
            if known:
                head = i
                while self._known(head + 1):
                    head += 1
                known = self._known(head) or known
                table = TablePlan(singular(self.tokens[head].text), known[0])
                break
        else:
            table = TablePlan("record", "records")
            self.warnings.append("no known entity noun found; generating a generic 'records' table")
        self.tables.append(table)
        return table

    def _count(self, i: int) -> int:
        """Handle a count (``10k customers``, ``each with about 3 orders``); returns the next index."""
        tok = self.tokens[i]
        entity, unknown, j = self._entity_at(i + 1)
        if entity is None and unknown is None:
            self.warnings.append(f"ignored the number {tok.text!r}: no noun follows it")
            return i + 1
        name = entity or snake(unknown or "records")
        if entity is None:
            self.warnings.append(f"unknown entity {unknown!r}: table {name!r} gets id plus the listed attributes "
                                 "(created_at when none are listed)")
        is_child = self._is_child_count(i, j)
        implicit = next((t for t in self.tables if t.name == name and t.rows is None and t.per_parent is None), None)
        table = implicit or TablePlan(singular(unknown) if unknown else singular(name), name)
        if is_child:
            parent = self.tables[-1] if not self.tables[-1].per_parent else self.tables[0]
            table.parent = parent.name
            table.per_parent = self._per_parent(i)
        else:
            table.rows = self._rows(tok)
        if implicit is None:
            self.tables.append(table)
        return j

    def _is_child_count(self, i: int, j: int) -> bool:
        """Whether the count at ``i`` (its noun run ending before ``j``) is per parent: "each", "per", "every"
        among the words just before it (back to the last punctuation) or the two words after the noun."""
        back: set[str] = set()
        for t in reversed(self.tokens[max(0, i - 4):i]):
            if t.kind == "punct" and t.text != "~":
                break
            back.add(t.text)
        ahead = {t.text for t in self.tokens[j:j + 2] if t.kind == "word"}
        return bool(self.tables) and bool((back | ahead) & _CHILD_HINTS)

    def _per_parent(self, i: int) -> dict[str, Any]:
        """The children-per-parent law of the count at ``i``: a range or "up to N" is uniform, else Poisson."""
        tok = self.tokens[i]
        approx = i > 0 and self.tokens[i - 1].text in _APPROX
        upto = i > 1 and self.tokens[i - 2].text == "up" and self.tokens[i - 1].text == "to"
        if tok.kind == "range":
            return {"distribution": "uniform", "min": int(tok.value), "max": int(tok.high)}
        if upto:
            return {"distribution": "uniform", "min": 0, "max": int(tok.value)}
        if not approx:
            self.notes.append({"text": tok.text, "rule": "children per parent drawn from a Poisson law"})
        return {"distribution": "poisson", "lam": max(tok.value, 0.01)}

    def _rows(self, tok: Token) -> int:
        """The row count of a top-level table (the high end of a range), capped at ``MAX_ROWS``."""
        rows = round(tok.high if tok.kind == "range" else tok.value)
        if rows > MAX_ROWS:
            self.warnings.append(f"row count {rows} capped at {MAX_ROWS}")
            return MAX_ROWS
        return rows

    def run(self) -> None:
        """Read the tokens left to right. ``phrase`` holds the words of the attribute being read and
        ``in_attrs`` whether the text is inside an attribute list; each step returns both anew."""
        i, in_attrs = 0, False
        phrase: list[str] = []
        while i < len(self.tokens):
            tok = self.tokens[i]
            if tok.kind in ("num", "range"):
                i, in_attrs = self._number(i, in_attrs, phrase)
                phrase = []
            else:
                in_attrs, phrase = self._word(tok, in_attrs, phrase)
                i += 1
        self._flush(phrase)
        if not self.tables:
            self._implicit_table()

    def _number(self, i: int, in_attrs: bool, phrase: list[str]) -> tuple[int, bool]:
        """A percentage, a year or a count at ``i``, after flushing the pending phrase (less the lead-in
        words such as "between" or "up to"); returns the next index and the new ``in_attrs``."""
        tok = self.tokens[i]
        nxt = self.tokens[i + 1] if i + 1 < len(self.tokens) else Token("end", "")
        if nxt.kind == "pct":
            self._flush(phrase)
            return self._percent(i + 2, tok.value), in_attrs
        if tok.kind == "num" and self._is_year(i):
            self._flush(_strip_tail(phrase, _YEAR_WORDS))
            return self._year(i), in_attrs
        self._flush(_strip_tail(phrase, _COUNT_LEAD))
        return self._count(i), False

    def _word(self, tok: Token, in_attrs: bool, phrase: list[str]) -> tuple[bool, list[str]]:
        """A word or punctuation: it opens or closes an attribute list, ends a phrase, or extends it.
        Returns the new ``in_attrs`` and the pending phrase."""
        if (tok.kind == "word" and tok.text in _ATTR_START) or tok.text in (":", "("):
            self._flush(phrase)
            return True, []
        if tok.text in (",", ";", "and", ")", "&"):
            self._flush(phrase)
            return in_attrs, []
        if tok.text in (".", "!", "?"):
            self._flush(phrase)
            return False, []
        if in_attrs and tok.kind == "word" and tok.text not in _CHILD_HINTS and tok.text not in _APPROX:
            return in_attrs, [*phrase, tok.text]
        if tok.text in _CHILD_HINTS:
            self._flush(phrase)
            return in_attrs, []
        return in_attrs, phrase

    def _flush(self, phrase: list[str]) -> None:
        """Add a finished attribute phrase to the current table (an implicit one if none yet)."""
        if phrase:
            target = self.tables[-1] if self.tables else self._implicit_table()
            target.phrases.append(" ".join(phrase))


def _strip_tail(phrase: list[str], words: set[str]) -> list[str]:
    """``phrase`` without its trailing words that belong to what follows ("between" 2020, "up to" 5)."""
    end = len(phrase)
    while end and phrase[end - 1] in words:
        end -= 1
    return phrase[:end]


def plan_from_description(text: str, seed: int = 0) -> dict[str, Any]:
    """Plan a mock-data job from a plain-English description.

    Returns ``{"description", "seed", "schema", "tables", "interpretation", "warnings"}``; the
    schema passes ``validate_schema`` and can go straight to ``generate`` with the same seed.
    Raises ``ValueError`` only for input that is not text or is longer than 10,000 characters.
    """
    if not isinstance(text, str):
        raise ValueError("description must be a string")
    if len(text) > MAX_TEXT:
        raise ValueError(f"description must be at most {MAX_TEXT:,} characters")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError("seed must be a non-negative integer")
    planner = _Planner(text)
    planner.run()
    warnings = list(planner.warnings)
    schema, columns = build_schema(planner.tables, planner.years, warnings)
    validate_schema(schema)
    return {
        "description": text,
        "seed": seed,
        "schema": schema,
        "tables": [{"name": t["name"], "rows": t.get("rows"), "rows_per_parent": t.get("rows_per_parent")}
                   for t in schema["tables"]],
        "interpretation": {"columns": columns, "rules": planner.notes,
                           "years": list(planner.years) if planner.years else None},
        "warnings": warnings,
    }
